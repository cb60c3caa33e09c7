// Kernel-VM test of the MIGRATE bridge (driven by scenarios/pfkey-migrate.sh,
// run as root on the guest's Debian kernel, which has ESP, PF_KEY and XFRM
// MIGRATE). Usage: pfkey_vm_migrate NETNS_PATH [REPORT_FILE]
//
// In the namespace NETNS_PATH: a tunnel-mode ESP policy and state between
// an old care-of address and the home agent; then
//  1. SADB_X_MIGRATE + KMADDRESS over PF_KEY to a new care-of address: the
//     policy template and the SA moved (read over netlink), and a netlink
//     XFRMNLGRP_MIGRATE listener got the same MIGRATE with the same KMADDRESS;
//  2. XFRM_MSG_MIGRATE + KMADDRESS over netlink to a third care-of address: a
//     PF_KEY socket got the same MIGRATE, and the kernel moved policy and SA;
//  3. a MIGRATE for a policy that does not exist, over both interfaces: a
//     clear ENOENT, and the policy and SA tables unchanged;
//  4. which namespaces' listeners (this namespace, init_net) heard the
//     MIGRATEs issued inside the namespace, asserted against the kernel
//     version (the 6.1.176 stable update routes them to the caller's netns);
//  5. ACQUIRE (policy without SA, one packet) and soft/hard EXPIRE events,
//     decoded on both interfaces.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "pfkey/transport/pfkey_socket.hpp"
#include "pfkey/transport/xfrm_socket.hpp"
#include "pfkey/translate/migrate_translate.hpp"
#include "pfkey/xfrm/xfrm_build.hpp"

using namespace nemokey;
using namespace nemokey::pfkey;
using namespace nemokey::pfkey::xfrm;
using namespace std::chrono_literals;

namespace {

int passed = 0, failed = 0;
std::ostringstream report;

void check(const std::string& what, bool ok, const std::string& detail = "") {
    (ok ? passed : failed)++;
    std::printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what.c_str(), detail.empty() ? "" : ": ",
                detail.c_str());
    std::fflush(stdout);
}

net::IpAddress ip(const char* s) { return *net::parse_ip_address(s); }

const char* const kHoa = "2001:db8:1::100";
const char* const kHa = "2001:db8:1::1";
const char* const kCoaOld = "2001:db8:a1::100";
const char* const kCoaNew = "2001:db8:a2::100";
const char* const kCoaThird = "2001:db8:a3::100";
constexpr uint32_t kReqid = 1;
constexpr uint32_t kSpi = 0x1000;

xfrm_selector sel() { return make_selector({ip(kHoa), 128}, {ip("::"), 0}); }

XfrmMessage policy_msg() {
    PolicyInfo p;
    p.info.sel = sel();
    p.info.lft = infinite_lifetime();
    p.info.dir = XFRM_POLICY_OUT;
    p.info.action = XFRM_POLICY_ALLOW;
    p.tmpls.push_back(make_tmpl(IPPROTO_ESP, XFRM_MODE_TUNNEL, kReqid, ip(kCoaOld), ip(kHa)));
    return {XFRM_MSG_NEWPOLICY, NLM_F_CREATE | NLM_F_EXCL, 0, 0, p, {}};
}

XfrmMessage state_msg() {
    StateInfo s;
    s.info.sel = sel();
    s.info.id.daddr = to_xfrm_address(ip(kHa));
    s.info.id.spi = htonl(kSpi);
    s.info.id.proto = IPPROTO_ESP;
    s.info.saddr = to_xfrm_address(ip(kCoaOld));
    s.info.family = AF_INET6;
    s.info.mode = XFRM_MODE_TUNNEL;
    s.info.reqid = kReqid;
    s.info.replay_window = 32;
    s.info.lft = infinite_lifetime();
    s.auth_trunc = Algorithm{"hmac(sha256)", 256, 128, Bytes(32, 0x11)};
    s.crypt = Algorithm{"cbc(aes)", 128, 0, Bytes(16, 0x22)};
    return {XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL, 0, 0, s, {}};
}

