#include "dipole/sdk/batch.hpp"

#include <ATen/ATen.h>

namespace dipole {

Batch select_rows(const Batch& all, const at::Tensor& index) {
  const auto pick = [&index](const at::Tensor& t) { return t.defined() ? t.index_select(0, index) : t; };
  Batch b;
  b.observations = pick(all.observations);
  b.actions = pick(all.actions);
  b.rewards = pick(all.rewards);
  b.next_observations = pick(all.next_observations);
  b.masks = pick(all.masks);
  b.terminals = pick(all.terminals);
  // The dataset's next action a′_D (FQL's "next_row" rule: the action of row min(i + 1, N − 1), which at a
  // trajectory's last row is the next trajectory's first action; docs/algorithms.md, ReBRAC).
  if (all.next_actions.defined())
    b.next_actions = pick(all.next_actions);
  else if (all.actions.defined() && all.actions.size(0) > 0)
    b.next_actions = all.actions.index_select(0, (index + 1).clamp_max(all.actions.size(0) - 1));
  return b;
}

}  // namespace dipole
