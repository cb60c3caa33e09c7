// Replaces a file atomically (write_file_atomically) on a thread of its
// own, so the daemon's event loop never waits for fsync. Latest wins: a
// newer content queued while a write runs replaces the older one still
// waiting. The destructor writes what is queued, then joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
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
    std::optional<std::string> pending_;
    bool busy_ = false;
    bool stopping_ = false;
    uint64_t written_ = 0;
    uint64_t failed_ = 0;
    std::string last_error_;
    std::thread thread_;
};

}  // namespace nemokey::mobility::adapters
