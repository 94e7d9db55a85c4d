#pragma once

#include "dipole/component.hpp"

namespace dipole {

struct StepResult {
  at::Tensor observation;  ///< [obs_dim] float32, CPU
  double reward = 0.0;
  bool terminated = false;  ///< a true terminal state (mask 0)
  bool truncated = false;   ///< the time limit was reached
  bool success = false;     ///< task-specific success flag (false where undefined)
};

/// One simulator instance. Instances share no mutable state, so several can run side by side
/// (the evaluator batches them: one policy call per step for all instances).
class Environment : public Component {
 public:
  static constexpr Kind kKind = Kind::Environment;
  ~Environment() override;  // defined in core: one home for the vtable and type info

  virtual Spec spec() const = 0;
  /// Start an episode; the same seed gives the same initial state. Returns [obs_dim].
  virtual at::Tensor reset(std::uint64_t seed) = 0;
  /// Apply an action [action_dim] (the caller clips it to the bounds).
  virtual StepResult step(const at::Tensor& action) = 0;
  /// Time limit in steps.
  virtual std::int64_t max_episode_steps() const = 0;
  /// [state_dim] float64: the complete simulator state after the last reset() or step() (for
  /// MuJoCo: qpos, qvel, act, as dm_control's physics.get_state()). Recorders store it so rewards
  /// can be recomputed later. An undefined tensor when the environment has no such state.
  virtual at::Tensor simulator_state() const { return {}; }
};

}  // namespace dipole
