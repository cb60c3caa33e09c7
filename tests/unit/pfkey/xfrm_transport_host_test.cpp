// XFRM netlink transport against the real kernel of the build host, in a
// private network namespace (unshare(CLONE_NEWNET), needs root). The host
// kernel has XFRM netlink and MIGRATE but no ESP: policies only here; states,
// ESP and PF_KEY are covered by the kernel-VM scenario pfkey-migrate.
// Everything is asynchronous: the tests run the io_context until the
// handlers have run (async_test_util.hpp), never sleep.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "pfkey/transport/xfrm_socket.hpp"
#include "pfkey/translate/migrate_translate.hpp"
#include "pfkey/xfrm/xfrm_build.hpp"
#include "tests/unit/pfkey/async_test_util.hpp"
#include "tests/unit/pfkey/test_util.hpp"

namespace nemokey::pfkey {
namespace {

using testing::ip;
using namespace xfrm;
using namespace std::chrono_literals;
using Result = TransportResult<XfrmSocket::Answers>;

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
        auto f = request(XfrmMessage{XFRM_MSG_FLUSHPOLICY, 0, 0, 0, PolicyFlush{}, {}});
        ASSERT_TRUE(f) << f.error().to_string();
    }

    // One request on `s` (the fixture's socket by default), the io_context
    // run until its handler ran.
    Result request(XfrmMessage m, XfrmSocket* s = nullptr) {
        auto r = testing::await<Result>(io_, [&](auto h) { (s ? *s : *sock_).async_request(m, h); });
        if (!r) return TransportError{TransportError::Kind::timeout, "test: handler never ran", 0, {}, {}, {}};
        return std::move(*r);
    }
    Result dump(uint16_t type) {
        auto r = testing::await<Result>(io_, [&](auto h) { sock_->async_dump(type, h); });
        if (!r) return TransportError{TransportError::Kind::timeout, "test: handler never ran", 0, {}, {}, {}};
        return std::move(*r);
    }

    static XfrmMessage policy(const char* old_coa, const char* hoa = "2001:db8:1::100") {
        PolicyInfo p;
        p.info.sel = make_selector({ip(hoa), 128}, {ip("::"), 0});
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
    static XfrmMessage del_policy() {
        auto m = get_policy();
        m.type = XFRM_MSG_DELPOLICY;
        return m;
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
    auto add = request(policy("2001:db8:3::100"));
    ASSERT_TRUE(add) << add.error().to_string();
    EXPECT_TRUE(add->empty());
    auto got = request(get_policy());
    ASSERT_TRUE(got) << got.error().to_string();
    ASSERT_EQ(got->size(), 1u);
    const auto& p = std::get<PolicyInfo>((*got)[0].body);
    ASSERT_EQ(p.tmpls.size(), 1u);
    EXPECT_EQ(to_ip(AF_INET6, p.tmpls[0].saddr), ip("2001:db8:3::100"));
    EXPECT_EQ(p.tmpls[0].reqid, 7u);
    EXPECT_EQ(p.info.priority, 10u);
    auto d = dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(d) << d.error().to_string();
    EXPECT_EQ(d->size(), 1u);
    auto del = request(del_policy());
    ASSERT_TRUE(del) << del.error().to_string();
    auto again = request(get_policy());
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, TransportError::Kind::kernel);
    EXPECT_EQ(again.error().errno_value, ENOENT);
}

TEST_F(XfrmHost, DuplicatePolicyIsATypedKernelError) {
    ASSERT_TRUE(request(policy("2001:db8:3::100")));
    auto dup = request(policy("2001:db8:3::100"));
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().kind, TransportError::Kind::kernel);
    EXPECT_EQ(dup.error().errno_value, EEXIST);
    EXPECT_EQ(dup.error().operation, "XFRM_MSG_NEWPOLICY");
}

TEST_F(XfrmHost, InvalidDirectionCarriesExtendedAckText) {
    auto bad = policy("2001:db8:3::100");
    std::get<PolicyInfo>(bad.body).info.dir = 7;
    auto r = request(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().errno_value, EINVAL);
    // xfrm_user.c verify_policy_dir: NL_SET_ERR_MSG "Invalid policy direction".
    EXPECT_NE(r.error().ext_ack.find("direction"), std::string::npos) << r.error().to_string();
    std::cout << "kernel said: " << r.error().to_string() << "\n";
}

