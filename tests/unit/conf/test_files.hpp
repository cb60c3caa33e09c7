// Helpers for the conf tests: a scratch folder with the files a
// configuration names, and positions computed from the text itself.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace nemokey::conf::testing {

class ScratchDir {
public:
    ScratchDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::path(::testing::TempDir()) /
                ("nemokey-conf-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    std::filesystem::path write(const std::string& relative, std::string_view text) const {
        auto p = path_ / relative;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }

private:
    std::filesystem::path path_;
};

// "LINE:COL" (1-based) of the first occurrence of NEEDLE in TEXT, after
// the end of the first occurrence of AFTER when given.
inline std::string pos(std::string_view text, std::string_view needle, std::string_view after = {}) {
    size_t start = after.empty() ? 0 : text.find(after);
    start = start == std::string_view::npos ? 0 : start + after.size();
    size_t at = text.find(needle, start);
    if (at == std::string_view::npos) return "?:?";
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return std::to_string(line) + ":" + std::to_string(col);
}

// TEXT with the first FROM replaced by TO (fails the test if absent).
inline std::string replace(std::string text, std::string_view from, std::string_view to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "test text lacks: " << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

}  // namespace nemokey::conf::testing
