// XFRM netlink transport against the real kernel of the build host, in a
// private network namespace (unshare(CLONE_NEWNET), needs root). The host
// kernel has XFRM netlink and MIGRATE but no ESP: policies only here; states,
// ESP and PF_KEY are covered by the kernel-VM scenario pfkey-migrate.
#include <gtest/gtest.h>
#include <sched.h>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "pfkey/transport/xfrm_socket.hpp"
#include "pfkey/translate/migrate_translate.hpp"
#include "pfkey/xfrm/xfrm_build.hpp"
#include "tests/unit/pfkey/test_util.hpp"

namespace nemokey::pfkey {
namespace {

using testing::ip;
using namespace xfrm;

class XfrmHost : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // One fresh namespace for the whole process: nothing leaks to the host.
        if (::unshare(CLONE_NEWNET) != 0) unshare_errno_ = errno;
    }
    void SetUp() override {
        if (unshare_errno_)
            // A skip would count as a pass in ctest: without root this fails, saying why.
            GTEST_FAIL() << "unshare(CLONE_NEWNET) failed (" << std::strerror(unshare_errno_)
                         << "): these tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)";
        auto s = XfrmSocket::open(io_);
        ASSERT_TRUE(s) << s.error().to_string();
        sock_ = std::move(s).value();
        auto f = sock_->request(XfrmMessage{XFRM_MSG_FLUSHPOLICY, 0, 0, 0, PolicyFlush{}, {}});
        ASSERT_TRUE(f) << f.error().to_string();
    }

    static XfrmMessage policy(const char* old_coa) {
        PolicyInfo p;
        p.info.sel = make_selector({ip("2001:db8:1::100"), 128}, {ip("::"), 0});
        p.info.lft = infinite_lifetime();
        p.info.dir = XFRM_POLICY_OUT;
        p.info.action = XFRM_POLICY_ALLOW;
        p.info.priority = 10;
        p.tmpls.push_back(make_tmpl(IPPROTO_ESP, XFRM_MODE_TUNNEL, 7, ip(old_coa), ip("2001:db8::1")));
        return XfrmMessage{XFRM_MSG_NEWPOLICY, NLM_F_CREATE | NLM_F_EXCL, 0, 0, p, {}};
    }
    static XfrmMessage get_policy() {
        PolicyId id;
        id.id.sel = make_selector({ip("2001:db8:1::100"), 128}, {ip("::"), 0});
        id.id.dir = XFRM_POLICY_OUT;
        return XfrmMessage{XFRM_MSG_GETPOLICY, 0, 0, 0, id, {}};
    }
    static XfrmMessage migrate(const char* sel_src, const char* old_coa, const char* new_coa) {
        Migrate b;
        b.id.sel = make_selector({ip(sel_src), 128}, {ip("::"), 0});
        b.id.dir = XFRM_POLICY_OUT;
        b.migrate.push_back(make_migrate(IPPROTO_ESP, XFRM_MODE_TUNNEL, 7, ip(old_coa),
                                         ip("2001:db8::1"), ip(new_coa), ip("2001:db8::1")));
        b.kmaddress = make_kmaddress(ip(new_coa), ip("2001:db8::1"));
        return XfrmMessage{XFRM_MSG_MIGRATE, 0, 0, 0, b, {}};
    }

    static inline int unshare_errno_ = 0;
    boost::asio::io_context io_;
    std::unique_ptr<XfrmSocket> sock_;
};

TEST_F(XfrmHost, NewGetDumpDeletePolicy) {
    auto add = sock_->request(policy("2001:db8:3::100"));
    ASSERT_TRUE(add) << add.error().to_string();
    auto got = sock_->request(get_policy());
    ASSERT_TRUE(got) << got.error().to_string();
    ASSERT_EQ(got->size(), 1u);
    const auto& p = std::get<PolicyInfo>((*got)[0].body);
    ASSERT_EQ(p.tmpls.size(), 1u);
    EXPECT_EQ(to_ip(AF_INET6, p.tmpls[0].saddr), ip("2001:db8:3::100"));
    EXPECT_EQ(p.tmpls[0].reqid, 7u);
    EXPECT_EQ(p.info.priority, 10u);
    auto dump = sock_->dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(dump) << dump.error().to_string();
    EXPECT_EQ(dump->size(), 1u);
    auto del = get_policy();
    del.type = XFRM_MSG_DELPOLICY;
    auto d = sock_->request(del);
    ASSERT_TRUE(d) << d.error().to_string();
    auto again = sock_->request(get_policy());
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, TransportError::Kind::kernel);
    EXPECT_EQ(again.error().errno_value, ENOENT);
}

TEST_F(XfrmHost, DuplicatePolicyIsATypedKernelError) {
    ASSERT_TRUE(sock_->request(policy("2001:db8:3::100")));
    auto dup = sock_->request(policy("2001:db8:3::100"));
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().kind, TransportError::Kind::kernel);
    EXPECT_EQ(dup.error().errno_value, EEXIST);
    EXPECT_EQ(dup.error().operation, "XFRM_MSG_NEWPOLICY");
}

TEST_F(XfrmHost, InvalidDirectionCarriesExtendedAckText) {
    auto bad = policy("2001:db8:3::100");
    std::get<PolicyInfo>(bad.body).info.dir = 7;
    auto r = sock_->request(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().errno_value, EINVAL);
    // xfrm_user.c verify_policy_dir: NL_SET_ERR_MSG "Invalid policy direction".
    EXPECT_NE(r.error().ext_ack.find("direction"), std::string::npos) << r.error().to_string();
    std::cout << "kernel said: " << r.error().to_string() << "\n";
}

