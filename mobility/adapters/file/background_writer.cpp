#include "mobility/adapters/file/background_writer.hpp"

#include "mobility/adapters/file/atomic_file.hpp"

namespace nemokey::mobility::adapters {

BackgroundFileWriter::BackgroundFileWriter(std::filesystem::path path)
    : path_(std::move(path)), thread_([this] { run(); }) {}

BackgroundFileWriter::~BackgroundFileWriter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void BackgroundFileWriter::write(std::string contents) {
    write_encoded([contents = std::move(contents)] { return contents; });
}

void BackgroundFileWriter::write_encoded(std::function<std::string()> encode) {
    {
        std::lock_guard lock(mutex_);
        pending_ = std::move(encode);
    }
    wake_.notify_all();
}

void BackgroundFileWriter::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return !pending_ && !busy_; });
}

uint64_t BackgroundFileWriter::written() const {
    std::lock_guard lock(mutex_);
    return written_;
}
uint64_t BackgroundFileWriter::failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
}
std::string BackgroundFileWriter::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

void BackgroundFileWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return pending_ || stopping_; });
        if (!pending_) break;   // stopping with nothing queued
        std::function<std::string()> encode = std::move(*pending_);
        pending_.reset();
        busy_ = true;
        lock.unlock();
        std::string error;
        try {
            write_file_atomically(path_, encode());
        } catch (const std::exception& e) {
            error = e.what();
        }
        lock.lock();
        busy_ = false;
        if (error.empty()) {
            ++written_;
        } else {
            ++failed_;
            last_error_ = error;
        }
        if (!pending_) idle_.notify_all();
    }
    idle_.notify_all();
}

}  // namespace nemokey::mobility::adapters
