#include "weightings.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

namespace {

void add_advantage_metrics(Metrics& metrics, const at::Tensor& advantage) {
  const auto q = quantiles(advantage, {0.05, 0.25, 0.5, 0.75, 0.95});
  metrics.emplace_back("adv/q05", q[0]);
  metrics.emplace_back("adv/q25", q[1]);
  metrics.emplace_back("adv/q50", q[2]);
  metrics.emplace_back("adv/q75", q[3]);
  metrics.emplace_back("adv/q95", q[4]);
  metrics.emplace_back("adv/mean", advantage.mean().item<double>());
  metrics.emplace_back("adv/frac_pos", (advantage > 0).to(at::kDouble).mean().item<double>());
}

double mean_of(const at::Tensor& t) {
  return t.to(at::kDouble).mean().item<double>();
}

}  // namespace

// ---- uniform ---------------------------------------------------------------------------------------

const Keys<UniformWeighting::Config>& UniformWeighting::keys() {
  static const Keys<Config> keys{
      key(&Config::rows, "rows", "number of rows R (one per denoiser branch), all ones").range(1, 64)};
  return keys;
}

UniformWeighting::UniformWeighting(const Params& params, const BuildContext&)
    : config_(keys().read(params)) {}

Weights UniformWeighting::weights(const at::Tensor& advantage, at::Generator&, bool) const {
  Weights out;
  out.rows = at::ones({config_.rows, advantage.size(0)}, advantage.options().dtype(at::kFloat));
  return out;
}

// ---- dipole_sigmoid --------------------------------------------------------------------------------

const Keys<DipoleSigmoidWeighting::Config>& DipoleSigmoidWeighting::keys() {
  using C = Config;
  static const Keys<C> keys{
      key(&C::beta, "beta", "inverse temperature β in σ(βA + k)").range(0.0, 1e6),
      key(&C::shift, "shift", "shift k in σ(βA + k) (shift_mode = fixed)").range(-1e6, 1e6),
      key(&C::quantile_shift, "shift_mode",
          "fixed: k = shift; quantile: k = −β·q_p(A) of each batch, so about (1 − p) of it has w⁺ > 0.5")
          .choices({{"fixed", false}, {"quantile", true}}),
      key(&C::shift_quantile, "shift_quantile", "p of shift_mode = quantile").range(0.0, 1.0),
  };
  return keys;
}

DipoleSigmoidWeighting::DipoleSigmoidWeighting(const Params& params, const BuildContext&)
    : config_(keys().read(params)) {}

double DipoleSigmoidWeighting::shift_for(const at::Tensor& advantage) const {
  if (!config_.quantile_shift) return config_.shift;
  return -config_.beta * quantiles(advantage, {config_.shift_quantile})[0];
}

Weights DipoleSigmoidWeighting::weights(const at::Tensor& advantage, at::Generator&,
                                        bool with_metrics) const {
  at::NoGradGuard no_grad;
  const auto a = advantage.detach();
  const double shift = shift_for(a);
  Weights out;
  out.rows = sigmoid_weights(a, config_.beta, shift);
  if (with_metrics) {
    auto pos = out.rows.select(0, 0), neg = out.rows.select(0, 1);
    out.metrics = {{"weight/pos_mean", mean_of(pos)},
                   {"weight/neg_mean", mean_of(neg)},
                   {"weight/frac_pos_gt_half", mean_of(pos > 0.5)},
                   {"weight/ess_pos", effective_sample_fraction(pos)},
                   {"weight/ess_neg", effective_sample_fraction(neg)}};
    add_advantage_metrics(out.metrics, a);
    out.metrics.emplace_back("shift", shift);
  }
  return out;
}

// ---- exponential -----------------------------------------------------------------------------------

