// Checks a shared library's ELF file before dlopen (docs/reliability.md, "Plugins"): a file cut
// short by an interrupted copy would otherwise be mapped past its end and kill the process with
// SIGBUS inside dlopen, and a library built with sanitizers would abort in the sanitizer runtime
// when the host process is not built with the same sanitizer.
#pragma once

#include <string>

namespace dipole::detail {

/// Throws PluginError naming `path` when the file is not a complete ELF shared library for this
/// machine (magic, class, byte order, machine, type; program headers, loadable segments and
/// section headers inside the file), or when it needs sanitizer runtime symbols (__asan_*,
/// __tsan_*, __msan_*, __hwasan_*, __ubsan_*) that this process does not provide.
void check_elf_library(const std::string& path);

}  // namespace dipole::detail
