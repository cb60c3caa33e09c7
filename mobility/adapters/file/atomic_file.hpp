// Files the daemon keeps across restarts (binding snapshots,
// drafts-notes/snapshot-format.md): read whole, or replaced atomically so a
// crash at any moment leaves either the old file or the new one, never a
// mix. Adapter: failures are exceptions carrying where they were raised.
#pragma once

#include <filesystem>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nemokey::mobility::adapters {

class FileError : public std::runtime_error {
public:
    FileError(const std::string& what, std::source_location where = std::source_location::current())
        : std::runtime_error(what), where_(where) {}
    const std::source_location& where() const { return where_; }

private:
    std::source_location where_;
};

// Writes `contents` to a temporary file in the same folder (mode `mode`,
// default 0600: a snapshot names every node's addresses), fsyncs it,
// renames it over `path` and fsyncs the folder (rename(2) is atomic within
// a file system; the folder's fsync makes the new name durable).
void write_file_atomically(const std::filesystem::path& path, std::string_view contents, unsigned mode = 0600);

// The whole file; FileError if it cannot be read (a missing file too:
// check file_exists() first).
std::string read_file(const std::filesystem::path& path);

// Whether `path` exists (a daemon without a snapshot starts fresh).
bool file_exists(const std::filesystem::path& path);

}  // namespace nemokey::mobility::adapters
