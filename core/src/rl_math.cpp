#include "dipole/sdk/rl_math.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "dipole/errors.hpp"

namespace dipole {

at::Tensor expectile_loss(const at::Tensor& u, double expectile) {
  // |τ − 1[u < 0]| = τ where u ≥ 0, 1 − τ where u < 0.
  auto weight = at::where(u < 0, at::scalar_tensor(1.0 - expectile, u.options()),
                          at::scalar_tensor(expectile, u.options()));
  return weight * u.pow(2);
}

at::Tensor td_target(const at::Tensor& rewards, const at::Tensor& masks, const at::Tensor& next_values,
                     double discount) {
  at::NoGradGuard no_grad;
  return (rewards + discount * masks * next_values.detach()).detach();
}

void polyak_update(const std::vector<at::Tensor>& target, const std::vector<at::Tensor>& online, double tau) {
  if (target.size() != online.size())
    throw ConfigError("polyak_update: " + std::to_string(target.size()) + " target vs " +
                      std::to_string(online.size()) + " online tensors");
  at::NoGradGuard no_grad;
  // θ̄ + τ(θ − θ̄): exact copy at τ = 1 (lerp), unchanged at τ = 0.
  for (std::size_t i = 0; i < target.size(); ++i) {
    auto t = target[i];
    t.lerp_(online[i], tau);
  }
}

void step_with_polyak(PolyakSource source, const std::function<void()>& optimiser_step,
                      const std::function<void()>& polyak) {
  if (source == PolyakSource::PreStep) polyak();
  optimiser_step();
  if (source == PolyakSource::PostStep) polyak();
}

double grad_norm(const std::vector<at::Tensor>& parameters) {
  at::NoGradGuard no_grad;
  double sum = 0.0;
  for (const auto& p : parameters) {
    if (p.grad().defined()) sum += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

std::vector<double> quantiles(const at::Tensor& values, const std::vector<double>& qs) {
  at::NoGradGuard no_grad;
  auto flat = values.detach().reshape({-1}).to(at::kDouble).cpu();
  auto q = at::tensor(qs, at::TensorOptions().dtype(at::kDouble));
  auto result = at::quantile(flat, q);
  std::vector<double> out(qs.size());
  auto acc = result.accessor<double, 1>();
  for (std::size_t i = 0; i < qs.size(); ++i) out[i] = acc[static_cast<std::int64_t>(i)];
  return out;
}

void check_finite(const at::Tensor& value, const std::string& what) {
  at::NoGradGuard no_grad;
  if (!value.defined()) throw NumericError(what + " is undefined");
  if (at::isfinite(value.detach()).all().item<bool>()) return;
  auto v = value.detach();
  const auto nans = at::isnan(v).sum().item<std::int64_t>();
  const auto total = v.numel();
  throw NumericError("non-finite " + what + ": " + std::to_string(nans) + " NaN and " +
                     std::to_string(at::isinf(v).sum().item<std::int64_t>()) + " infinite of " +
                     std::to_string(total) + " values");
}

at::Tensor sigmoid_weights(const at::Tensor& advantage, double beta, double shift) {
  at::NoGradGuard no_grad;
  auto x = advantage.detach() * beta + shift;
  return at::stack({at::sigmoid(x), at::sigmoid(-x)}, 0);
}

at::Tensor exponential_weights(const at::Tensor& advantage, double beta, double max_weight) {
  at::NoGradGuard no_grad;
  return at::exp(advantage.detach() * beta).clamp_max_(max_weight);
}

double effective_sample_fraction(const at::Tensor& weights) {
  at::NoGradGuard no_grad;
  auto w = weights.detach().to(at::kDouble);
  const double sum = w.sum().item<double>();
  const double sum_sq = w.pow(2).sum().item<double>();
  if (sum_sq <= 0.0) return 0.0;
  return sum * sum / (static_cast<double>(w.numel()) * sum_sq);
}

}  // namespace dipole
