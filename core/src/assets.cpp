#include "dipole/sdk/assets.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "dipole/errors.hpp"

namespace dipole {

namespace fs = std::filesystem;

std::vector<std::string> asset_search_path() {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("DIPOLE_ASSETS"); env != nullptr && *env != '\0') roots.emplace_back(env);
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return roots;  // no usable working directory: only the environment variable remains
  roots.push_back((cwd / ".." / "shared" / "assets").lexically_normal().string());
  for (fs::path dir = cwd;; dir = dir.parent_path()) {
    roots.push_back((dir / "shared" / "assets").string());
    if (!dir.has_relative_path()) break;  // reached the root directory
  }
  return roots;
}

std::string find_asset(const std::string& relative) {
  return find_asset(relative, asset_search_path());
}

std::string find_asset(const std::string& relative, const std::vector<std::string>& roots) {
  std::string searched;
  for (const auto& root : roots) {
    const fs::path candidate = fs::path(root) / relative;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return fs::absolute(candidate, ec).lexically_normal().string();
    searched += "\n  " + candidate.string();
  }
  const char* env = std::getenv("DIPOLE_ASSETS");
  const std::string env_note = (env != nullptr && *env != '\0')
                                   ? std::string("DIPOLE_ASSETS is set to '") + env + "'"
                                   : std::string("DIPOLE_ASSETS is not set");
  throw DataError("asset '" + relative + "' not found (" + env_note +
                  "); searched:" + (searched.empty() ? std::string("\n  (no search roots)") : searched) +
                  "\nSet DIPOLE_ASSETS to a directory containing dm_control/ (and ogbench/), "
                  "see docs/assets.md for how to obtain the files.");
}

}  // namespace dipole
