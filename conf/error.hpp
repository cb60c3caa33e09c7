// Configuration errors as values: every problem found in a configuration is
// one ConfigError naming the file, line and column, never an exception.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nemokey::conf {

// Where a configuration element was written; line and column start at 1,
// 0 means "the file as a whole" (e.g. a file that cannot be read).
struct SourcePosition {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;

    // "FILE:LINE:COL", or "FILE" when no line is known.
    std::string to_string() const;
};

// One sentence: "FILE:LINE:COL: what is wrong, quoting the bad value (expected ...)".
struct ConfigError {
    SourcePosition where;
    std::string message;

    std::string to_string() const;
};

using ConfigErrors = std::vector<ConfigError>;

}  // namespace nemokey::conf
