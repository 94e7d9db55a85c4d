// Small file helpers: whole-file text reads and atomic writes (temp file + rename).
#pragma once

#include <string>

namespace dipole {

/// Read a whole file; DataError naming the path if it cannot be read.
std::string read_text(const std::string& path);
/// Write `text` to `path` atomically: a reader sees the old or the new content, never a mix.
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace dipole