XfrmMessage get_policy() {
    PolicyId id;
    id.id.sel = sel();
    id.id.dir = XFRM_POLICY_OUT;
    return {XFRM_MSG_GETPOLICY, 0, 0, 0, id, {}};
}

PfkeyMigrate pfkey_migrate(const char* hoa, const char* from, const char* to) {
    PfkeyMigrate m;
    m.satype = SADB_SATYPE_ESP;
    m.src = {ip(hoa), 128};
    m.dst = {ip("::"), 0};
    m.ulproto = IPSEC_ULPROTO_ANY;
    m.dir = IPSEC_DIR_OUTBOUND;
    m.kmaddress = KmAddress{ip(to), ip(kHa), 0};
    m.requests.push_back(MigrateRequest{IPPROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_UNIQUE, kReqid,
                                        ip(from), ip(kHa), ip(to), ip(kHa)});
    return m;
}

// Where the policy's template and the SA stand now, read over netlink.
std::string policy_template_src(XfrmSocket& nl) {
    auto r = nl.request(get_policy());
    if (!r || r->empty()) return r ? "none" : r.error().to_string();
    const auto* p = std::get_if<PolicyInfo>(&(*r)[0].body);
    if (!p || p->tmpls.empty()) return "no template";
    return net::to_string(*to_ip(AF_INET6, p->tmpls[0].saddr)) + "->" +
           net::to_string(*to_ip(AF_INET6, p->tmpls[0].id.daddr));
}
// The ESP SAs' source addresses, from a dump (a GETSA of an ESP SA looks
// up daddr/spi/proto only, so it cannot tell the old SA from the moved one).
std::vector<std::string> sa_sources(XfrmSocket& nl) {
    std::vector<std::string> out;
    auto d = nl.dump(XFRM_MSG_GETSA);
    if (!d) return {d.error().to_string()};
    for (const auto& m : *d)
        if (const auto* s = std::get_if<StateInfo>(&m.body))
            out.push_back(net::to_string(*to_ip(s->info.family, s->info.saddr)));
    return out;
}
bool only_sa_from(XfrmSocket& nl, const char* src) {
    auto s = sa_sources(nl);
    return s.size() == 1 && s[0] == src;
}
std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s.empty() ? "none" : s;
}
// Dumps compared by content (each dump answer carries its own seq).
std::vector<Body> bodies(const TransportResult<std::vector<XfrmMessage>>& r) {
    std::vector<Body> out;
    if (r)
        for (const auto& m : *r) out.push_back(m.body);
    return out;
}

// Drains `s` for `wait`, returning the MIGRATEs it heard.
std::vector<XfrmMessage> heard_xfrm(XfrmSocket& s, std::chrono::milliseconds wait) {
    std::vector<XfrmMessage> out;
    const auto end = std::chrono::steady_clock::now() + wait;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        auto m = s.receive(left);
        if (!m) {
            if (m.error().kind == TransportError::Kind::timeout) break;
            continue;
        }
        if (m->type == XFRM_MSG_MIGRATE) out.push_back(std::move(m).value());
    }
    return out;
}
std::vector<PfkeyMessage> heard_pfkey(PfkeySocket& s, std::chrono::milliseconds wait) {
    std::vector<PfkeyMessage> out;
    const auto end = std::chrono::steady_clock::now() + wait;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        auto m = s.receive(left);
        if (!m) {
            if (m.error().kind == TransportError::Kind::timeout) break;
            continue;  // an undecodable message is not a MIGRATE: keep listening
        }
        if (m->header.type == SADB_X_MIGRATE) out.push_back(std::move(m).value());
    }
    return out;
}

