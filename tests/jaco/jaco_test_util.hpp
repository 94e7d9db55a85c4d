// Helpers shared by the jaco tests: the reset sequence (docs/exorl.md, "Step, reset and state") as the dmc
// environment runs it, and uniform random actions.
#pragma once

#include <array>
#include <cstdint>

#include "dmc_task.hpp"
#include "jaco.hpp"

namespace dipole::dmc::test {

/// Reset (docs/exorl.md, "Step, reset and state"): mj_resetData, forward-no-act, the task's initialization,
/// forward-no-act.
inline JacoResetStats reset_episode(const JacoTask& task, Physics& physics, Random& random) {
  physics.reset_data();
  physics.forward_without_actuation();
  const JacoResetStats stats = task.initialize_episode_with_stats(physics, random);
  physics.forward_without_actuation();
  return stats;
}

inline std::array<float, JacoTask::kActionDim> random_action(Random& random) {
  std::array<float, JacoTask::kActionDim> action{};
  for (float& a : action) a = static_cast<float>(random.uniform(-1.0, 1.0));
  return action;
}

/// One environment step (docs/exorl.md, "Step, reset and state"): set the action, n legacy physics steps;
/// returns the reward.
inline double step_episode(const JacoTask& task, Physics& physics,
                           const std::array<float, JacoTask::kActionDim>& action) {
  physics.set_action(action.data(), JacoTask::kActionDim);
  physics.legacy_step(task.physics_steps_per_action());
  return task.reward(physics);
}

}  // namespace dipole::dmc::test
