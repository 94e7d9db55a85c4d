#include "dipole/core/adam.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "state_util.hpp"

namespace dipole {

Adam::Adam(std::vector<at::Tensor> parameters, AdamConfig config)
    : params_(std::move(parameters)), config_(config) {
  at::NoGradGuard no_grad;
  exp_avg_.reserve(params_.size());
  exp_avg_sq_.reserve(params_.size());
  for (const auto& p : params_) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
  }
}

void Adam::step() {
  if (params_.empty()) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  grads.reserve(params_.size());
  for (auto& p : params_) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);  // optax semantics: zero gradient
    grads.push_back(p.grad());
  }
  ++step_;
  const double b1 = config_.beta1, b2 = config_.beta2;
  // Same operation sequence as PyTorch 1.13's _multi_tensor_adam (foreach path).
  at::_foreach_mul_(exp_avg_, b1);
  at::_foreach_add_(exp_avg_, grads, 1.0 - b1);
  at::_foreach_mul_(exp_avg_sq_, b2);
  at::_foreach_addcmul_(exp_avg_sq_, grads, grads, 1.0 - b2);
  const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(step_));
  const double step_size = -(config_.lr / bias_correction1);
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  auto denom = at::_foreach_sqrt(exp_avg_sq_);
  at::_foreach_div_(denom, bias_correction2_sqrt);
  at::_foreach_add_(denom, config_.eps);
  at::_foreach_addcdiv_(params_, exp_avg_, denom, step_size);
}

void Adam::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

StateDict Adam::state(const std::string& prefix) const {
  StateDict out;
  out[prefix + "step"] = at::scalar_tensor(step_, at::kLong);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out[prefix + "exp_avg." + std::to_string(i)] = exp_avg_[i].clone();
    out[prefix + "exp_avg_sq." + std::to_string(i)] = exp_avg_sq_[i].clone();
  }
  return out;
}

void Adam::load_state(const StateDict& state, const std::string& prefix) {
  at::NoGradGuard no_grad;
  const auto& step = detail::state_entry(state, prefix + "step", {});
  for (std::size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(
        detail::state_entry(state, prefix + "exp_avg." + std::to_string(i), exp_avg_[i].sizes()));
    exp_avg_sq_[i].copy_(
        detail::state_entry(state, prefix + "exp_avg_sq." + std::to_string(i), exp_avg_sq_[i].sizes()));
  }
  step_ = step.item<std::int64_t>();
}

}  // namespace dipole
