#pragma once

#include "dipole/component.hpp"

namespace dipole {

/// Composes critics, denoisers, weightings and samplers (built through BuildContext::builder
/// from the pipeline's sections) into one learning method.
class Algorithm : public Component {
 public:
  static constexpr Kind kKind = Kind::Algorithm;
  ~Algorithm() override;  // defined in core: one home for the vtable and type info

  /// One gradient step on `batch`. Random draws come from `generator` in a fixed order, so that a
  /// resumed run reproduces an uninterrupted one. Metrics are computed only if `with_metrics`.
  /// Throws NumericError when a loss is not finite.
  virtual Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) = 0;
  /// observations [n, obs] → actions [n, d] in [−1, 1]. No gradient.
  virtual at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                         at::Generator& generator) = 0;
  /// The configured acting options (ω, N_c, steps), for evaluation tables.
  virtual ActOptions act_defaults() const { return {}; }
};

}  // namespace dipole