// "Debian 6.1.192-2" from uname -v; 0 if not found.
long debian_patch_level(int& major, int& minor) {
    utsname u{};
    ::uname(&u);
    const char* p = std::strstr(u.version, "Debian ");
    int patch = 0;
    major = minor = 0;
    if (p && std::sscanf(p, "Debian %d.%d.%d", &major, &minor, &patch) == 3) return patch;
    std::sscanf(u.release, "%d.%d.%d", &major, &minor, &patch);
    return patch;
}

struct Listeners {
    std::unique_ptr<XfrmSocket> nl;
    std::unique_ptr<PfkeySocket> pf;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: pfkey_vm_migrate NETNS_PATH [REPORT_FILE]\n");
        return 2;
    }
    boost::asio::io_context io;

    // Listeners in init_net first: sockets keep the namespace they were made in.
    Listeners init;
    {
        auto nl = XfrmSocket::open(io, {XFRMNLGRP_MIGRATE});
        auto pf = PfkeySocket::open(io);
        check("init_net: netlink MIGRATE listener opens", bool(nl), nl ? "" : nl.error().to_string());
        check("init_net: PF_KEY listener opens", bool(pf), pf ? "" : pf.error().to_string());
        if (!nl || !pf) return 1;
        init.nl = std::move(nl).value();
        init.pf = std::move(pf).value();
    }
    const int nsfd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) {
        std::perror("setns");
        return 1;
    }
    Listeners ns;
    auto ctl_r = XfrmSocket::open(io);
    auto pfk_r = PfkeySocket::open(io);
    {
        auto nl = XfrmSocket::open(io, {XFRMNLGRP_MIGRATE});
        auto pf = PfkeySocket::open(io);
        check("netns: sockets open (netlink control, netlink listener, PF_KEY x2)",
              ctl_r && pfk_r && nl && pf);
        if (!ctl_r || !pfk_r || !nl || !pf) return 1;
        ns.nl = std::move(nl).value();
        ns.pf = std::move(pf).value();
    }
    auto& ctl = **ctl_r;
    auto& pfk = **pfk_r;

    // Tunnel-mode ESP between the old care-of address and the home agent.
    auto pol = ctl.request(policy_msg());
    check("install tunnel-mode ESP policy (netlink)", bool(pol), pol ? "" : pol.error().to_string());
    auto sa = ctl.request(state_msg());
    check("install ESP state cbc(aes)+hmac(sha256) (netlink)", bool(sa), sa ? "" : sa.error().to_string());
    check("policy template is old CoA -> HA", policy_template_src(ctl) == std::string(kCoaOld) + "->" + kHa,
          policy_template_src(ctl));

    // PF_KEY register and dumps see what netlink installed.
    {
        auto reg = pfk.register_satype(SADB_SATYPE_ESP);
        check("SADB_REGISTER esp answers with supported algorithms",
              reg && reg->get<SadbSupported>(SADB_EXT_SUPPORTED_ENCRYPT) != nullptr,
              reg ? "" : reg.error().to_string());
        auto sad = pfk.dump(SADB_DUMP, SADB_SATYPE_ESP);
        const SadbSa* dsa = sad && sad->size() == 1 ? (*sad)[0].get<SadbSa>(SADB_EXT_SA) : nullptr;
        check("SADB_DUMP lists the ESP SA (spi 0x1000)", dsa && dsa->spi == kSpi,
              sad ? std::to_string(sad->size()) + " answers" : sad.error().to_string());
        auto spd = pfk.dump(SADB_X_SPDDUMP, SADB_SATYPE_UNSPEC);
        const SadbXPolicy* dpol = spd && spd->size() == 1 ? (*spd)[0].get<SadbXPolicy>(SADB_X_EXT_POLICY) : nullptr;
        check("SADB_X_SPDDUMP lists the policy with its tunnel request",
              dpol && dpol->requests.size() == 1 && dpol->requests[0].src &&
                  dpol->requests[0].src->address == ip(kCoaOld) && dpol->requests[0].reqid == kReqid,
              spd ? std::to_string(spd->size()) + " answers" : spd.error().to_string());
    }

    // route2 and hao states (RFC 6275 sec. 6.4, 6.3) with their care-of address.
    for (uint8_t proto : {uint8_t(IPPROTO_ROUTING), uint8_t(IPPROTO_DSTOPTS)}) {
        const std::string name = proto == IPPROTO_ROUTING ? "route2" : "hao";
        StateInfo ro;
        ro.info.sel = make_selector({ip(kHa), 128}, {ip(kHoa), 128});
        ro.info.id.daddr = to_xfrm_address(ip(kHoa));
        ro.info.id.proto = proto;
        ro.info.saddr = to_xfrm_address(ip(kHa));
        ro.info.family = AF_INET6;
        ro.info.mode = XFRM_MODE_ROUTEOPTIMIZATION;
        ro.info.lft = infinite_lifetime();
        ro.coaddr = to_xfrm_address(ip(kCoaNew));
        auto add = ctl.request({XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL, 0, 0, ro, {}});
        check(name + " state with care-of address installed (netlink)", bool(add),
              add ? "" : add.error().to_string());
        StateId id;
        id.id.daddr = to_xfrm_address(ip(kHoa));
        id.id.family = AF_INET6;
        id.id.proto = proto;
        id.srcaddr = to_xfrm_address(ip(kHa));
        auto got = ctl.request({XFRM_MSG_GETSA, 0, 0, 0, id, {}});
        const StateInfo* gs = got && !got->empty() ? std::get_if<StateInfo>(&(*got)[0].body) : nullptr;
        check(name + " state reads back with its care-of address",
              gs && gs->coaddr && to_ip(AF_INET6, *gs->coaddr) == ip(kCoaNew) &&
                  gs->info.mode == XFRM_MODE_ROUTEOPTIMIZATION,
              got ? "" : got.error().to_string());
        auto del = ctl.request({XFRM_MSG_DELSA, 0, 0, 0, id, {}});
        auto gone = ctl.request({XFRM_MSG_GETSA, 0, 0, 0, id, {}});
        check(name + " state deleted (netlink)", del && !gone && gone.error().errno_value == ESRCH,
              gone ? "still there" : gone.error().to_string());
    }

    std::vector<std::string> table;  // namespace delivery, one row per MIGRATE

    // ---- 1. PF_KEY -> kernel -> netlink -----------------------------------
    const auto m1 = pfkey_migrate(kHoa, kCoaOld, kCoaNew);
    auto r1 = pfk.migrate(m1);
    check("SADB_X_MIGRATE + KMADDRESS over PF_KEY accepted", bool(r1), r1 ? "" : r1.error().to_string());
    check("policy template moved to new CoA -> HA",
          policy_template_src(ctl) == std::string(kCoaNew) + "->" + kHa, policy_template_src(ctl));
    check("SA moved: the only ESP SA now runs new CoA -> HA", only_sa_from(ctl, kCoaNew),
          joined(sa_sources(ctl)));
    {
        auto ns_nl = heard_xfrm(*ns.nl, 1000ms);
        auto ns_pf = heard_pfkey(*ns.pf, 300ms);
        auto in_nl = heard_xfrm(*init.nl, 300ms);
        auto in_pf = heard_pfkey(*init.pf, 300ms);
        const auto& got = !ns_nl.empty() ? ns_nl : in_nl;
        bool same = false;
        std::string detail = "no XFRM_MSG_MIGRATE heard in any namespace";
        if (!got.empty()) {
            auto as_pf = to_pfkey(got[0]);
            auto expect = m1;
            expect.seq = expect.pid = 0;  // kernel notifications carry neither
            same = as_pf && *as_pf == expect;
            detail = as_pf ? (same ? "" : "differs from what was sent") : as_pf.error().to_string();
        }
        check("netlink XFRMNLGRP_MIGRATE listener got the same MIGRATE and KMADDRESS", same, detail);
        table.push_back("PF_KEY-issued MIGRATE: netns netlink=" + std::to_string(ns_nl.size()) +
                        " netns pfkey=" + std::to_string(ns_pf.size()) +
                        " init_net netlink=" + std::to_string(in_nl.size()) +
                        " init_net pfkey=" + std::to_string(in_pf.size()));
    }

    // ---- 2. netlink -> kernel -> PF_KEY -----------------------------------
    auto x2 = to_xfrm(pfkey_migrate(kHoa, kCoaNew, kCoaThird));
    check("translate the second MIGRATE to XFRM", bool(x2));
    auto r2 = ctl.request(*x2);
    check("XFRM_MSG_MIGRATE + KMADDRESS over netlink acked", bool(r2), r2 ? "" : r2.error().to_string());
    check("policy template moved to third CoA -> HA",
          policy_template_src(ctl) == std::string(kCoaThird) + "->" + kHa, policy_template_src(ctl));
    check("SA moved: the only ESP SA now runs third CoA -> HA", only_sa_from(ctl, kCoaThird),
          joined(sa_sources(ctl)));
    {
        auto ns_pf = heard_pfkey(*ns.pf, 1000ms);
        auto ns_nl = heard_xfrm(*ns.nl, 300ms);
        auto in_nl = heard_xfrm(*init.nl, 300ms);
        auto in_pf = heard_pfkey(*init.pf, 300ms);
        const auto& got = !ns_pf.empty() ? ns_pf : in_pf;
        bool same = false;
        std::string detail = "no SADB_X_MIGRATE heard in any namespace";
        if (!got.empty()) {
            auto typed = migrate_from_message(got[0]);
            auto as_x = typed ? to_xfrm(*typed) : Result<XfrmMessage>(typed.error());
            same = as_x && *as_x == *x2;
            detail = as_x ? (same ? "" : "differs from what was sent") : as_x.error().to_string();
            check("PF_KEY copy carries SADB_X_EXT_KMADDRESS",
                  got[0].get<SadbXKmaddress>(SADB_X_EXT_KMADDRESS) != nullptr);
        }
        check("PF_KEY socket got the same MIGRATE and KMADDRESS", same, detail);
        table.push_back("netlink-issued MIGRATE: netns netlink=" + std::to_string(ns_nl.size()) +
                        " netns pfkey=" + std::to_string(ns_pf.size()) +
                        " init_net netlink=" + std::to_string(in_nl.size()) +
                        " init_net pfkey=" + std::to_string(in_pf.size()));
    }

    // ---- 3. MIGRATE for a policy that does not exist ----------------------
    auto pol_before = ctl.dump(XFRM_MSG_GETPOLICY);
    auto sa_before = ctl.dump(XFRM_MSG_GETSA);
    auto r3 = pfk.migrate(pfkey_migrate("2001:db8:1::999", kCoaThird, kCoaOld));
    check("PF_KEY MIGRATE of a missing policy fails with ENOENT",
          !r3 && r3.error().kind == TransportError::Kind::kernel && r3.error().errno_value == ENOENT,
          r3 ? "accepted" : r3.error().to_string());
    auto r4 = ctl.request(*to_xfrm(pfkey_migrate("2001:db8:1::999", kCoaThird, kCoaOld)));
    check("netlink MIGRATE of a missing policy fails with ENOENT",
          !r4 && r4.error().kind == TransportError::Kind::kernel && r4.error().errno_value == ENOENT,
          r4 ? "acked" : r4.error().to_string());
    auto pol_after = ctl.dump(XFRM_MSG_GETPOLICY);
    auto sa_after = ctl.dump(XFRM_MSG_GETSA);
    check("policies unchanged", pol_before && pol_after && bodies(pol_before) == bodies(pol_after) &&
                                    !bodies(pol_after).empty());
    check("SAs unchanged", sa_before && sa_after && bodies(sa_before) == bodies(sa_after) &&
                               !bodies(sa_after).empty());
    check("the failed MIGRATEs were not announced",
          heard_xfrm(*ns.nl, 300ms).empty() && heard_xfrm(*init.nl, 100ms).empty());

    // ---- 4. which namespaces heard the MIGRATEs --------------------------
    int major = 0, minor = 0;
    const long patch = debian_patch_level(major, minor);
    // Debian's 6.1.176 stable update: "xfrm: route MIGRATE notifications to
    // caller's netns"; before it, only init_net heard them.
    const bool routed = major > 6 || (major == 6 && minor > 1) || (major == 6 && minor == 1 && patch >= 176);
    const std::string expect = routed ? "netns netlink=1 netns pfkey=1 init_net netlink=0 init_net pfkey=0"
                                      : "netns netlink=0 netns pfkey=0 init_net netlink=1 init_net pfkey=1";
    utsname u{};
    ::uname(&u);
    report << "kernel " << u.release << " " << u.version << "\n";
    report << "expected for a " << (routed ? ">= 6.1.176 (per-netns)" : "< 6.1.176 (init_net only)")
           << " kernel: " << expect << "\n";
    for (const auto& row : table) {
        report << row << "\n";
        check("namespace delivery: " + row, row.find(expect) != std::string::npos, "expected " + expect);
    }
    if (argc > 2) std::ofstream(argv[2]) << report.str();
    std::fputs(report.str().c_str(), stdout);

    // ---- 5. ACQUIRE and EXPIRE events on both interfaces -----------------
    {
        auto ev = XfrmSocket::open(io, {XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE});
        auto reg = PfkeySocket::open(io);
        const bool ok = ev && reg && (*reg)->register_satype(SADB_SATYPE_ESP);
        check("event listeners open (netlink ACQUIRE+EXPIRE, registered PF_KEY)", ok);
        if (ok) {
            // An outbound policy without an SA: the first packet makes the
            // kernel ask the key managers (RFC 2367 sec. 3.1.6).
            PolicyInfo acq;
            // From a second address: the HoA's tunnel policy (any proto, any
            // destination) would otherwise match first and carry the packet.
            acq.info.sel = make_selector({ip("2001:db8:1::200"), 128}, {ip("2001:db8:ff::1"), 128}, IPPROTO_UDP);
            acq.info.lft = infinite_lifetime();
            acq.info.dir = XFRM_POLICY_OUT;
            acq.tmpls.push_back(make_tmpl(IPPROTO_ESP, XFRM_MODE_TRANSPORT, 0, ip("::"), ip("::")));
            acq.tmpls[0].family = AF_INET6;
            auto add = ctl.request({XFRM_MSG_NEWPOLICY, NLM_F_CREATE, 0, 0, acq, {}});
            check("policy without SA for 2001:db8:ff::1 installed", bool(add), add ? "" : add.error().to_string());
            const int u = ::socket(AF_INET6, SOCK_DGRAM, 0);
            sockaddr_in6 from{};
            from.sin6_family = AF_INET6;
            ::inet_pton(AF_INET6, "2001:db8:1::200", &from.sin6_addr);
            const int bound = ::bind(u, reinterpret_cast<sockaddr*>(&from), sizeof from);
            check("UDP socket bound to 2001:db8:1::200", bound == 0, bound ? std::strerror(errno) : "");
            sockaddr_in6 to{};
            to.sin6_family = AF_INET6;
            to.sin6_port = htons(9);
            ::inet_pton(AF_INET6, "2001:db8:ff::1", &to.sin6_addr);
            (void)::sendto(u, "x", 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
            ::close(u);
            std::optional<XfrmMessage> nl_acq;
            for (int i = 0; i < 5 && !nl_acq; ++i) {
                auto m = (*ev)->receive(1000ms);
                if (m && m->type == XFRM_MSG_ACQUIRE) nl_acq = *m;
            }
            const auto* a = nl_acq ? std::get_if<Acquire>(&nl_acq->body) : nullptr;
            check("XFRM_MSG_ACQUIRE for 2001:db8:ff::1 decoded",
                  a && to_ip(AF_INET6, a->acquire.id.daddr) == ip("2001:db8:ff::1") &&
                      a->acquire.id.proto == IPPROTO_ESP);
            std::optional<PfkeyMessage> pf_acq;
            for (int i = 0; i < 5 && !pf_acq; ++i) {
                auto m = (*reg)->receive(1000ms);
                if (m && m->header.type == SADB_ACQUIRE) pf_acq = *m;
            }
            const auto* pd = pf_acq ? pf_acq->get<SadbAddress>(SADB_EXT_ADDRESS_DST) : nullptr;
            check("SADB_ACQUIRE for 2001:db8:ff::1 decoded (with its proposal)",
                  pd && pd->addr.address == ip("2001:db8:ff::1") &&
                      pf_acq->get<SadbProp>(SADB_EXT_PROPOSAL) != nullptr);

            // An SA with 1 s soft and 2 s hard lifetimes expires on both interfaces.
            auto st = state_msg();
            auto& si = std::get<StateInfo>(st.body);
            si.info.id.spi = htonl(0x2000);
            si.info.lft.soft_add_expires_seconds = 1;
            si.info.lft.hard_add_expires_seconds = 2;
            auto sadd = ctl.request(st);
            check("ESP SA with 1 s / 2 s lifetimes installed", bool(sadd), sadd ? "" : sadd.error().to_string());
            int soft = 0, hard = 0;
            for (int i = 0; i < 8 && !(soft && hard); ++i) {
                auto m = (*ev)->receive(1000ms);
                if (!m || m->type != XFRM_MSG_EXPIRE) continue;
                const auto& e = std::get<Expire>(m->body).expire;
                if (ntohl(e.state.id.spi) != 0x2000) continue;
                (e.hard ? hard : soft)++;
            }
            check("XFRM_MSG_EXPIRE soft then hard for spi 0x2000", soft == 1 && hard == 1,
                  "soft " + std::to_string(soft) + ", hard " + std::to_string(hard));
            int pf_soft = 0, pf_hard = 0;
            for (int i = 0; i < 8 && !(pf_soft && pf_hard); ++i) {
                auto m = (*reg)->receive(500ms);
                if (!m || m->header.type != SADB_EXPIRE) continue;
                const auto* sa = m->get<SadbSa>(SADB_EXT_SA);
                if (!sa || sa->spi != 0x2000) continue;
                // RFC 2367 sec. 3.1.7: a hard expire carries LIFETIME_HARD, a soft one LIFETIME_SOFT.
                if (m->get<SadbLifetime>(SADB_EXT_LIFETIME_HARD)) pf_hard++;
                else if (m->get<SadbLifetime>(SADB_EXT_LIFETIME_SOFT)) pf_soft++;
            }
            check("SADB_EXPIRE soft then hard for spi 0x2000", pf_soft == 1 && pf_hard == 1,
                  "soft " + std::to_string(pf_soft) + ", hard " + std::to_string(pf_hard));
        }
    }

    // Leave the namespace as it was found.
    auto f1 = ctl.request(XfrmMessage{XFRM_MSG_FLUSHSA, 0, 0, 0, StateFlush{xfrm_usersa_flush{IPSEC_PROTO_ANY}}, {}});
    auto f2 = ctl.request(XfrmMessage{XFRM_MSG_FLUSHPOLICY, 0, 0, 0, PolicyFlush{}, {}});
    check("flush the namespace's SAs and policies", f1 && f2);
    std::printf("pfkey_vm_migrate: %d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
