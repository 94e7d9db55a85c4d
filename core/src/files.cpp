#include "dipole/core/files.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"

namespace dipole {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text_atomic(const std::string& path, const std::string& text) {
  npz::detail::write_file_atomic(path, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace dipole
