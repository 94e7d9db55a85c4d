#include "dipole/sdk/adam.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstdint>

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

namespace {

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DIPOLE_ADAM_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define DIPOLE_ADAM_CLONES
#endif

struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, step_size;
};

// One pass of the multi-tensor sequence below, element by element, in the same order of float
// operations (scalars rounded to float as ATen does for float tensors). Multiply-adds may be fused
// differently from ATen's vector kernels (the haswell clone contracts them), so results match the ATen
// sequence except for an occasional one-ulp difference of θ (tests/components/test_adam.cpp).
// `grad` null: a zero gradient (a parameter the backward did not reach), without materialising it.
DIPOLE_ADAM_CLONES void fused_adam_kernel(float* __restrict param, const float* __restrict grad,
                                          float* __restrict exp_avg, float* __restrict exp_avg_sq,
                                          std::int64_t n, AdamScalars s) {
  if (grad == nullptr) {
    for (std::int64_t i = 0; i < n; ++i) {
      // The lines below with g = 0: β·m + (1 − β)·0 rounds as β·m alone, fused or not.
      const float m = exp_avg[i] * s.beta1;
      const float v = exp_avg_sq[i] * s.beta2;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      const float denom = std::sqrt(v) / s.bias_correction2_sqrt + s.eps;
      param[i] = param[i] + s.step_size * m / denom;
    }
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float m = exp_avg[i] * s.beta1 + s.one_minus_beta1 * g;
    const float v = exp_avg_sq[i] * s.beta2 + s.one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = std::sqrt(v) / s.bias_correction2_sqrt + s.eps;
    param[i] = param[i] + s.step_size * m / denom;  // addcdiv: self + value · t1 / t2
  }
}

bool fusable(const at::Tensor& p) {
  return p.device().is_cpu() && p.scalar_type() == at::kFloat && p.is_contiguous() &&
         p.layout() == at::kStrided;
}

/// Undefined (a zero gradient) or a contiguous float32 CPU tensor of p's shape.
bool fusable(const at::Tensor& p, const at::Tensor& g) {
  return fusable(p) &&
         (!g.defined() || (g.device().is_cpu() && g.scalar_type() == at::kFloat && g.is_contiguous() &&
                           g.layout() == at::kStrided && g.sizes() == p.sizes()));
}

}  // namespace

void Adam::step() {
  if (params_.empty()) return;
  at::NoGradGuard no_grad;
  ++step_;
  const double b1 = config_.beta1, b2 = config_.beta2;
  const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(step_));
  const double step_size = -(config_.lr / bias_correction1);
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  const AdamScalars scalars{static_cast<float>(b1),
                            static_cast<float>(1.0 - b1),
                            static_cast<float>(b2),
                            static_cast<float>(1.0 - b2),
                            static_cast<float>(bias_correction2_sqrt),
                            static_cast<float>(config_.eps),
                            static_cast<float>(step_size)};
  // Contiguous float32 CPU tensors (all of them in practice): one fused pass per tensor instead of
  // eight kernels. Anything else: the multi-tensor sequence of PyTorch 1.13's _multi_tensor_adam.
  std::vector<at::Tensor> params, grads, exp_avg, exp_avg_sq;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto& g = p.grad();  // undefined: a zero gradient (optax semantics)
    if (fusable(p, g)) {
      float* pp = p.data_ptr<float>();
      const float* pg = g.defined() ? g.data_ptr<float>() : nullptr;
      float* pm = exp_avg_[i].data_ptr<float>();
      float* pv = exp_avg_sq_[i].data_ptr<float>();
      at::parallel_for(0, p.numel(), 32768, [&](std::int64_t begin, std::int64_t end) {
        fused_adam_kernel(pp + begin, pg == nullptr ? nullptr : pg + begin, pm + begin, pv + begin,
                          end - begin, scalars);
      });
      // Written through raw pointers: bump the version counters as the in-place ops would.
      p.unsafeGetTensorImpl()->bump_version();
      exp_avg_[i].unsafeGetTensorImpl()->bump_version();
      exp_avg_sq_[i].unsafeGetTensorImpl()->bump_version();
    } else {
      if (!g.defined()) p.mutable_grad() = at::zeros_like(p);
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avg.push_back(exp_avg_[i]);
      exp_avg_sq.push_back(exp_avg_sq_[i]);
    }
  }
  if (params.empty()) return;
  at::_foreach_mul_(exp_avg, b1);
  at::_foreach_add_(exp_avg, grads, 1.0 - b1);
  at::_foreach_mul_(exp_avg_sq, b2);
  at::_foreach_addcmul_(exp_avg_sq, grads, grads, 1.0 - b2);
  auto denom = at::_foreach_sqrt(exp_avg_sq);
  at::_foreach_div_(denom, bias_correction2_sqrt);
  at::_foreach_add_(denom, config_.eps);
  at::_foreach_addcdiv_(params, exp_avg, denom, step_size);
}

void Adam::zero_grad() {
  // Undefined, not zero-filled: the next backward then stores each gradient as it is produced instead
  // of adding it into a zeroed buffer (a fill and an add pass per parameter; 3 % of a paper-scale
  // update, docs/performance.md). step() reads an undefined gradient as zero.
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
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
