#pragma once

#include "dipole/component.hpp"

namespace dipole {

/// Per-sample loss weights (one row per denoiser branch) and, for label-conditioned denoisers,
/// labels. All outputs are constants (no gradient).
struct Weights {
  at::Tensor rows;    ///< [R, B] float: row r weights branch r (DIPOLE: row 0 = w⁺, row 1 = w⁻)
  at::Tensor labels;  ///< [B] int64, or undefined when the weighting produces no labels
  Metrics metrics;    ///< filled only when requested
};

/// Maps advantages to weights: σ(βA + k), exp(βA) clipped, 1[A > θ], uniform, …
class WeightingFunction : public Component {
 public:
  static constexpr Kind kKind = Kind::Weighting;
  ~WeightingFunction() override;  // defined in core: one home for the vtable and type info

  /// advantage [B] (no gradient) → weights. `generator` serves stochastic weightings
  /// (label dropout).
  virtual Weights weights(const at::Tensor& advantage, at::Generator& generator, bool with_metrics) const = 0;
  /// Number of rows produced.
  virtual std::int64_t rows() const = 0;
};

}  // namespace dipole
