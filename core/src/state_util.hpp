// Private helpers for state()/load_state() implementations in core.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "dipole/errors.hpp"
#include "dipole/types.hpp"

namespace dipole::detail {

inline std::string shape_string(at::IntArrayRef sizes) {
  std::string out = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

/// The entry `key` of `state`, checked against `expected`'s shape; throws DataError naming the key.
inline const at::Tensor& state_entry(const StateDict& state, const std::string& key,
                                     at::IntArrayRef expected) {
  auto it = state.find(key);
  if (it == state.end()) throw DataError("state has no entry '" + key + "'");
  if (!it->second.defined()) throw DataError("state entry '" + key + "' is undefined");
  if (it->second.sizes() != expected)
    throw DataError("state entry '" + key + "' has shape " + shape_string(it->second.sizes()) +
                    ", expected " + shape_string(expected));
  return it->second;
}

}  // namespace dipole::detail
