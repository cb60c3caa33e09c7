// ikebridged: the IKEv2 side of nemokey (RFC 4877), an embedded strongSwan
// charon keyed by the mobility configuration. Without --config it only
// runs charon (vici, swanctl work); with it, it derives the connections
// from the configuration (ikebridge/core/connections.hpp), loads them over
// vici and serves the local channel to mobilityd (ikebridge/daemon/bridge.hpp).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "conf/parser.hpp"
#include "ikebridge/adapters/kernel/migrate_watch.hpp"
#include "ikebridge/adapters/kernel/stale_sas.hpp"
#include "ikebridge/core/authorization.hpp"
#include "ikebridge/daemon/bridge.hpp"
#include "ikebridge/daemon/log.hpp"
#include "ikebridge/shim/charon_shim.h"
#include "mobility/adapters/control/control_server.hpp"

namespace {

using namespace nemokey;

// The plugins ikebridged needs: kernel interface, sockets, crypto, X.509
// credentials with RFC 3779 address blocks (addrblock), and vici for swanctl.
constexpr const char* default_plugins =
    "kernel-netlink socket-default nonce random openssl pem pkcs1 pkcs8 x509 pubkey "
    "revocation constraints addrblock sha1 sha2 hmac kdf gcm aes drbg vici updown";

struct Context {
    boost::asio::io_context* io = nullptr;
    const ikebridge::KeyingPlan* plan = nullptr;
    ikebridge::Bridge* bridge = nullptr;
};
Context context;

extern "C" void on_charon_log(void*, const char* subsystem, int level, const char* line) {
    ikebridge::log_charon(subsystem, level, line);
}

// On charon's threads: copy, then hand over to the loop.
extern "C" void on_charon_event(void*, const nk_charon_event* e) {
    if (!context.io || !context.bridge) return;
    ikebridge::BusEvent b;
    b.kind = e->kind;
    b.ike_name = e->ike_name ? e->ike_name : "";
    b.ike_unique_id = e->ike_unique_id;
    b.ike_old_unique_id = e->ike_old_unique_id;
    b.child_name = e->child_name ? e->child_name : "";
    b.child_reqid = e->child_reqid;
    b.child_unique_id = e->child_unique_id;
    b.peer_id = e->peer_id ? e->peer_id : "";
    b.local_host = e->local_host ? e->local_host : "";
    b.remote_host = e->remote_host ? e->remote_host : "";
    b.exchange_type = e->exchange_type;
    b.incoming = e->incoming != 0;
    b.request = e->request != 0;
    boost::asio::post(*context.io, [b = std::move(b)] {
        if (context.bridge) context.bridge->on_bus_event(b);
    });
}

std::optional<net::IpAddress> to_address(int family, const unsigned char* bytes) {
    if (family == AF_INET6) {
        net::Ipv6Address a;
        std::memcpy(a.bytes.data(), bytes, 16);
        return net::IpAddress{a};
    }
    net::Ipv4Address a;
    std::memcpy(a.bytes.data(), bytes, 4);
    return net::IpAddress{a};
}

// On charon's threads; reads only the immutable plan.
extern "C" int on_charon_authorize(void*, const nk_charon_authorization* r, char* why, size_t why_len) {
    const ikebridge::Connection* connection = nullptr;
    if (context.plan)
        for (const auto& c : context.plan->connections)
            if (c.name == r->ike_name) connection = &c;
    ikebridge::AuthorizationDecision d;
    if (!connection) {
        d = {false, std::string("no connection '") + r->ike_name + "'"};
    } else {
        std::vector<ikebridge::SelectorRange> remote;
        for (size_t i = 0; i < r->remote_ts_count; ++i)
            remote.push_back({*to_address(r->remote_ts[i].family, r->remote_ts[i].from),
                              *to_address(r->remote_ts[i].family, r->remote_ts[i].to)});
        std::string_view der(reinterpret_cast<const char*>(r->peer_certificate_der), r->peer_certificate_len);
        if (!r->peer_certificate_der) der = {};
        d = ikebridge::authorize_child(*connection, r->peer_id ? r->peer_id : "", der, remote);
    }
    if (d.allowed) return 1;
    std::snprintf(why, why_len, "%s", d.why.c_str());
    std::string name = r->ike_name ? r->ike_name : "";
    boost::asio::post(*context.io, [name, text = d.why] {
        if (context.bridge) context.bridge->on_authorization_refused(name, text);
    });
    return 0;
}

int usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: ikebridged [--config FILE] [--socket PATH] [--crl FILE]... [--print-config]\n"
                 "                  [--vici-socket PATH] [--ike-port N] [--ike-port-nat-t N]\n"
                 "                  [--log-level -1..4] [--plugins 'LIST']\n"
                 "  --config       the mobility configuration (mobilityd's); without it only charon runs\n"
                 "  --socket       channel to mobilityd and mobctl (default /run/nemokey/ikebridged.sock)\n"
                 "  --crl          a CRL (PEM) of the CA to load; may be repeated\n"
                 "  --print-config print the connections derived from --config as swanctl.conf, exit\n"
                 "  --vici-socket  vici control socket (default /run/nemokey/ikebridged.vici)\n"
                 "  --ike-port     IKE UDP port, 0 picks a free one (default 500)\n"
                 "  --log-level    charon log level for every subsystem (default 1)\n");
    return code;
}

