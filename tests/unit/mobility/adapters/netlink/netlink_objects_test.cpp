// The netlink backend's messages, without a kernel: every object written as
// its request reads back as the same object when parsed the way a dump
// record is (the kernel answers a dump with the same layout), events
// decode, and extended acks give their text. The kernel's own answers are
// checked in the kernel VM (kernel-contract scenario).
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/ip6_tunnel.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <initializer_list>
#include <optional>
#include <cstring>

#include "mobility/adapters/netlink/rtnl_objects.hpp"
#include "mobility/adapters/netlink/xfrm_objects.hpp"
#include "mobility/kernel/marks.hpp"

namespace nemokey::mobility::adapters::netlink {
namespace {

using namespace kernel;

Ipv6Address a6(const char* t) { return *Ipv6Address::parse(t); }
Prefix p6(const char* t) { return *Prefix::parse(t); }

// What the kernel would dump for the state or policy the request adds.
xfrm::XfrmMessage as_record(const xfrm::XfrmMessage& request) {
    auto bytes = xfrm::encode(request);
    EXPECT_TRUE(bytes) << bytes.error().to_string();
    auto decoded = xfrm::decode(bytes.value());
    EXPECT_TRUE(decoded && decoded->size() == 1u);
    return decoded->front();
}

const nlmsghdr* header(const Bytes& b) { return reinterpret_cast<const nlmsghdr*>(b.data()); }

Sa esp_sa() {
    Sa s;
    s.id = SaId{a6("2001:db8:a::10"), a6("2001:db8:1::1"), SaProtocol::esp, 0xc0010001};
    s.mode = SaMode::tunnel;
    s.reqid = 7;
    s.aead = SaAlgorithm{"rfc4106(gcm(aes))", std::vector<uint8_t>(20, 0x11), 128};
    s.owner_mark = marks::sa_owner_mark;
    return s;
}

TEST(XfrmObjects, EspSaWithItsMarkReadsBack) {
    const Sa sa = esp_sa();
    const auto m = new_sa(sa);
    EXPECT_EQ(m.type, XFRM_MSG_NEWSA);
    EXPECT_EQ(sa_from(as_record(m)), sa);
}

TEST(XfrmObjects, TransportSaWithMhSelectorAndTruncatedAuthReadsBack) {
    Sa sa = esp_sa();
    sa.mode = SaMode::transport;
    sa.aead.reset();
    sa.encryption = SaAlgorithm{"cbc(aes)", std::vector<uint8_t>(16, 0x22), 0};
    sa.integrity = SaAlgorithm{"hmac(sha256)", std::vector<uint8_t>(32, 0x33), 128};
    sa.selector = Selector{p6("2001:db8:1::100/128"), p6("2001:db8:1::1/128"), 135, 5};
    const auto record = as_record(new_sa(sa));
    const auto& info = std::get<xfrm::StateInfo>(record.body).info;
    EXPECT_EQ(ntohs(info.sel.sport), 5u) << "the MH type rides in the source port";
    EXPECT_EQ(info.sel.sport_mask, 0xffff);
    EXPECT_EQ(sa_from(record), sa);
}

TEST(XfrmObjects, Route2StateReadsBack) {
    Sa sa;
    sa.id = SaId{a6("2001:db8:1::1"), a6("2001:db8:1::100"), SaProtocol::route2, 0};
    sa.mode = SaMode::route_optimization;
    sa.care_of_address = IpAddress{a6("2001:db8:a::10")};
    sa.owner_mark = marks::sa_owner_mark;
    EXPECT_EQ(sa_from(as_record(new_sa(sa))), sa);
}

TEST(XfrmObjects, ASelectorOfZerosIsNoSelector) {
    // The kernel gives a transport SA without selector one of its family.
    auto sel = xfrm::zeroed<xfrm_selector>();
    sel.family = AF_INET6;
    EXPECT_FALSE(sa_selector_from(sel).has_value());
    sel.proto = 135;
    EXPECT_TRUE(sa_selector_from(sel).has_value());
}

TEST(XfrmObjects, SaOfAnotherOwnerOrWithALookupMarkIsNotOurs) {
    Sa sa = esp_sa();
    sa.owner_mark.reset();
    auto record = as_record(new_sa(sa));
    ASSERT_TRUE(sa_from(record));
    EXPECT_FALSE(marks::owned(*sa_from(record)));
    std::get<xfrm::StateInfo>(record.body).mark = xfrm_mark{1, 0xffffffff};
    EXPECT_FALSE(sa_from(record).has_value());
}

TEST(XfrmObjects, PoliciesReadBackAndDeleteByTheirId) {
    Policy p;
    p.id.selector = Selector{p6("2001:db8:1::100/128"), p6("::/0"), 0, std::nullopt};
    p.id.direction = PolicyDirection::out;
    p.priority = marks::policy_priority_min + 100;
    PolicyTemplate tunnel;
    tunnel.mode = SaMode::tunnel;
    tunnel.reqid = 9;
    tunnel.source = IpAddress{a6("2001:db8:a::10")};
    tunnel.destination = IpAddress{a6("2001:db8:1::1")};
    PolicyTemplate transport;
    transport.reqid = 10;
    transport.optional = true;
    p.templates = {tunnel, transport};
    EXPECT_EQ(new_policy(p, false).type, XFRM_MSG_NEWPOLICY);
    const auto update = new_policy(p, true);
    EXPECT_EQ(update.type, XFRM_MSG_UPDPOLICY);
    EXPECT_EQ(policy_from(as_record(update)), p);
    const auto del = as_record(delete_policy(p.id));
    const auto& id = std::get<xfrm::PolicyId>(del.body).id;
    EXPECT_EQ(id.sel, to_xfrm(p.id.selector));
    EXPECT_EQ(id.dir, XFRM_POLICY_OUT);
}

TEST(XfrmObjects, SubPoliciesCarryTheirTypeInEveryRequestAndReadBack) {
    Policy p;
    p.id.selector = Selector{p6("2001:db8:1::100/128"), p6("2001:db8:1::1/128"), 135, 5};
    p.id.direction = PolicyDirection::out;
    p.id.type = PolicyType::sub;
    p.priority = marks::policy_priority_min + 100;
    PolicyTemplate hao;
    hao.protocol = SaProtocol::home_address;
    hao.mode = SaMode::route_optimization;
    hao.optional = true;
    p.templates = {hao};
    for (bool update : {false, true}) {
        const auto record = as_record(new_policy(p, update));
        EXPECT_EQ(std::get<xfrm::PolicyInfo>(record.body).policy_type, std::optional<uint8_t>(XFRM_POLICY_TYPE_SUB));
        EXPECT_EQ(policy_from(record), p);
    }
    const auto del = as_record(delete_policy(p.id));
    EXPECT_EQ(std::get<xfrm::PolicyId>(del.body).policy_type, std::optional<uint8_t>(XFRM_POLICY_TYPE_SUB));
    // A main policy omits the attribute (the kernel's default) and reads
    // back from a dump, which names its type.
    Policy main = p;
    main.id.type = PolicyType::main;
    auto record = as_record(new_policy(main, false));
    EXPECT_FALSE(std::get<xfrm::PolicyInfo>(record.body).policy_type.has_value());
    EXPECT_FALSE(std::get<xfrm::PolicyId>(as_record(delete_policy(main.id)).body).policy_type.has_value());
    std::get<xfrm::PolicyInfo>(record.body).policy_type = XFRM_POLICY_TYPE_MAIN;
    EXPECT_EQ(policy_from(record), main);
    // XFRM_POLICY_TYPE_ANY is no policy's type.
    std::get<xfrm::PolicyInfo>(record.body).policy_type = XFRM_POLICY_TYPE_ANY;
    EXPECT_FALSE(policy_from(record).has_value());
}

TEST(XfrmObjects, MigrateNamesASubPolicyByItsType) {
    MigrateSas m;
    m.policy.selector = Selector{p6("2001:db8:1::100/128"), p6("::/0"), 0, std::nullopt};
    m.templates.push_back(MigrateTemplate{SaProtocol::esp, SaMode::tunnel, 7, a6("2001:db8:a::10"),
                                          a6("2001:db8:1::1"), a6("2001:db8:b::10"), a6("2001:db8:1::1")});
    EXPECT_FALSE(std::get<xfrm::Migrate>(migrate(m).body).policy_type.has_value()) << "main: the default";
    m.policy.type = PolicyType::sub;
    const auto record = as_record(migrate(m));
    EXPECT_EQ(std::get<xfrm::Migrate>(record.body).policy_type, std::optional<uint8_t>(XFRM_POLICY_TYPE_SUB));
    const auto event = event_from(record);
    ASSERT_TRUE(event);
    EXPECT_EQ(std::get<MigrateSeen>(*event).migrate, m);
}

TEST(XfrmObjects, WildcardReceiveStateReadsBackAndOtherFlagsAreIgnored) {
    Sa sa;
    sa.id = SaId{a6("::"), a6("::"), SaProtocol::home_address, 0};
    sa.mode = SaMode::route_optimization;
    sa.care_of_address = IpAddress{a6("::")};
    sa.wildcard_receive = true;
    sa.owner_mark = marks::sa_owner_mark;
    auto record = as_record(new_sa(sa));
    auto& info = std::get<xfrm::StateInfo>(record.body).info;
    EXPECT_EQ(info.flags, XFRM_STATE_WILDRECV);
    EXPECT_EQ(sa_from(record), sa);
    // Flags the contract does not model change nothing.
    info.flags |= XFRM_STATE_NOECN | XFRM_STATE_AF_UNSPEC;
    EXPECT_EQ(sa_from(record), sa);
    info.flags = XFRM_STATE_NOECN;
    sa.wildcard_receive = false;
    EXPECT_EQ(sa_from(record), sa);
    EXPECT_EQ(std::get<xfrm::StateInfo>(as_record(new_sa(sa)).body).info.flags, 0u);
}

TEST(XfrmObjects, MigrateWithKmaddressIsHeardAsSent) {
    MigrateSas m;
    m.policy.selector = Selector{p6("2001:db8:1::100/128"), p6("::/0"), 0, std::nullopt};
    m.policy.direction = PolicyDirection::out;
    m.templates.push_back(MigrateTemplate{SaProtocol::esp, SaMode::tunnel, 7, a6("2001:db8:a::10"),
                                          a6("2001:db8:1::1"), a6("2001:db8:b::10"), a6("2001:db8:1::1")});
    m.kmaddress = KmAddress{a6("2001:db8:b::10"), a6("2001:db8:1::1")};
    const auto event = event_from(as_record(migrate(m)));
    ASSERT_TRUE(event);
    EXPECT_EQ(std::get<MigrateSeen>(*event).migrate, m);
}

TEST(XfrmObjects, AllocateSpiCarriesTheRange) {
    const auto m = allocate_spi(AllocateSpi{a6("2001:db8:1::1"), a6("2001:db8:a::10"), SaProtocol::esp, 3, 0x2000, 0x2fff});
    EXPECT_EQ(m.type, XFRM_MSG_ALLOCSPI);
    const auto& payload = std::get<xfrm::Unknown>(m.body).payload;
    ASSERT_EQ(payload.size(), sizeof(xfrm_userspi_info));
    xfrm_userspi_info u;
    std::memcpy(&u, payload.data(), sizeof u);
    EXPECT_EQ(u.min, 0x2000u);
    EXPECT_EQ(u.max, 0x2fffu);
    EXPECT_EQ(u.info.reqid, 3u);
    // The kernel answers with the larval state.
    xfrm::StateInfo answer;
    answer.info.id.spi = htonl(0x2345);
    EXPECT_EQ(allocated_spi(xfrm::XfrmMessage{XFRM_MSG_NEWSA, 0, 0, 0, answer, {}}), 0x2345u);
}

const InterfaceNames names = {{1, "lo"}, {5, "ct0"}, {9, "nkx0"}};

TEST(RtnlObjects, EncapRouteReadsBack) {
    Route r;
    r.id = RouteId{254, p6("2001:db8:1::100/128"), 1024};
    r.device = "nkx0";
    r.encap_destination = IpAddress{a6("2001:db8:a::10")};
    r.encap_source = IpAddress{a6("2001:db8:1::1")};
    r.protocol = marks::protocol;
    const Bytes m = new_route(r, 9, InstallMode::replace);
    EXPECT_TRUE(header(m)->nlmsg_flags & NLM_F_REPLACE);
    const auto back = route_from(header(m), names);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->route, r);
    EXPECT_EQ(back->type, RTN_UNICAST);
}

TEST(RtnlObjects, RouteInALargeTableWithGatewayReadsBack) {
    Route r;
    r.id = RouteId{0x4e4b, p6("::/0"), 1};
    r.device = "ct0";
    r.gateway = IpAddress{a6("fe80::1")};
    r.preferred_source = IpAddress{a6("2001:db8:1::100")};
    r.protocol = marks::protocol;
    const Bytes m = new_route(r, 5, InstallMode::create);
    EXPECT_TRUE(header(m)->nlmsg_flags & NLM_F_EXCL);
    EXPECT_EQ(route_from(header(m), names)->route, r);
    EXPECT_FALSE(route_from(header(m), {}).has_value()) << "an interface without name is no route of ours";
}

TEST(RtnlObjects, HomeAddressReadsBack) {
    Address a;
    a.id = AddressId{"ct0", p6("2001:db8:1::100/64")};
    a.home_address = true;
    a.nodad = true;
    a.protocol = marks::protocol;
    const Bytes m = new_address(a, 5, InstallMode::create);
    const auto back = address_from(header(m), names);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->address, a);
}