TEST_F(XfrmHost, MigrateMovesTemplateAndIsAnnouncedWithKmaddress) {
    ASSERT_TRUE(sock_->request(policy("2001:db8:3::100")));
    auto listener = XfrmSocket::open(io_, {XFRMNLGRP_MIGRATE});
    ASSERT_TRUE(listener) << listener.error().to_string();
    auto mig = migrate("2001:db8:1::100", "2001:db8:3::100", "2001:db8:2::100");
    auto r = sock_->request(mig);
    ASSERT_TRUE(r) << r.error().to_string();

    auto got = sock_->request(get_policy());
    ASSERT_TRUE(got) << got.error().to_string();
    const auto& p = std::get<PolicyInfo>((*got)[0].body);
    EXPECT_EQ(to_ip(AF_INET6, p.tmpls[0].saddr), ip("2001:db8:2::100"));
    EXPECT_EQ(to_ip(AF_INET6, p.tmpls[0].id.daddr), ip("2001:db8::1"));

    auto ev = (*listener)->receive();
    ASSERT_TRUE(ev) << ev.error().to_string();
    ASSERT_EQ(ev->type, XFRM_MSG_MIGRATE);
    const auto& b = std::get<Migrate>(ev->body);
    const auto& sent = std::get<Migrate>(mig.body);
    ASSERT_TRUE(b.kmaddress);
    EXPECT_EQ(*b.kmaddress, *sent.kmaddress);
    ASSERT_EQ(b.migrate.size(), 1u);
    EXPECT_EQ(b.migrate[0], sent.migrate[0]);
    EXPECT_EQ(b.id.sel, sent.id.sel);
    // What the kernel announced translates to PF_KEY and back unchanged.
    auto pf = to_pfkey(*ev);
    ASSERT_TRUE(pf) << pf.error().to_string();
    auto x = to_xfrm(*pf);
    ASSERT_TRUE(x);
    EXPECT_EQ(std::get<Migrate>(x->body).migrate[0], b.migrate[0]);
}

TEST_F(XfrmHost, MigrateOfMissingPolicyFailsAndChangesNothing) {
    ASSERT_TRUE(sock_->request(policy("2001:db8:3::100")));
    auto before = sock_->dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(before);
    auto r = sock_->request(migrate("2001:db8:9::9", "2001:db8:3::100", "2001:db8:2::100"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, TransportError::Kind::kernel);
    EXPECT_EQ(r.error().errno_value, ENOENT) << r.error().to_string();
    auto after = sock_->dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), before->size());
    EXPECT_EQ(std::get<PolicyInfo>((*after)[0].body).tmpls, std::get<PolicyInfo>((*before)[0].body).tmpls);
}

TEST_F(XfrmHost, EventsArrivingDuringARequestAreQueued) {
    // The requesting socket itself listens to policy events: the NEWPOLICY
    // event must survive the wait for the ack.
    auto s = XfrmSocket::open(io_, {XFRMNLGRP_POLICY});
    ASSERT_TRUE(s);
    auto r = (*s)->request(policy("2001:db8:3::100"));
    ASSERT_TRUE(r) << r.error().to_string();
    auto ev = (*s)->receive();
    ASSERT_TRUE(ev) << ev.error().to_string();
    EXPECT_EQ(ev->type, XFRM_MSG_NEWPOLICY);
    auto none = (*s)->receive(std::chrono::milliseconds(50));
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().kind, TransportError::Kind::timeout);
}

TEST_F(XfrmHost, KmmonitorPrintsOneJsonLinePerEvent) {
    // kmmonitor runs in this namespace (a child inherits it); PF_KEY is not
    // on the build host, so --no-pfkey.
    const std::string cmd = std::string(KMMONITOR_PATH) + " --no-pfkey -j --count 2 --timeout 10 policy";
    FILE* out = ::popen(cmd.c_str(), "r");
    ASSERT_NE(out, nullptr);
    // Let it subscribe, then cause two policy events (and an ack it ignores).
    ::usleep(300 * 1000);
    ASSERT_TRUE(sock_->request(policy("2001:db8:3::100")));
    ASSERT_TRUE(sock_->request(XfrmMessage{XFRM_MSG_FLUSHPOLICY, 0, 0, 0, PolicyFlush{}, {}}));
    std::string text;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, out)) text += buf;
    EXPECT_EQ(::pclose(out), 0);
    const auto nl = text.find('\n');
    ASSERT_NE(nl, std::string::npos) << text;
    const auto first = nlohmann::json::parse(text.substr(0, nl));
    EXPECT_EQ(first["source"], "xfrm");
    EXPECT_EQ(first["type"], "XFRM_MSG_NEWPOLICY");
    EXPECT_EQ(first["sel"], "2001:db8:1::100/128->::/0");
    EXPECT_EQ(first["tmpls"][0]["tunnel"], "2001:db8:3::100->2001:db8::1");
    EXPECT_EQ(first["tmpls"][0]["reqid"], 7);
    const auto second = nlohmann::json::parse(text.substr(nl + 1));
    EXPECT_EQ(second["type"], "XFRM_MSG_FLUSHPOLICY");
}

}  // namespace
}  // namespace nemokey::pfkey
