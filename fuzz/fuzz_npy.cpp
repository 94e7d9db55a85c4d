// libFuzzer target: one .npy file's bytes through the header parser and the data checks. Any exception
// other than dipole::Error, any sanitizer report, hang or oversized allocation is a finding.
#include <cstddef>
#include <cstdint>

#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const dipole::npz::Array array = dipole::npz::parse_npy(data, size, "fuzz.npy");
    // What parses must serialise and parse back to the same array.
    const auto bytes = dipole::npz::serialize_npy(array);
    const dipole::npz::Array again = dipole::npz::parse_npy(bytes.data(), bytes.size(), "again.npy");
    if (again.shape != array.shape || again.data != array.data || again.dtype != array.dtype)
      __builtin_trap();
  } catch (const dipole::Error&) {
  }
  return 0;
}
