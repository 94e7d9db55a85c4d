// RL math written once (docs/algorithms.md, "Critics: expectile value, TD target, Polyak" and
// "Weightings"): expectile loss, TD target, Polyak update, gradient norms, quantiles, advantage
// weightings, finiteness checks.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "dipole/params.hpp"

namespace dipole {

/// Elementwise L2_τ(u) = |τ − 1[u < 0]|·u².
at::Tensor expectile_loss(const at::Tensor& u, double expectile);
/// TD target y = r + γ·m·v′ (no gradient: the result is detached). All [B].
at::Tensor td_target(const at::Tensor& rewards, const at::Tensor& masks, const at::Tensor& next_values,
                     double discount);

/// θ̄ ← (1 − τ)·θ̄ + τ·θ in place, no grad, for paired lists (same length and shapes).
void polyak_update(const std::vector<at::Tensor>& target, const std::vector<at::Tensor>& online, double tau);
/// Which online parameters θ a target network θ̄ blends from (docs/algorithms.md, "Target networks"):
/// PostStep: θ̄ ← (1 − τ)·θ̄ + τ·θ after the optimiser step (the framework's default); PreStep: from the
/// parameters before that step, as FQL's code does (the target lags one step further).
enum class PolyakSource { PreStep, PostStep };
/// Key `polyak_source` ("post_step" | "pre_step"; the default is the member's initializer), shared by
/// the critics that Polyak-update.
template <class Config>
FieldKey<Config, PolyakSource> polyak_source_key(PolyakSource Config::*member) {
  return key(member, "polyak_source",
             "parameters the target blends from: post_step (after the optimiser step) or pre_step "
             "(before it, FQL's code: one more step of lag)")
      .choices({{"post_step", PolyakSource::PostStep}, {"pre_step", PolyakSource::PreStep}});
}
/// Runs `optimiser_step` and `polyak` in the order `source` says: PostStep = step, then blend; PreStep =
/// blend, then step. A target is never written by its optimiser, so blending first equals blending
/// afterwards from a copy of the pre-step θ, without the copy.
void step_with_polyak(PolyakSource source, const std::function<void()>& optimiser_step,
                      const std::function<void()>& polyak);
/// Global L2 norm of the gradients of `parameters` (undefined gradients count as zero).
double grad_norm(const std::vector<at::Tensor>& parameters);

/// Linear-interpolation quantiles (as numpy's default) of all elements of `values`, qs in [0, 1].
std::vector<double> quantiles(const at::Tensor& values, const std::vector<double>& qs);
/// Throws NumericError("non-finite <what>: ...") if `value` holds a NaN or an infinity.
void check_finite(const at::Tensor& value, const std::string& what);

// ---- advantage weightings (docs/algorithms.md, "Weightings"); all without gradient -----------------

/// DIPOLE weights: x = βA + k; row 0 = σ(x), row 1 = σ(−x) (not 1 − σ(x)). A [B] → [2, B].
at::Tensor sigmoid_weights(const at::Tensor& advantage, double beta, double shift);
/// min(exp(βA), max_weight), elementwise. A [B] → [B].
at::Tensor exponential_weights(const at::Tensor& advantage, double beta, double max_weight);
/// Effective sample fraction (Σw)² / (B·Σw²) of a weight vector [B] (1 for constant weights).
double effective_sample_fraction(const at::Tensor& weights);

}  // namespace dipole
