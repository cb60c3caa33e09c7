// Replaces a file atomically (write_file_atomically) on a thread of its
// own, so the daemon's event loop never waits for fsync, nor for encoding
// the content when it is handed over as a function (a home agent's binding
// cache snapshot: 52 ms to encode at 10 000 bindings, natively). Latest
// wins: a newer content queued while a write runs replaces the older one
// still waiting (which is then never encoded). The destructor writes what
// is queued, then joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace nemokey::mobility::adapters {

class BackgroundFileWriter {
public:
    explicit BackgroundFileWriter(std::filesystem::path path);
    ~BackgroundFileWriter();
    BackgroundFileWriter(const BackgroundFileWriter&) = delete;
    BackgroundFileWriter& operator=(const BackgroundFileWriter&) = delete;

    void write(std::string contents);
    // `encode` runs on the writer's thread: it must own what it encodes.
    void write_encoded(std::function<std::string()> encode);
    // Writes queued so far have reached the disk (or failed) when it returns.
    void flush();
    uint64_t written() const;
    uint64_t failed() const;
    std::string last_error() const;

private:
    void run();
    std::filesystem::path path_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::optional<std::function<std::string()>> pending_;
    bool busy_ = false;
    bool stopping_ = false;
    uint64_t written_ = 0;
    uint64_t failed_ = 0;
    std::string last_error_;
    std::thread thread_;
};

}  // namespace nemokey::mobility::adapters