const Keys<ExponentialWeighting::Config>& ExponentialWeighting::keys() {
  using C = Config;
  static const Keys<C> keys{
      key(&C::beta, "beta", "inverse temperature β in min(exp(βA), max_weight)").range(0.0, 1e6),
      key(&C::max_weight, "max_weight", "upper clip of the weights").range(0.0, 1e30),
      key(&C::negative, "neg",
          "second row for a negative branch: none (one row), exponential (min(exp(−βA), max_weight)), "
          "uniform (ones)")
          .choices({{"none", Negative::None},
                    {"exponential", Negative::Exponential},
                    {"uniform", Negative::Uniform}}),
  };
  return keys;
}

ExponentialWeighting::ExponentialWeighting(const Params& params, const BuildContext&)
    : config_(keys().read(params)) {}

Weights ExponentialWeighting::weights(const at::Tensor& advantage, at::Generator&, bool with_metrics) const {
  at::NoGradGuard no_grad;
  const auto a = advantage.detach();
  auto pos = exponential_weights(a, config_.beta, config_.max_weight);
  Weights out;
  if (config_.negative == Negative::None) {
    out.rows = pos.unsqueeze(0);
  } else if (config_.negative == Negative::Exponential) {
    out.rows = at::stack({pos, exponential_weights(a, -config_.beta, config_.max_weight)}, 0);
  } else {
    out.rows = at::stack({pos, at::ones_like(pos)}, 0);
  }
  if (with_metrics) {
    out.metrics = {{"weight/pos_mean", mean_of(pos)},
                   {"weight/frac_clipped", mean_of(pos >= config_.max_weight)},
                   {"weight/ess_pos", effective_sample_fraction(pos)}};
    add_advantage_metrics(out.metrics, a);
  }
  return out;
}

// ---- indicator -------------------------------------------------------------------------------------

const Keys<IndicatorWeighting::Config>& IndicatorWeighting::keys() {
  using C = Config;
  static const Keys<C> keys{
      key(&C::threshold, "threshold", "threshold θ: a sample is positive iff A > θ (strict) or A ≥ θ")
          .range(-1e9, 1e9),
      key(&C::strict, "strict", "strict comparison A > θ (CFGRL-ExORL); false: A ≥ θ (CFGRL-OGBench)"),
      key(&C::labels_mode, "mode",
          "rows: two rows [1[positive] for label 1; unconditional_weight for label 0] (CFGRL-ExORL); "
          "labels: labels 2 (positive) / 1 (negative) with label_dropout to 0, one row of ones "
          "(CFGRL-OGBench)")
          .choices({{"rows", false}, {"labels", true}}),
      key(&C::unconditional_weight, "unconditional_weight",
          "mode = rows: constant weight of the unconditional (label 0) row")
          .range(0.0, 1e6),
      key(&C::label_dropout, "label_dropout", "mode = labels: probability of replacing a label by 0 (null)")
          .range(0.0, 1.0),
  };
  return keys;
}

IndicatorWeighting::IndicatorWeighting(const Params& params, const BuildContext&)
    : config_(keys().read(params)) {}

Weights IndicatorWeighting::weights(const at::Tensor& advantage, at::Generator& generator,
                                    bool with_metrics) const {
  at::NoGradGuard no_grad;
  const auto a = advantage.detach();
  auto positive = config_.strict ? a > config_.threshold : a >= config_.threshold;  // [B] bool
  Weights out;
  if (!config_.labels_mode) {
    auto pos_row = positive.to(at::kFloat);
    out.rows = at::stack({pos_row, at::full_like(pos_row, config_.unconditional_weight)}, 0);
  } else {
    auto labels = positive.to(at::kLong) + 1;  // 2 positive, 1 negative
    auto drop = at::rand({a.size(0)}, generator, at::TensorOptions().dtype(at::kFloat)).to(a.device()) <
                config_.label_dropout;
    out.labels = labels.masked_fill_(drop, 0);
    out.rows = at::ones({1, a.size(0)}, a.options().dtype(at::kFloat));
  }
  if (with_metrics) {
    out.metrics = {{"weight/frac_pos", mean_of(positive)}};
    if (config_.labels_mode) out.metrics.emplace_back("weight/frac_null", mean_of(out.labels == 0));
    add_advantage_metrics(out.metrics, a);
  }
  return out;
}

}  // namespace dipole::plugins
