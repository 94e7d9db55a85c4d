#pragma once

#include <vector>

#include "dipole/component.hpp"

namespace dipole {

/// Shape of a denoiser, from the requirements of the slot it fills (docs/architecture.md, "Slots"):
/// "members" (default 1), "n_labels" (0), "time_input" (1), "noise_input" (0; 1: an extra noise input z
/// of the action's width, FQL's one-step policy μ(s, z)).
struct DenoiserShape {
  std::int64_t members = 1;    ///< M independent ensemble members, output [M, B, action_dim]
  std::int64_t n_labels = 0;   ///< size of a learned label embedding (0: no label input)
  bool time_input = true;      ///< false for one-step policies (FQL's μ(s, z))
  std::int64_t noise_dim = 0;  ///< for time-free policies: width of the extra noise input z
};

/// The shape a denoiser factory builds for `required` when actions have `action_dim` entries.
inline DenoiserShape denoiser_shape(const Requirements& required, std::int64_t action_dim) {
  auto get = [&](const char* key, std::int64_t fallback) {
    auto it = required.find(key);
    return it == required.end() ? fallback : it->second;
  };
  DenoiserShape shape;
  shape.members = get("members", 1);
  shape.n_labels = get("n_labels", 0);
  shape.time_input = get("time_input", 1) != 0;
  shape.noise_dim = get("noise_input", 0) != 0 ? action_dim : 0;
  return shape;
}

/// A network f(s, x, t[, label]) with M independent ensemble members, and its optimiser.
/// For flow denoisers the output is a velocity; for time-free policies (FQL's one-step policy)
/// it is an action. Members share no parameters: a loss on member j changes only member j.
class Denoiser : public Component {
 public:
  static constexpr Kind kKind = Kind::Denoiser;
  ~Denoiser() override;  // defined in core: one home for the vtable and type info

  virtual DenoiserShape shape() const = 0;
  /// observations [B, obs] or [M, B, obs]; x [B, d] or [M, B, d]; t [B, 1] (ignored without a
  /// time input, may be undefined); labels [B] int64 (undefined without labels) → [M, B, d].
  /// Inputs without the leading M are broadcast to every member without a copy.
  virtual at::Tensor forward(const at::Tensor& observations, const at::Tensor& x, const at::Tensor& t,
                             const at::Tensor& labels) const = 0;
  /// Like forward, but evaluates only `member` → [B, d] (used when ω = 0 needs only v⁺).
  virtual at::Tensor forward_member(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                                    const at::Tensor& t, const at::Tensor& labels) const = 0;
  virtual std::vector<at::Tensor> parameters() const = 0;
  virtual void step() = 0;
  virtual void zero_grad() = 0;
};

}  // namespace dipole
