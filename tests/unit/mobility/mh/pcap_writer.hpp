// Writes packets to a classic pcap file (for the tshark oracle test and the
// fuzz seed corpus): link type 101 (raw IP) or 1 (Ethernet).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mh_test {

class PcapWriter {
public:
    PcapWriter(const std::string& path, uint32_t link_type = 101) : f_(std::fopen(path.c_str(), "wb")) {
        if (!f_) return;
        put32(0xa1b2c3d4);  // magic, microsecond timestamps
        put16(2);
        put16(4);
        put32(0);           // thiszone
        put32(0);           // sigfigs
        put32(65535);       // snaplen
        put32(link_type);
    }
    ~PcapWriter() {
        if (f_) std::fclose(f_);
    }
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;
    bool ok() const { return f_ != nullptr; }

    void write(const std::vector<uint8_t>& frame) {
        put32(1700000000u + count_);  // ts_sec: one packet per second
        put32(0);
        put32(static_cast<uint32_t>(frame.size()));
        put32(static_cast<uint32_t>(frame.size()));
        std::fwrite(frame.data(), 1, frame.size(), f_);
        ++count_;
    }
    uint32_t count() const { return count_; }

private:
    // pcap headers are in the writer's byte order; the magic tells readers.
    void put32(uint32_t v) { std::fwrite(&v, 4, 1, f_); }
    void put16(uint16_t v) { std::fwrite(&v, 2, 1, f_); }
    std::FILE* f_;
    uint32_t count_ = 0;
};

}  // namespace mh_test