TEST(RtnlObjects, TunnelsReadBack) {
    Tunnel t;
    t.name = "nkt0";
    t.local = IpAddress{a6("2001:db8:a::10")};
    t.remote = IpAddress{a6("2001:db8:1::1")};
    auto back = link_from(header(new_tunnel(t, 5, InstallMode::create)));
    ASSERT_TRUE(back && back->tunnel);
    EXPECT_EQ(back->kind, "ip6tnl");
    EXPECT_EQ(*back->tunnel, t);
    EXPECT_EQ(back->tunnel_link, 5);
    Tunnel x;
    x.name = "nkx0";
    x.kind = TunnelKind::ip6ip6_external;
    const Bytes m = new_tunnel(x, 0, InstallMode::replace);
    EXPECT_FALSE(header(m)->nlmsg_flags & NLM_F_REPLACE) << "NLM_F_REPLACE on a link is EOPNOTSUPP";
    back = link_from(header(m));
    ASSERT_TRUE(back && back->tunnel);
    EXPECT_EQ(*back->tunnel, x);
}

// The attribute at `path` (types, outermost first) of an RTM_NEWLINK/SETLINK request.
const nlattr* link_attribute(const Bytes& m, std::initializer_list<uint16_t> path) {
    const auto* h = header(m);
    const auto* p = reinterpret_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(ifinfomsg));
    size_t len = h->nlmsg_len - size_t(p - reinterpret_cast<const uint8_t*>(h));
    const nlattr* found = nullptr;
    for (uint16_t type : path) {
        found = nullptr;
        while (len >= NLA_HDRLEN) {
            const auto* a = reinterpret_cast<const nlattr*>(p);
            if (a->nla_len < NLA_HDRLEN || a->nla_len > len) return nullptr;
            if ((a->nla_type & NLA_TYPE_MASK) == type) {
                found = a;
                break;
            }
            const size_t step = std::min<size_t>(NLA_ALIGN(a->nla_len), len);
            p += step;
            len -= step;
        }
        if (!found) return nullptr;
        p = reinterpret_cast<const uint8_t*>(found) + NLA_HDRLEN;
        len = found->nla_len - NLA_HDRLEN;
    }
    return found;
}

