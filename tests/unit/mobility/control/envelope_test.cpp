// The control envelope: requests parsed with a clear error for each kind
// of bad input, dispatch with Kea's result codes, list-commands built in.
#include "mobility/daemon/control/envelope.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace nemokey::mobility::control {
namespace {

using nlohmann::json;

Answer answer_of(const std::string& text) {
    auto a = parse_answer(text);
    EXPECT_TRUE(std::holds_alternative<Answer>(a)) << text;
    return std::holds_alternative<Answer>(a) ? std::get<Answer>(a) : Answer{};
}

CommandRegistry registry() {
    CommandRegistry r;
    EXPECT_TRUE(r.add("status-get", "daemon status", [](const json&) {
        return Answer{ResultCode::ok, "running", json{{"bindings", 3}}};
    }));
    EXPECT_TRUE(r.add("binding-get", "one binding", [](const json& args) {
        if (!args.contains("home-address")) return Answer{ResultCode::error, "'home-address' missing", std::nullopt};
        return Answer{ResultCode::empty, "no binding for " + args["home-address"].get<std::string>(), std::nullopt};
    }));
    EXPECT_TRUE(r.add("config-test", "throws", [](const json&) -> Answer { throw std::runtime_error("boom"); }));
    return r;
}

TEST(Envelope, RequestRoundTrip) {
    Request r{"binding-get", json{{"home-address", "2001:db8:1::100"}}};
    auto parsed = parse_request(encode(r));
    ASSERT_TRUE(std::holds_alternative<Request>(parsed));
    EXPECT_EQ(std::get<Request>(parsed).command, "binding-get");
    EXPECT_EQ(std::get<Request>(parsed).arguments, r.arguments);
}

struct BadRequest {
    const char* text;
    const char* message;
};

class EnvelopeBadRequest : public ::testing::TestWithParam<BadRequest> {};

TEST_P(EnvelopeBadRequest, AnswersResult1WithAClearText) {
    const auto a = answer_of(registry().handle(GetParam().text));
    EXPECT_EQ(a.result, ResultCode::error);
    EXPECT_NE(a.text.find(GetParam().message), std::string::npos) << a.text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EnvelopeBadRequest,
    ::testing::Values(BadRequest{"{", "not JSON"}, BadRequest{"[1,2]", "must be a JSON object, not array"},
                      BadRequest{"{}", "'command' missing"}, BadRequest{"{\"command\": 5}", "'command' must be a string"},
                      BadRequest{"{\"command\": \"status-get\", \"arguments\": [1]}", "'arguments' must be an object"},
                      BadRequest{"{\"command\": \"status-get\", \"service\": [\"x\"]}", "unknown key 'service'"}));

TEST(Envelope, OversizedRequestIsRefusedBeforeParsing) {
    const std::string big(max_request_bytes + 1, ' ');
    const auto a = answer_of(registry().handle(big));
    EXPECT_EQ(a.result, ResultCode::error);
    EXPECT_NE(a.text.find("over the limit"), std::string::npos);
}

TEST(Envelope, DispatchUsesKeaResultCodes) {
    const auto r = registry();
    auto a = answer_of(r.handle(R"({"command": "status-get"})"));
    EXPECT_EQ(a.result, ResultCode::ok);
    EXPECT_EQ((*a.arguments)["bindings"], 3);
    a = answer_of(r.handle(R"({"command": "binding-get", "arguments": {"home-address": "2001:db8:1::9"}})"));
    EXPECT_EQ(a.result, ResultCode::empty);
    a = answer_of(r.handle(R"({"command": "tunnel-flush"})"));
    EXPECT_EQ(a.result, ResultCode::unsupported);
    EXPECT_NE(a.text.find("'tunnel-flush'"), std::string::npos);
    a = answer_of(r.handle(R"({"command": "config-test"})"));
    EXPECT_EQ(a.result, ResultCode::error) << "a throwing handler is an error answer, not a crash";
    EXPECT_NE(a.text.find("boom"), std::string::npos);
}

TEST(Envelope, ListCommandsIsBuiltIn) {
    const auto a = answer_of(registry().handle(R"({"command": "list-commands"})"));
    ASSERT_EQ(a.result, ResultCode::ok);
    std::vector<std::string> names;
    for (const auto& c : (*a.arguments)["commands"]) names.push_back(c["command"].get<std::string>());
    EXPECT_EQ(names, (std::vector<std::string>{"list-commands", "binding-get", "config-test", "status-get"}));
}

TEST(Envelope, CommandNamesAreKebabCase) {
    CommandRegistry r;
    const auto h = [](const json&) { return Answer{}; };
    EXPECT_TRUE(r.add("binding-get", "", h));
    EXPECT_FALSE(r.add("binding-get", "", h)) << "taken";
    EXPECT_FALSE(r.add("Binding-Get", "", h));
    EXPECT_FALSE(r.add("binding_get", "", h));
    EXPECT_FALSE(r.add("-binding", "", h));
    EXPECT_FALSE(r.add("binding--get", "", h));
    EXPECT_FALSE(r.add("list-commands", "", h)) << "built in";
}

TEST(Envelope, AnswerParsingRejectsBadAnswers) {
    EXPECT_TRUE(std::holds_alternative<RequestError>(parse_answer("{}")));
    EXPECT_TRUE(std::holds_alternative<RequestError>(parse_answer(R"({"result": 7})")));
    EXPECT_TRUE(std::holds_alternative<RequestError>(parse_answer("nope")));
}

TEST(Envelope, HandlerTextWithInvalidUtf8StillEncodes) {
    CommandRegistry r;
    r.add("status-get", "", [](const json&) { return Answer{ResultCode::ok, std::string("bad \xff byte"), std::nullopt}; });
    const auto a = answer_of(r.handle(R"({"command": "status-get"})"));
    EXPECT_EQ(a.result, ResultCode::ok);
}

}  // namespace
}  // namespace nemokey::mobility::control
