// libFuzzer target: an .npz archive's bytes through list_npz, read_npz and read_npz_member (libzip
// and the member-size limits included).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = dipole::fuzz::scratch_file("input.npz", data, size);
  try {
    const auto keys = dipole::npz::list_npz(path);
    const auto arrays = dipole::npz::read_npz(path);
    if (!keys.empty()) dipole::npz::read_npz_member(path, keys.front());
  } catch (const dipole::Error&) {
  }
  return 0;
}
