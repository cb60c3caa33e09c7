// ikebridged's vici client: requests to the embedded charon's vici socket
// (load-cert, load-key, load-conn, initiate, terminate) through
// strongSwan's libvici. libvici blocks until charon answers (initiate
// until the IKE SA is up), so every request runs on one worker thread and
// its answer comes back on the daemon's io_context: the event loop never
// waits. libvici runs on the libstrongswan the embedded charon initialised
// (no vici_init / vici_deinit: the latter would cancel charon's threads).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ikebridge/core/connections.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::ikebridge::adapters {

struct ViciReply {
    bool ok = false;
    std::string error;   // charon's errmsg, or why the request could not be sent
};

class ViciClient {
public:
    ViciClient(boost::asio::io_context& io, std::string uri);
    ~ViciClient();  // finishes the request in progress, drops the queued ones
    ViciClient(const ViciClient&) = delete;
    ViciClient& operator=(const ViciClient&) = delete;

    // Sends `command` with `items` as its top-level message; `done` runs on
    // the io_context's thread. Requests run one at a time, in order.
    void call(std::string command, std::vector<ViciItem> items, std::function<void(ViciReply)> done);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Message builders for the requests ikebridged sends.
std::vector<ViciItem> load_cert_request(std::string_view flag, std::string pem);   // flag "ca" or "none"
std::vector<ViciItem> load_crl_request(std::string pem);
std::vector<ViciItem> load_key_request(std::string pem);
std::vector<ViciItem> load_conn_request(ViciSection connection);
std::vector<ViciItem> initiate_request(const std::string& ike, const std::string& child);
std::vector<ViciItem> terminate_request(const std::string& ike);

}  // namespace nemokey::ikebridge::adapters
