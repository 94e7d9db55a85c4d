// Locating model files (MuJoCo XMLs and their includes) that Dipole never ships: see docs/assets.md.
#pragma once

#include <string>
#include <vector>

namespace dipole {

/// The asset roots searched, in order, each a directory expected to hold `dm_control/`, `ogbench/`...:
///   1. $DIPOLE_ASSETS (if set and non-empty);
///   2. `../shared/assets` relative to the current directory;
///   3. `<dir>/shared/assets` for every ancestor `<dir>` of the current directory (nearest first),
///      which finds the shared assets beside a source checkout from any build directory inside it.
/// Roots are listed whether or not they exist (the error message shows every place searched).
std::vector<std::string> asset_search_path();

/// Absolute path of `relative` (e.g. "dm_control/suite/walker.xml") under the first root that holds
/// it. Throws DataError listing every place searched and pointing to docs/assets.md.
std::string find_asset(const std::string& relative);

/// Same, over an explicit list of roots (tests, or callers with their own search path).
std::string find_asset(const std::string& relative, const std::vector<std::string>& roots);

}  // namespace dipole
