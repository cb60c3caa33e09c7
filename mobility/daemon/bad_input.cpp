#include "mobility/daemon/bad_input.hpp"

#include <algorithm>
#include <cctype>

namespace nemokey::mobility::daemon {

std::string malformed_counter(const mh::DecodeError& error) {
    std::string kind = mh::to_string(error.kind);
    std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) {
        return c == ' ' ? '-' : static_cast<char>(std::tolower(c));
    });
    return "drop.mh-malformed." + kind;
}

std::optional<BindingErrorReply> binding_error_reply(const mh::DecodeError& error,
                                                     const adapters::ReceivedMobilityHeader& m) {
    const net::Ipv6Address home_address = m.home_address_option ? m.source : net::Ipv6Address{};
    auto message = mh::binding_error_for(error, home_address);
    if (!message) return std::nullopt;
    return BindingErrorReply{m.destination, m.home_address_option.value_or(m.source), *message};
}

bool RateLimit::allow(Clock::time_point now) {
    if (last_) {
        const std::chrono::duration<double> elapsed = now - *last_;
        tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed.count()) * rate_);
    }
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

}  // namespace nemokey::mobility::daemon