template <class T>
std::optional<T> link_value(const Bytes& m, std::initializer_list<uint16_t> path) {
    const nlattr* a = link_attribute(m, path);
    if (!a || a->nla_len != NLA_HDRLEN + sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN, sizeof v);
    return v;
}

TEST(RtnlObjects, AFixedTunnelIsCreatedDownWithoutEncapsulationLimitAndThenConfigured) {
    Tunnel t;
    t.name = "nk-mn0";
    t.local = IpAddress{a6("2001:db8:a::10")};
    t.remote = IpAddress{a6("2001:db8:1::1")};
    for (auto mode : {InstallMode::create, InstallMode::replace}) {
        const Bytes m = new_tunnel(t, 0, mode);
        const auto* i = static_cast<const ifinfomsg*>(NLMSG_DATA(header(m)));
        EXPECT_EQ(i->ifi_change & IFF_UP, 0u) << "up only after its address generation is off";
        EXPECT_EQ(link_value<uint32_t>(m, {IFLA_LINKINFO, IFLA_INFO_DATA, IFLA_IPTUN_FLAGS}),
                  std::optional<uint32_t>(IP6_TNL_F_IGN_ENCAP_LIMIT));
    }
    const Bytes gen = tunnel_address_generation_none(t.name);
    EXPECT_EQ(header(gen)->nlmsg_type, RTM_SETLINK);
    EXPECT_EQ(link_value<uint8_t>(gen, {IFLA_AF_SPEC, AF_INET6, IFLA_INET6_ADDR_GEN_MODE}),
              std::optional<uint8_t>(IN6_ADDR_GEN_MODE_NONE));
    const Bytes up = link_up(t.name);
    const auto* i = static_cast<const ifinfomsg*>(NLMSG_DATA(header(up)));
    EXPECT_EQ(header(up)->nlmsg_type, RTM_SETLINK);
    EXPECT_EQ(i->ifi_flags & IFF_UP, uint32_t(IFF_UP));
    EXPECT_EQ(i->ifi_change & IFF_UP, uint32_t(IFF_UP));
    // An external tunnel is created up and keeps the kernel's defaults.
    Tunnel x;
    x.name = "nkx0";
    x.kind = TunnelKind::ip6ip6_external;
    const Bytes m = new_tunnel(x, 0, InstallMode::create);
    EXPECT_EQ(static_cast<const ifinfomsg*>(NLMSG_DATA(header(m)))->ifi_flags & IFF_UP, uint32_t(IFF_UP));
    EXPECT_EQ(link_attribute(m, {IFLA_LINKINFO, IFLA_INFO_DATA, IFLA_IPTUN_FLAGS}), nullptr);
}

