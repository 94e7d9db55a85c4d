// libFuzzer target: the ExORL episode reader. The input's first line is the file name
// (<prefix>_<index>_<length>.npz), the rest the file's bytes: name parsing, the claimed-length bound
// and read_episode's validation against a small domain (obs 3, action 2, physics 4).
#include <cstddef>
#include <cstdint>
#include <string>

#include "dipole/errors.hpp"
#include "exorl_format.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string::npos || newline > 200) return 0;
  const std::string name = input.substr(0, newline);
  auto file = dipole::exorl::parse_file_name(name);
  if (!file) return 0;
  const std::string bytes = input.substr(newline + 1);
  file->path = dipole::fuzz::scratch_file("episode.npz", reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                          bytes.size());
  file->bytes = bytes.size();
  const dipole::exorl::DomainSizes sizes{"fuzzdomain", 3, 2, 4};
  try {
    dipole::exorl::check_claimed_length(*file, sizes);
    dipole::exorl::read_episode(*file, sizes);
  } catch (const dipole::Error&) {
  }
  return 0;
}
