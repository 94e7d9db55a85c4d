// Weighting functions (docs/algorithms.md, "Weightings", "DIPOLE", "CFGRL"): advantage [B] → rows [R, B]
// and/or labels [B]. All outputs are constants (no gradient). Keys: README.md.
#pragma once

#include <dipole/weighting.hpp>

namespace dipole::plugins {

/// `uniform`: `rows` rows of ones.
class UniformWeighting : public WeightingFunction {
 public:
  struct Config {
    std::int64_t rows = 1;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// The rows() it will produce, for slot requirements.
  static Provides provides(const Params& params) { return {{"rows", keys().read(params).rows}}; }
  UniformWeighting(const Params& params, const BuildContext& ctx);
  Weights weights(const at::Tensor& advantage, at::Generator& generator, bool with_metrics) const override;
  std::int64_t rows() const override { return config_.rows; }

 private:
  Config config_;
};

/// `dipole_sigmoid`: x = βA + k; row 0 = w⁺ = σ(x), row 1 = w⁻ = σ(−x). With shift_mode = quantile,
/// k = −β·q_p(A) of the batch (recomputed every call).
class DipoleSigmoidWeighting : public WeightingFunction {
 public:
  struct Config {
    double beta = 3.0;
    double shift = 0.0;
    bool quantile_shift = false;
    double shift_quantile = 0.7;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// The rows() it will produce, for slot requirements.
  static Provides provides(const Params& /*params*/) { return {{"rows", 2}}; }
  DipoleSigmoidWeighting(const Params& params, const BuildContext& ctx);
  Weights weights(const at::Tensor& advantage, at::Generator& generator, bool with_metrics) const override;
  std::int64_t rows() const override { return 2; }
  /// The shift k used for this batch.
  double shift_for(const at::Tensor& advantage) const;

 private:
  Config config_;
};

/// `exponential`: row 0 = min(exp(βA), max_weight); with neg = exponential a row 1 = min(exp(−βA), max);
/// with neg = uniform a row 1 of ones; with neg = none only row 0.
class ExponentialWeighting : public WeightingFunction {
 public:
  enum class Negative { None, Exponential, Uniform };
  struct Config {
    double beta = 10.0;
    double max_weight = 100.0;
    Negative negative = Negative::None;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// The rows() it will produce, for slot requirements.
  static Provides provides(const Params& params) {
    return {{"rows", keys().read(params).negative == Negative::None ? 1 : 2}};
  }
  ExponentialWeighting(const Params& params, const BuildContext& ctx);
  Weights weights(const at::Tensor& advantage, at::Generator& generator, bool with_metrics) const override;
  std::int64_t rows() const override { return config_.negative == Negative::None ? 1 : 2; }

 private:
  Config config_;
};

/// `indicator` (CFGRL). positive ⇔ A > θ (strict) or A ≥ θ.
///   mode = rows   (variant A, ExORL): rows [2, B]: row 0 = 1[positive] trains label 1 (conditional),
///                 row 1 = unconditional_weight trains label 0 (unconditional); labels undefined.
///   mode = labels (variant B, OGBench): labels [B] = 2 if positive else 1, then each replaced by 0
///                 (null) with probability label_dropout (one uniform draw per sample, always drawn);
///                 rows = ones [1, B].
class IndicatorWeighting : public WeightingFunction {
 public:
  struct Config {
    double threshold = 0.0;
    bool strict = true;
    bool labels_mode = false;
    double unconditional_weight = 0.1;
    double label_dropout = 0.1;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// The rows() it will produce, for slot requirements.
  static Provides provides(const Params& params) {
    return {{"rows", keys().read(params).labels_mode ? 1 : 2}};
  }
  IndicatorWeighting(const Params& params, const BuildContext& ctx);
  Weights weights(const at::Tensor& advantage, at::Generator& generator, bool with_metrics) const override;
  std::int64_t rows() const override { return config_.labels_mode ? 1 : 2; }

 private:
  Config config_;
};

}  // namespace dipole::plugins
