// Nesting component states inside a composite's state (an algorithm holds its critic's, denoisers'
// ... states under "critic.", "denoiser.", ...): stable, readable checkpoint keys.
#pragma once

#include <string>

#include "dipole/types.hpp"

namespace dipole {

/// Adds every entry of `part` to `out` under `prefix` + key (prefix usually ends with '.').
inline void add_prefixed(StateDict& out, const std::string& prefix, const StateDict& part) {
  for (const auto& [key, value] : part) out[prefix + key] = value;
}

/// The entries of `state` whose key starts with `prefix`, with the prefix removed.
inline StateDict strip_prefix(const StateDict& state, const std::string& prefix) {
  StateDict out;
  for (auto it = state.lower_bound(prefix);
       it != state.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out[it->first.substr(prefix.size())] = it->second;
  return out;
}

}  // namespace dipole
