#include "ikebridge/adapters/vici/vici_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <thread>

#include <libvici.h>

namespace nemokey::ikebridge::adapters {
namespace {

void add_items(vici_req_t* req, const std::vector<ViciItem>& items) {
    for (const auto& i : items) {
        switch (i.kind) {
            case ViciItem::Kind::value:
                vici_add_key_value(req, const_cast<char*>(i.key.c_str()), const_cast<char*>(i.value.data()),
                                   static_cast<int>(i.value.size()));
                break;
            case ViciItem::Kind::list:
                vici_begin_list(req, const_cast<char*>(i.key.c_str()));
                for (const auto& v : i.list)
                    vici_add_list_item(req, const_cast<char*>(v.data()), static_cast<int>(v.size()));
                vici_end_list(req);
                break;
            case ViciItem::Kind::section:
                vici_begin_section(req, const_cast<char*>(i.section.front().name.c_str()));
                add_items(req, i.section.front().items);
                vici_end_section(req);
                break;
        }
    }
}

}  // namespace

struct ViciClient::Impl {
    boost::asio::io_context& io;
    std::string uri;
    boost::asio::io_context worker_io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{worker_io.get_executor()};
    std::thread worker;
    vici_conn_t* conn = nullptr;  // worker thread only

    Impl(boost::asio::io_context& main_io, std::string u) : io(main_io), uri(std::move(u)) {}

    ViciReply run(const std::string& command, const std::vector<ViciItem>& items) {
        if (!conn) {
            conn = vici_connect(const_cast<char*>(uri.c_str()));
            if (!conn) return {false, "cannot connect to vici at " + uri};
        }
        vici_req_t* req = vici_begin(const_cast<char*>(command.c_str()));
        add_items(req, items);
        vici_res_t* res = vici_submit(req, conn);  // frees req
        if (!res) {
            // The connection is gone (charon restarted its socket): the next
            // request reconnects.
            vici_disconnect(conn);
            conn = nullptr;
            return {false, command + ": no answer from vici"};
        }
        ViciReply reply;
        reply.ok = std::string(vici_find_str(res, const_cast<char*>("no"), const_cast<char*>("success"))) == "yes";
        if (!reply.ok) reply.error = vici_find_str(res, const_cast<char*>("unknown error"), const_cast<char*>("errmsg"));
        vici_free_res(res);
        return reply;
    }
};

ViciClient::ViciClient(boost::asio::io_context& io, std::string uri)
    : impl_(std::make_shared<Impl>(io, std::move(uri))) {
    impl_->worker = std::thread([impl = impl_.get()] { impl->worker_io.run(); });
}

ViciClient::~ViciClient() {
    impl_->guard.reset();
    impl_->worker_io.stop();
    if (impl_->worker.joinable()) impl_->worker.join();
    if (impl_->conn) vici_disconnect(impl_->conn);
}

void ViciClient::call(std::string command, std::vector<ViciItem> items, std::function<void(ViciReply)> done) {
    std::weak_ptr<Impl> weak = impl_;
    boost::asio::post(impl_->worker_io, [weak, command = std::move(command), items = std::move(items),
                                         done = std::move(done)]() mutable {
        auto impl = weak.lock();
        if (!impl) return;
        ViciReply reply = impl->run(command, items);
        boost::asio::post(impl->io, [reply = std::move(reply), done = std::move(done)] { done(reply); });
    });
}

std::vector<ViciItem> load_cert_request(std::string_view flag, std::string pem) {
    return {vici_value("type", "x509"), vici_value("flag", std::string(flag)), vici_value("data", std::move(pem))};
}
std::vector<ViciItem> load_crl_request(std::string pem) {
    return {vici_value("type", "x509crl"), vici_value("data", std::move(pem))};
}
std::vector<ViciItem> load_key_request(std::string pem) {
    return {vici_value("type", "any"), vici_value("data", std::move(pem))};
}
std::vector<ViciItem> load_conn_request(ViciSection connection) {
    ViciItem i;
    i.kind = ViciItem::Kind::section;
    i.key = connection.name;
    i.section.push_back(std::move(connection));
    return {std::move(i)};
}
std::vector<ViciItem> initiate_request(const std::string& ike, const std::string& child) {
    // timeout -1: answer at once; the outcome arrives as bus events.
    return {vici_value("ike", ike), vici_value("child", child), vici_value("timeout", "-1"), vici_value("init-limits", "no")};
}
std::vector<ViciItem> terminate_request(const std::string& ike) {
    // Waits (on the worker) until the IKE SA is gone, so a following
    // initiate never picks the one being deleted.
    return {vici_value("ike", ike), vici_value("timeout", "3000"), vici_value("force", "yes")};
}

}  // namespace nemokey::ikebridge::adapters