TEST_F(XfrmHost, MigrateMovesTemplateAndIsAnnouncedWithKmaddress) {
    ASSERT_TRUE(request(policy("2001:db8:3::100")));
    auto listener = XfrmSocket::open(io_, {XFRMNLGRP_MIGRATE});
    ASSERT_TRUE(listener) << listener.error().to_string();
    std::vector<XfrmMessage> heard;
    (*listener)->set_event_handler([&](XfrmEvent ev) {
        ASSERT_TRUE(ev.message) << ev.message.error().to_string();
        heard.push_back(*ev.message);
    });
    auto mig = migrate("2001:db8:1::100", "2001:db8:3::100", "2001:db8:2::100");
    auto r = request(mig);
    ASSERT_TRUE(r) << r.error().to_string();

    auto got = request(get_policy());
    ASSERT_TRUE(got) << got.error().to_string();
    const auto& p = std::get<PolicyInfo>((*got)[0].body);
    EXPECT_EQ(to_ip(AF_INET6, p.tmpls[0].saddr), ip("2001:db8:2::100"));
    EXPECT_EQ(to_ip(AF_INET6, p.tmpls[0].id.daddr), ip("2001:db8::1"));

    // The announcement was queued before the MIGRATE's ack: one barrier on
    // the listener delivers it, no waiting.
    ASSERT_TRUE(testing::drained(io_, **listener));
    ASSERT_EQ(heard.size(), 1u);
    const auto& ev = heard[0];
    ASSERT_EQ(ev.type, XFRM_MSG_MIGRATE);
    const auto& b = std::get<Migrate>(ev.body);
    const auto& sent = std::get<Migrate>(mig.body);
    ASSERT_TRUE(b.kmaddress);
    EXPECT_EQ(*b.kmaddress, *sent.kmaddress);
    ASSERT_EQ(b.migrate.size(), 1u);
    EXPECT_EQ(b.migrate[0], sent.migrate[0]);
    EXPECT_EQ(b.id.sel, sent.id.sel);
    // What the kernel announced translates to PF_KEY and back unchanged.
    auto pf = to_pfkey(ev);
    ASSERT_TRUE(pf) << pf.error().to_string();
    auto x = to_xfrm(*pf);
    ASSERT_TRUE(x);
    EXPECT_EQ(std::get<Migrate>(x->body).migrate[0], b.migrate[0]);
    (*listener)->set_event_handler(nullptr);
}

TEST_F(XfrmHost, MigrateOfMissingPolicyFailsAndChangesNothing) {
    ASSERT_TRUE(request(policy("2001:db8:3::100")));
    auto before = dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(before);
    auto r = request(migrate("2001:db8:9::9", "2001:db8:3::100", "2001:db8:2::100"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, TransportError::Kind::kernel);
    EXPECT_EQ(r.error().errno_value, ENOENT) << r.error().to_string();
    auto after = dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), before->size());
    EXPECT_EQ(std::get<PolicyInfo>((*after)[0].body).tmpls, std::get<PolicyInfo>((*before)[0].body).tmpls);
}

TEST_F(XfrmHost, EventsDuringARequestGoToTheEventHandlerBeforeItsCompletion) {
    // The requesting socket itself listens to policy events: the NEWPOLICY
    // event carries the request's seq and port id, is queued before the
    // ack, and must reach the event handler, not the request.
    auto s = XfrmSocket::open(io_, {XFRMNLGRP_POLICY});
    ASSERT_TRUE(s);
    std::vector<std::string> order;
    std::optional<XfrmMessage> event;
    (*s)->set_event_handler([&](XfrmEvent ev) {
        ASSERT_TRUE(ev.message) << ev.message.error().to_string();
        order.push_back("event " + message_type_name(ev.message->type));
        event = *ev.message;
    });
    std::optional<Result> done;
    (*s)->async_request(policy("2001:db8:3::100"), [&](Result r) {
        order.push_back("completion");
        done = std::move(r);
    });
    ASSERT_TRUE(testing::run_until(io_, [&] { return done.has_value(); }));
    ASSERT_TRUE(*done) << done->error().to_string();
    EXPECT_TRUE((*done)->empty()) << "a change answers nothing but its ack";
    ASSERT_EQ(order, (std::vector<std::string>{"event XFRM_MSG_NEWPOLICY", "completion"}));
    EXPECT_EQ(event->pid, (*s)->port_id());
    EXPECT_EQ((*s)->stats().events, 1u);
    (*s)->set_event_handler(nullptr);
}

