// Adam over a list of parameter tensors (docs/algorithms.md, "Optimiser, batch and steps"): PyTorch's
// multi-tensor Adam (β1 0.9, β2 0.999, ε 1e−8, no weight decay, bias correction) fused into one pass per
// contiguous float32 tensor (equal to it up to one float32 ulp of θ from fused multiply-adds). Its state
// holds the moments and the step count as tensors, so a checkpoint restores the optimiser bit-exactly.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dipole/types.hpp"

namespace dipole {

struct AdamConfig {
  double lr = 3e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class Adam {
 public:
  Adam() = default;
  /// `parameters` are held by reference (the tensors' storage is updated in place).
  explicit Adam(std::vector<at::Tensor> parameters, AdamConfig config = {});

  /// One update from the accumulated gradients (in place, no grad). A parameter without a gradient
  /// is treated as having a zero gradient, as optax does (its moments decay, it may still move).
  void step();
  /// Drops every gradient (p.grad() becomes undefined, which step() and grad_norm() read as zero), so
  /// that the next backward stores its gradients without a fill and an accumulate pass.
  void zero_grad();

  /// Number of steps taken.
  std::int64_t steps() const { return step_; }
  const AdamConfig& config() const { return config_; }
  void set_lr(double lr) { config_.lr = lr; }
  const std::vector<at::Tensor>& parameters() const { return params_; }

  /// Keys: <prefix>step (int64 scalar), <prefix>exp_avg.<i>, <prefix>exp_avg_sq.<i>, i = parameter index.
  StateDict state(const std::string& prefix) const;
  /// Restores what state() returned; throws DataError naming a missing key or a shape mismatch.
  void load_state(const StateDict& state, const std::string& prefix);

 private:
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> exp_avg_;
  std::vector<at::Tensor> exp_avg_sq_;
  std::int64_t step_ = 0;
  AdamConfig config_;
};

}  // namespace dipole
