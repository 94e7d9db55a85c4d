#pragma once

#include <vector>

#include "dipole/component.hpp"

namespace dipole {

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
