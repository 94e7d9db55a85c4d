#pragma once

#include <functional>

#include "dipole/component.hpp"

namespace dipole {

class Critic;

/// Velocity sources a sampler integrates. `velocity(obs, x, t)` returns [K, n, d]: K = 1 (one
/// field) or K = 2 (row 0 = v⁺, row 1 = v⁻ for guidance), evaluated at the same x and t.
/// `positive_only(obs, x, t)` returns [n, d] = row 0 and may be cheaper (ω = 0).
struct VelocityField {
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)> velocity;
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)> positive_only;
  std::int64_t action_dim = 0;
};

/// Turns a velocity field (and optionally a critic) into actions. Samplers compose: best-of-N
/// wraps an inner sampler configured in a nested table.
class Sampler : public Component {
 public:
  static constexpr Kind kKind = Kind::Sampler;
  ~Sampler() override;  // defined in core: one home for the vtable and type info

  /// observations [n, obs] → actions [n, d], clipped to [−1, 1]. Draws all its noise from
  /// `generator`. `critic` may be null for samplers that do not need one.
  virtual at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                            const ActOptions& options, at::Generator& generator) const = 0;
  /// Configured values, reported in evaluation tables.
  virtual ActOptions defaults() const = 0;
};

}  // namespace dipole
