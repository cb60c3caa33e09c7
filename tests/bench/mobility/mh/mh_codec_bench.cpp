// MH codec throughput: BU decode (aim: over 1 million per second per core)
// and encode, plain and with checksum / IPv6 packet around it.
#include <benchmark/benchmark.h>

#include "mobility/core/mh/packet.hpp"

using namespace nemokey::mobility::mh;

namespace {

Ipv6Address v6(const char* s) { return *Ipv6Address::parse(s); }

// A home registration BU as a mobile node sends it (A, H, K; no options).
BindingUpdate home_registration() {
    BindingUpdate bu;
    bu.sequence_number = 4660;
    bu.acknowledge = bu.home_registration = bu.key_management_mobility_capability = true;
    bu.lifetime = 150;
    return bu;
}

// A mobile router's BU with two Mobile Network Prefixes (RFC 3963).
BindingUpdate nemo_registration() {
    BindingUpdate bu = home_registration();
    bu.mobile_router = true;
    bu.options = {MobileNetworkPrefix{64, v6("2001:db8:100:1::")}, MobileNetworkPrefix{64, v6("2001:db8:100:2::")}};
    return bu;
}

const PseudoHeader kPseudo{v6("2001:db8:1::100"), v6("2001:db8:1::1")};

void decode_bench(benchmark::State& state, const BindingUpdate& bu, bool checksum) {
    const auto bytes = encode(bu, {kPseudo}).value();
    DecodeOptions o;
    if (checksum) o.verify_checksum = kPseudo;
    for (auto _ : state) {
        auto d = decode(bytes, o);
        benchmark::DoNotOptimize(d);
        if (!d) state.SkipWithError("decode failed");
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}

void BM_DecodeBindingUpdate(benchmark::State& s) { decode_bench(s, home_registration(), false); }
void BM_DecodeBindingUpdateChecksum(benchmark::State& s) { decode_bench(s, home_registration(), true); }
void BM_DecodeBindingUpdateNemo(benchmark::State& s) { decode_bench(s, nemo_registration(), true); }

void BM_EncodeBindingUpdate(benchmark::State& state) {
    const Message m = home_registration();
    std::vector<uint8_t> out;
    for (auto _ : state) {
        auto r = encode_into(m, out, {kPseudo});
        benchmark::DoNotOptimize(out.data());
        if (!r) state.SkipWithError("encode failed");
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_EncodeBindingUpdateNemo(benchmark::State& state) {
    const Message m = nemo_registration();
    std::vector<uint8_t> out;
    for (auto _ : state) {
        auto r = encode_into(m, out, {kPseudo});
        benchmark::DoNotOptimize(out.data());
        if (!r) state.SkipWithError("encode failed");
    }
    state.SetItemsProcessed(state.iterations());
}

// The whole packet as the home agent receives it: IPv6 header, Home Address
// option, MH with checksum over the home address.
void BM_DecodeBindingUpdatePacket(benchmark::State& state) {
    MhPacket p;
    p.source = v6("2001:db8:ff::10");
    p.destination = v6("2001:db8:1::1");
    p.home_address = HomeAddressOption{v6("2001:db8:1::100")};
    p.message = home_registration();
    const auto bytes = encode_packet(p).value();
    for (auto _ : state) {
        auto d = decode_packet(bytes);
        benchmark::DoNotOptimize(d);
        if (!d) state.SkipWithError("decode failed");
    }
    state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_DecodeBindingUpdate);
BENCHMARK(BM_DecodeBindingUpdateChecksum);
BENCHMARK(BM_DecodeBindingUpdateNemo);
BENCHMARK(BM_DecodeBindingUpdatePacket);
BENCHMARK(BM_EncodeBindingUpdate);
BENCHMARK(BM_EncodeBindingUpdateNemo);
BENCHMARK_MAIN();
