// Row selection over a Batch: in-memory datasets hold all their transitions as one Batch of
// contiguous tensors and sample by drawing indices (docs/architecture.md, "the data path").
#pragma once

#include "dipole/types.hpp"

namespace dipole {

/// The rows `index` [B] (int64, on the batch's device) of every defined tensor of `all`. When `all` has
/// no next_actions, the result's next_actions are the actions of rows min(index + 1, N − 1): the
/// dataset's next action by FQL's "next_row" rule (used by ReBRAC's critic penalty).
Batch select_rows(const Batch& all, const at::Tensor& index);

}  // namespace dipole
