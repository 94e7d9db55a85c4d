#include "dipole/core/batch.hpp"

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
  b.next_actions = pick(all.next_actions);
  return b;
}

}  // namespace dipole