bool parse_int(std::string_view text, int lo, int hi, int& out) {
    char* end = nullptr;
    std::string s(text);
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno || end == s.c_str() || *end || v < lo || v > hi) return false;
    out = static_cast<int>(v);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string vici_socket = "/run/nemokey/ikebridged.vici";
    std::string plugins = default_plugins;
    std::filesystem::path config_file, socket_path = "/run/nemokey/ikebridged.sock";
    std::vector<std::string> crls;
    bool print_config = false;
    int ike_port = -1, ike_port_nat_t = -1, log_level = 1;

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") return usage(0);
        if (arg == "--print-config") {
            print_config = true;
            continue;
        }
        const char* v = i + 1 < argc ? argv[++i] : nullptr;
        if (!v) {
            std::fprintf(stderr, "ikebridged: '%s' needs a value\n", argv[i]);
            return usage(2);
        }
        if (arg == "--vici-socket") {
            vici_socket = v;
        } else if (arg == "--config") {
            config_file = v;
        } else if (arg == "--socket") {
            socket_path = v;
        } else if (arg == "--crl") {
            crls.emplace_back(v);
        } else if (arg == "--plugins") {
            plugins = v;
        } else if (arg == "--ike-port") {
            if (!parse_int(v, 0, 65535, ike_port)) {
                std::fprintf(stderr, "ikebridged: --ike-port '%s' is not a port (0..65535)\n", v);
                return 2;
            }
        } else if (arg == "--ike-port-nat-t") {
            if (!parse_int(v, 0, 65535, ike_port_nat_t)) {
                std::fprintf(stderr, "ikebridged: --ike-port-nat-t '%s' is not a port (0..65535)\n", v);
                return 2;
            }
        } else if (arg == "--log-level") {
            if (!parse_int(v, -1, 4, log_level)) {
                std::fprintf(stderr, "ikebridged: --log-level '%s' is out of range (-1..4)\n", v);
                return 2;
            }
        } else {
            std::fprintf(stderr, "ikebridged: unknown option '%s'\n", argv[i - 1]);
            return usage(2);
        }
    }

    ikebridge::KeyingPlan plan;
    if (!config_file.empty()) {
        auto parsed = conf::parse_file(config_file);
        if (!parsed.ok()) {
            for (const auto& e : parsed.error()) std::fprintf(stderr, "%s\n", e.to_string().c_str());
            return 1;
        }
        auto derived = ikebridge::derive_keying_plan(*parsed, conf::derive_plan(*parsed));
        if (auto* e = std::get_if<ikebridge::KeyingPlanError>(&derived)) {
            std::fprintf(stderr, "ikebridged: %s: %s\n", config_file.c_str(), e->text.c_str());
            return 1;
        }
        plan = std::get<ikebridge::KeyingPlan>(std::move(derived));
    } else if (print_config) {
        std::fprintf(stderr, "ikebridged: --print-config needs --config\n");
        return 2;
    }
    if (print_config) {
        std::fputs(ikebridge::to_swanctl_conf(plan).c_str(), stdout);
        return 0;
    }

    // Charon's threads never take a signal: they are blocked before it
    // starts them (every thread inherits the mask) and unblocked in this
    // thread only, where asio's signal_set handles them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(vici_socket).parent_path(), ec);
    boost::asio::io_context io;
    context.io = &io;
    context.plan = &plan;

    std::string vici_uri = "unix://" + vici_socket;
    nk_charon_config config{};
    config.settings_namespace = "ikebridged";
    config.plugins = plugins.c_str();
    config.vici_uri = vici_uri.c_str();
    config.ike_port = ike_port;
    config.ike_port_nat_t = ike_port_nat_t;
    config.log_level = log_level;
    config.log = on_charon_log;
    config.event = on_charon_event;
    config.authorize = plan.role == conf::Role::home_agent ? on_charon_authorize : nullptr;

    char err[256] = "";
    if (nk_charon_start(&config, err, sizeof err) != 0) {
        ikebridge::log_error("IKE_START_FAILED", err);
        return 1;
    }
    char loaded[1024] = "";
    int count = nk_charon_loaded_plugins(loaded, sizeof loaded);
    ikebridge::log_info("IKE_STARTED", std::to_string(count) + " plugins [" + loaded + "], vici " + vici_uri);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);

    // The plan's reqids belong to ikebridged's CHILD_SAs alone: SAs with one
    // of them and no mark that charon does not hold are left-overs, swept
    // before charon installs its own and after it stopped.
    std::set<uint32_t> plan_reqids;
    for (const auto& c : plan.connections)
        for (const auto& child : c.children) plan_reqids.insert(child.reqid);
    auto log_sweep = [](const char* whose) {
        return [whose](const ikebridge::adapters::SweepResult& r) {
            if (!r.ok) ikebridge::log_error("IKE_STALE_SAS", r.error);
            if (r.deleted) ikebridge::log_info("IKE_STALE_SAS", std::to_string(r.deleted) + " SA(s) " + whose + " removed");
        };
    };

    int rc = 0;
    {
        std::unique_ptr<mobility::adapters::ControlServer> server;
        mobility::control::CommandRegistry commands;
        auto vici = std::make_unique<ikebridge::adapters::ViciClient>(io, vici_uri);
        ikebridge::Bridge bridge(io, plan, *vici, crls, [&](const nlohmann::json& event) {
            if (server) server->publish(event);
        });
        context.bridge = &bridge;
        // K flag: the IKE SA follows the MIGRATEs with KMADDRESS (charon
        // moves it silently; the shim confirms and reports the move).
        std::string watch_error;
        ikebridge::adapters::MigrateWatch migrate_watch(
            io,
            [](const ikebridge::adapters::KmAddressMigrate& m) {
                nk_charon_watch_endpoints(m.reqid, m.family, m.local.data(), m.remote.data());
            },
            watch_error);
        if (!migrate_watch.open())
            ikebridge::log_error("IKE_MIGRATE_WATCH", watch_error + "; IKE endpoint moves go unreported");
        boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
        std::function<void()> wait_signal = [&] {
            signals.async_wait([&](const boost::system::error_code& e, int sig) {
                if (e) return;
                if (sig == SIGHUP) {
                    ikebridge::log_info("IKE_SIGHUP", "nothing to reload: restart to change connections");
                    wait_signal();
                    return;
                }
                ikebridge::log_info("IKE_STOPPING", std::string("signal ") + strsignal(sig));
                io.stop();
            });
        };
        wait_signal();

        if (!config_file.empty()) {
            bridge.register_commands(commands);
            std::filesystem::create_directories(socket_path.parent_path(), ec);
            server = std::make_unique<mobility::adapters::ControlServer>(io, socket_path, commands);
            auto load = [&] { bridge.load([&](bool ok, std::string error) {
                if (!ok) {
                    ikebridge::log_error("IKE_LOAD_FAILED", error);
                    rc = 1;
                    io.stop();
                    return;
                }
                try {
                    server->open();
                } catch (const std::exception& e) {
                    ikebridge::log_error("IKE_SOCKET_FAILED", e.what());
                    rc = 1;
                    io.stop();
                    return;
                }
                ikebridge::log_info("IKE_READY", std::to_string(plan.connections.size()) +
                                                     " connection(s) loaded; channel " + socket_path.string());
            }); };
            // SAs a killed ikebridged left behind go before the new ones come.
            ikebridge::adapters::sweep_stale_sas(
                io, plan_reqids, [load, logged = log_sweep("of a previous ikebridged")](ikebridge::adapters::SweepResult r) {
                    logged(r);
                    load();
                });
        }
        io.run();
        if (server) server->close();
        context.bridge = nullptr;
        vici.reset();  // before charon goes: libvici runs on its library
    }
    nk_charon_stop();
    context.io = nullptr;
    // A safety net: charon deletes its SAs at a clean stop; any it did not
    // (none seen so far) go too.
    {
        boost::asio::io_context sweep_io;
        ikebridge::adapters::sweep_stale_sas(sweep_io, plan_reqids, log_sweep("charon left at its stop"));
        sweep_io.run();
    }
    // charon leaves its unix socket behind; a clean stop leaves nothing.
    std::filesystem::remove(vici_socket, ec);
    ikebridge::log_info("IKE_STOPPED", "charon stopped");
    return rc;
}