TEST(RtnlObjects, RuleReadsBackAndItsDeletionNamesTheProtocol) {
    Rule r;
    r.id = RuleId{marks::rule_priority_min + 1, p6("2001:db8:1::100/128")};
    r.table = 1000;
    r.protocol = marks::protocol;
    EXPECT_EQ(rule_from(header(new_rule(r))), r);
    const Bytes del = delete_rule(r.id, marks::protocol);
    EXPECT_EQ(header(del)->nlmsg_type, RTM_DELRULE);
    EXPECT_GT(header(del)->nlmsg_len, header(delete_rule(r.id))->nlmsg_len);
}

TEST(RtnlObjects, ProxyNeighbourReadsBack) {
    ProxyNeighbour n;
    n.id = ProxyNeighbourId{"ct0", a6("2001:db8:1::100")};
    n.protocol = marks::protocol;
    const auto back = neighbour_from(header(new_proxy_neighbour(n, 5, InstallMode::create)), names);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->interface, "ct0");
    EXPECT_EQ(back->address, IpAddress{n.id.address});
    EXPECT_TRUE(back->flags & NTF_PROXY);
    EXPECT_EQ(back->protocol, marks::protocol);
}

TEST(RtnlObjects, ExtendedAckGivesItsText) {
    // A capped NLMSG_ERROR with NLMSGERR_ATTR_MSG, as the kernel sends it.
    const char text[] = "Nexthop device is not up";
    const size_t attr = NLA_HDRLEN + sizeof text;
    Bytes b(NLMSG_HDRLEN + sizeof(nlmsgerr) + NLA_ALIGN(attr), 0);
    auto* h = reinterpret_cast<nlmsghdr*>(b.data());
    h->nlmsg_len = uint32_t(b.size());
    h->nlmsg_type = NLMSG_ERROR;
    h->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    auto* e = reinterpret_cast<nlmsgerr*>(b.data() + NLMSG_HDRLEN);
    e->error = -ENETDOWN;
    e->msg.nlmsg_len = 64;
    auto* a = reinterpret_cast<nlattr*>(b.data() + NLMSG_HDRLEN + sizeof(nlmsgerr));
    a->nla_len = uint16_t(attr);
    a->nla_type = NLMSGERR_ATTR_MSG;
    std::memcpy(a + 1, text, sizeof text);
    const auto ack = ack_from(h);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->error, -ENETDOWN);
    EXPECT_EQ(ack->message, text);
}

}  // namespace
}  // namespace nemokey::mobility::adapters::netlink
