#pragma once

#include "dipole/component.hpp"

namespace dipole {

/// Losses of one critic update, computed from the pre-update parameters.
struct CriticLoss {
  at::Tensor loss;       ///< scalar with a graph reaching only the critic's parameters
  at::Tensor advantage;  ///< [B] A(s, a) for the batch actions, no gradient
  Metrics metrics;       ///< filled only when requested
};

/// Q (and optionally V) networks with their targets and optimiser.
/// The update is split in two so an algorithm can compute every loss of a step from the same
/// pre-update parameters: compute_loss → (algorithm sums and back-propagates) → step.
class Critic : public Component {
 public:
  static constexpr Kind kKind = Kind::Critic;
  ~Critic() override;  // defined in core: one home for the vtable and type info

  virtual CriticLoss compute_loss(const Batch& batch, at::Generator& generator, bool with_metrics) = 0;
  /// Optimiser step on the gradients accumulated by backward(), then the target (Polyak) update.
  virtual void step() = 0;
  virtual void zero_grad() = 0;
  /// Online Q of every ensemble member: obs [B, obs_dim], act [B, d] → [E, B]. Its graph reaches the
  /// actions but never the critic's parameters, so an actor loss (FQL's Q term) may use it directly.
  virtual at::Tensor q(const at::Tensor& observations, const at::Tensor& actions) const = 0;
  /// Score used for rejection sampling: min over members of the configured Q → [B]. No gradient.
  virtual at::Tensor score(const at::Tensor& observations, const at::Tensor& actions) const = 0;
  /// Advantage A(s, a) as configured (docs/algorithms.md, "Critics: expectile value, TD target, Polyak") →
  /// [B]. No gradient.
  virtual at::Tensor advantage(const at::Tensor& observations, const at::Tensor& actions) const = 0;
  /// Global L2 gradient norms of its modules, e.g. {"grad_norm/q", …}; call after backward().
  virtual Metrics grad_norms() const { return {}; }
};

}  // namespace dipole
