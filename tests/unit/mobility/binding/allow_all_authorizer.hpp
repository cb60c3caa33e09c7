// An Authorizer that authorises every request, answering `configured` as
// the prefixes of implicit mode (tests, benchmarks, VM probes).
#pragma once

#include <utility>
#include <vector>

#include "mobility/core/binding/binding_cache.hpp"

namespace nemokey::mobility::binding::testing {

class AllowAllAuthorizer final : public Authorizer {
public:
    explicit AllowAllAuthorizer(std::vector<net::Prefix> configured = {}) : configured_(std::move(configured)) {}
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        AuthorizationAnswer a;
        a.verdict = AuthorizationVerdict::authorized;
        a.configured_prefixes = configured_;
        return a;
    }

private:
    std::vector<net::Prefix> configured_;
};

}  // namespace nemokey::mobility::binding::testing
