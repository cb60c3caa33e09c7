#include "conf/net/address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace nemokey::net {

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view text) {
    if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    std::string s(text);
    Ipv6Address a;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
}

std::string Ipv6Address::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

bool Ipv6Address::is_unspecified() const {
    for (uint8_t b : bytes)
        if (b) return false;
    return true;
}
bool Ipv6Address::is_link_local() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
bool Ipv6Address::is_multicast() const { return bytes[0] == 0xff; }

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
    if (text.size() >= INET_ADDRSTRLEN) return std::nullopt;
    std::string s(text);
    Ipv4Address a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
}

std::string Ipv4Address::to_string() const {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    return buf;
}

uint32_t Ipv4Address::to_host_order() const {
    return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
        if (auto a = Ipv6Address::parse(text)) return IpAddress{*a};
        return std::nullopt;
    }
    if (auto a = Ipv4Address::parse(text)) return IpAddress{*a};
    return std::nullopt;
}

std::string to_string(const IpAddress& address) {
    return std::visit([](const auto& a) { return a.to_string(); }, address);
}

namespace {

// The address bytes of either family, for bitwise prefix arithmetic.
std::pair<const uint8_t*, size_t> raw(const IpAddress& a) {
    if (auto* v6 = std::get_if<Ipv6Address>(&a)) return {v6->bytes.data(), 16};
    const auto& v4 = std::get<Ipv4Address>(a);
    return {v4.bytes.data(), 4};
}

bool same_leading_bits(const IpAddress& a, const IpAddress& b, unsigned bits) {
    if (a.index() != b.index()) return false;
    auto [pa, n] = raw(a);
    auto [pb, m] = raw(b);
    (void)m;
    unsigned full = bits / 8, rest = bits % 8;
    for (unsigned i = 0; i < full && i < n; ++i)
        if (pa[i] != pb[i]) return false;
    if (rest && full < n) {
        uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
        if ((pa[full] & mask) != (pb[full] & mask)) return false;
    }
    return true;
}

}  // namespace

std::optional<Prefix> Prefix::parse(std::string_view text) {
    auto slash = text.find('/');
    auto address = parse_ip_address(text.substr(0, slash));
    if (!address) return std::nullopt;
    Prefix p{*address, 0};
    p.length = p.max_length();
    if (slash == std::string_view::npos) return p;
    auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || end != len_text.data() + len_text.size() || len_text.empty() ||
        len > p.max_length())
        return std::nullopt;
    p.length = static_cast<uint8_t>(len);
    return p;
}

std::string Prefix::to_string() const {
    return net::to_string(address) + "/" + std::to_string(length);
}

Prefix Prefix::normalized() const {
    Prefix p = *this;
    auto clear = [this](auto& bytes) {
        for (size_t i = 0; i < bytes.size(); ++i) {
            unsigned first_bit = static_cast<unsigned>(i * 8);
            if (first_bit >= length)
                bytes[i] = 0;
            else if (length - first_bit < 8)
                bytes[i] &= static_cast<uint8_t>(0xff << (8 - (length - first_bit)));
        }
    };
    std::visit([&](auto& a) { clear(a.bytes); }, p.address);
    return p;
}

bool Prefix::contains(const IpAddress& a) const { return same_leading_bits(address, a, length); }

bool Prefix::contains(const Prefix& p) const {
    return p.length >= length && same_leading_bits(address, p.address, length);
}

bool Prefix::overlaps(const Prefix& p) const { return contains(p) || p.contains(*this); }

}  // namespace nemokey::net
