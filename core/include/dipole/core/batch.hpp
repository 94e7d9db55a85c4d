// Row selection over a Batch: in-memory datasets hold all their transitions as one Batch of
// contiguous tensors and sample by drawing indices (docs/architecture.md, "the data path").
#pragma once

#include "dipole/types.hpp"

namespace dipole {

/// The rows `index` [B] (int64, on the batch's device) of every defined tensor of `all`.
Batch select_rows(const Batch& all, const at::Tensor& index);

}  // namespace dipole