TEST_F(XfrmHost, EventsReadWithoutAHandlerAreHeldUntilOneIsSet) {
    auto s = XfrmSocket::open(io_, {XFRMNLGRP_POLICY});
    ASSERT_TRUE(s);
    // No event handler: the NEWPOLICY event is read with the ack and held.
    ASSERT_TRUE(request(policy("2001:db8:3::100"), s->get()));
    ASSERT_TRUE(request(del_policy(), s->get()));
    std::vector<uint16_t> types;
    (*s)->set_event_handler([&](XfrmEvent ev) {
        ASSERT_TRUE(ev.message);
        types.push_back(ev.message->type);
    });
    ASSERT_TRUE(testing::run_until(io_, [&] { return types.size() == 2; }));
    EXPECT_EQ(types, (std::vector<uint16_t>{XFRM_MSG_NEWPOLICY, XFRM_MSG_DELPOLICY}));
    (*s)->set_event_handler(nullptr);
}

TEST_F(XfrmHost, OutstandingRequestsCompleteInOrderEachAnsweredAtItsSend) {
    const auto before = sock_->stats();
    // Five requests issued before the io_context runs at all.
    std::vector<std::pair<size_t, Result>> results;
    const std::vector<XfrmMessage> reqs{policy("2001:db8:3::100"), get_policy(), policy("2001:db8:3::100"),
                                        del_policy(), get_policy()};
    for (size_t i = 0; i < reqs.size(); ++i)
        sock_->async_request(reqs[i], [&results, i](Result r) { results.emplace_back(i, std::move(r)); });
    EXPECT_EQ(sock_->outstanding(), 5u);
    EXPECT_TRUE(results.empty()) << "no handler runs inside the initiating call";
    ASSERT_TRUE(testing::run_until(io_, [&] { return results.size() == 5; }));
    for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].first, i);
    EXPECT_TRUE(results[0].second) << results[0].second.error().to_string();
    ASSERT_TRUE(results[1].second);
    EXPECT_EQ(results[1].second->size(), 1u);
    ASSERT_FALSE(results[2].second);
    EXPECT_EQ(results[2].second.error().errno_value, EEXIST);
    EXPECT_TRUE(results[3].second);
    ASSERT_FALSE(results[4].second);
    EXPECT_EQ(results[4].second.error().errno_value, ENOENT);
    const auto& after = sock_->stats();
    EXPECT_EQ(after.datagrams_sent - before.datagrams_sent, 5u);
    // Linux acks inside sendmsg: every answer was there when the socket
    // read right after its send; no timer was needed.
    EXPECT_EQ(after.answered_at_send - before.answered_at_send, 5u);
    EXPECT_EQ(after.timeouts, 0u);
    EXPECT_EQ(sock_->outstanding(), 0u);
}

TEST_F(XfrmHost, BatchIsOneDatagramWithOneResultPerRequest) {
    auto bad = policy("2001:db8:3::100", "2001:db8:1::102");
    std::get<PolicyInfo>(bad.body).info.dir = 7;
    std::vector<XfrmMessage> batch{policy("2001:db8:3::100"), policy("2001:db8:3::100"),
                                   policy("2001:db8:3::100", "2001:db8:1::101"), bad};
    const auto sent_before = sock_->stats().datagrams_sent;
    auto r = testing::await<std::vector<Result>>(io_, [&](auto h) { sock_->async_request_batch(batch, h); });
    ASSERT_TRUE(r);
    EXPECT_EQ(sock_->stats().datagrams_sent - sent_before, 1u);
    ASSERT_EQ(r->size(), 4u);
    EXPECT_TRUE((*r)[0]) << (*r)[0].error().to_string();
    ASSERT_FALSE((*r)[1]);
    EXPECT_EQ((*r)[1].error().errno_value, EEXIST);
    EXPECT_TRUE((*r)[2]) << (*r)[2].error().to_string();
    ASSERT_FALSE((*r)[3]);
    EXPECT_EQ((*r)[3].error().errno_value, EINVAL);
    EXPECT_NE((*r)[3].error().ext_ack.find("direction"), std::string::npos) << (*r)[3].error().to_string();
    // The kernel went on after the refused message: both good policies are in.
    auto d = dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), 2u);
}

TEST_F(XfrmHost, DumpsIssuedTogetherRunOneAfterTheOther) {
    for (int i = 0; i < 20; ++i) {
        const std::string hoa = "2001:db8:1::" + std::to_string(200 + i);
        ASSERT_TRUE(request(policy("2001:db8:3::100", hoa.c_str())));
    }
    std::vector<Result> dumps;
    for (int i = 0; i < 3; ++i) sock_->async_dump(XFRM_MSG_GETPOLICY, [&](Result r) { dumps.push_back(std::move(r)); });
    ASSERT_TRUE(testing::run_until(io_, [&] { return dumps.size() == 3; }));
    for (const auto& d : dumps) {
        ASSERT_TRUE(d) << d.error().to_string();
        EXPECT_EQ(d->size(), 20u);
    }
}

