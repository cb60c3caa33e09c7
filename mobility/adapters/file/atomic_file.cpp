#include "mobility/adapters/file/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nemokey::mobility::adapters {

namespace {

std::string failure(const char* what, const std::filesystem::path& path, int error) {
    return std::string(what) + " '" + path.string() + "': " + std::strerror(error);
}

// Closes the descriptor on every path out.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw FileError(failure("cannot write", path, errno));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents, unsigned mode) {
    const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
    std::string temp = (folder / ("." + path.filename().string() + ".XXXXXX")).string();
    Fd fd(::mkstemp(temp.data()));
    if (fd.get() < 0) throw FileError(failure("cannot create a temporary file for", path, errno));
    try {
        if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) throw FileError(failure("cannot chmod", temp, errno));
        write_all(fd.get(), contents, temp);
        if (::fsync(fd.get()) != 0) throw FileError(failure("cannot fsync", temp, errno));
        if (::close(fd.release()) != 0) throw FileError(failure("cannot close", temp, errno));
        if (::rename(temp.c_str(), path.c_str()) != 0) throw FileError(failure("cannot rename into", path, errno));
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) throw FileError(failure("cannot fsync the folder of", path, errno));
}

std::string read_file(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw FileError(failure("cannot open", path, errno));
    std::string out;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw FileError(failure("cannot read", path, errno));
        }
        if (n == 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

bool file_exists(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

}  // namespace nemokey::mobility::adapters