TEST_F(XfrmHost, OverrunIsReportedAndRequestsWhoseAckWasDroppedTimeOut) {
    // A socket that also listens to policy events, with the smallest
    // receive buffer: 64 NEWPOLICY in one batch make the kernel queue an
    // event and an ack per request inside one sendmsg; most are dropped.
    auto s = XfrmSocket::open(io_, {XFRMNLGRP_POLICY});
    ASSERT_TRUE(s);
    const int tiny = 1;
    ASSERT_EQ(::setsockopt((*s)->native_handle(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny), 0);
    int overruns = 0;
    (*s)->set_event_handler([&](XfrmEvent ev) {
        if (!ev.message && ev.message.error().errno_value == ENOBUFS) ++overruns;
    });
    std::vector<XfrmMessage> batch;
    for (int i = 0; i < 64; ++i) {
        const std::string hoa = "2001:db8:1::" + std::to_string(1000 + i);
        batch.push_back(policy("2001:db8:3::100", hoa.c_str()));
    }
    auto r = testing::await<std::vector<Result>>(
        io_, [&](auto h) { (*s)->async_request_batch(batch, h, 200ms); });
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 64u);
    size_t ok = 0, timed_out = 0;
    for (const auto& x : *r) {
        if (x) ++ok;
        else if (x.error().kind == TransportError::Kind::timeout) ++timed_out;
        else ADD_FAILURE() << x.error().to_string();
    }
    EXPECT_GT(ok, 0u);
    EXPECT_GT(timed_out, 0u);
    EXPECT_EQ(ok + timed_out, 64u);
    EXPECT_EQ((*s)->stats().timeouts, timed_out);
    EXPECT_GE(overruns, 1) << "the kernel's ENOBUFS reaches the event handler";
    std::cout << ok << " acks read, " << timed_out << " dropped and timed out, " << overruns << " overrun(s)\n";
    // The kernel did all 64: only the answers were lost.
    auto d = dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), 64u);
    (*s)->set_event_handler(nullptr);
}

TEST_F(XfrmHost, RunReturnsOnceNothingIsOutstanding) {
    // Without an event handler the socket stops reading when its last
    // request completes, so a plain run() returns.
    auto s = XfrmSocket::open(io_, {XFRMNLGRP_POLICY});
    ASSERT_TRUE(s);
    bool done = false;
    (*s)->async_request(policy("2001:db8:3::100"), [&](Result r) { done = bool(r); });
    io_.restart();
    const auto t0 = std::chrono::steady_clock::now();
    io_.run_for(5s);
    EXPECT_TRUE(done);
    EXPECT_TRUE(io_.stopped()) << "the io_context still had work";
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST_F(XfrmHost, DestroyingTheSocketCancelsWhatIsOutstanding) {
    auto s = XfrmSocket::open(io_);
    ASSERT_TRUE(s);
    std::optional<Result> r;
    (*s)->async_request(policy("2001:db8:3::100"), [&](Result x) { r = std::move(x); });
    s->reset();
    ASSERT_TRUE(testing::run_until(io_, [&] { return r.has_value(); }));
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().errno_value, ECANCELED);
    // Never sent.
    auto d = dump(XFRM_MSG_GETPOLICY);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->empty());
}

TEST_F(XfrmHost, KmmonitorPrintsOneJsonLinePerEvent) {
    // kmmonitor runs in this namespace (a child inherits it); PF_KEY is not
    // on the build host, so --no-pfkey. It says "ready" on a pipe once it
    // has joined the groups: no guessing how long that takes.
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const std::string cmd = std::string(KMMONITOR_PATH) + " --no-pfkey -j --count 2 --timeout 10 --ready-fd " +
                            std::to_string(ready[1]) + " policy";
    FILE* out = ::popen(cmd.c_str(), "r");
    ASSERT_NE(out, nullptr);
    ::close(ready[1]);
    char word[16] = {};
    ASSERT_EQ(::read(ready[0], word, sizeof word - 1), 6) << "kmmonitor never said ready";
    EXPECT_STREQ(word, "ready\n");
    ::close(ready[0]);
    // Two policy events (and an ack kmmonitor does not see).
    ASSERT_TRUE(request(policy("2001:db8:3::100")));
    ASSERT_TRUE(request(XfrmMessage{XFRM_MSG_FLUSHPOLICY, 0, 0, 0, PolicyFlush{}, {}}));
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
