// Single-task OGBench manipulation environment (docs/ogbench.md, "Manipulation: reset, success, reward"):
// reset in task mode, success / reward / termination with both reward timings, the time limit, and the
// scene numerical-health reset. Goals, indicators and rewards come from plugins/benchmarks/ogbench
// (ogbench_tasks.hpp), written once. MuJoCo-only: no ATen here.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "manip_env.hpp"
#include "ogbench_tasks.hpp"

namespace dipole::manipspace {

/// Reward timing: `Pre` (OGBench ≥ 1.2.0, the default): reward = r(s_t), terminated = success = success(s_t)
/// with success(s_0) = false. `Post` (≤ 1.1.5, FQL's pin): r(s_{t+1}) and success(s_{t+1}).
enum class RewardTiming { Pre, Post };
RewardTiming parse_reward_timing(const std::string& text);  ///< "pre" | "post", else ConfigError

/// The layout of an OGBench manipulation category (ConfigError for other categories).
SceneLayout layout_of(ogbench::Category category);

struct StepOutcome {
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
  bool success = false;
};

class SingleTaskEnv {
 public:
  /// `env_id` as registered by OGBench, e.g. "cube-single-singletask-task1-v0" (no taskN: the
  /// category's default task). Throws ConfigError for unknown or non-manipulation names.
  SingleTaskEnv(const std::string& env_id, RewardTiming timing);

  const ogbench::ParsedName& name() const { return name_; }
  const ogbench::TaskSpec& task() const { return task_; }
  const ogbench::CategoryInfo& category() const { return ogbench::info(name_.category); }
  RewardTiming timing() const { return timing_; }
  ManipEnv& env() { return env_; }
  const ManipEnv& env() const { return env_; }
  int max_episode_steps() const { return category().max_episode_steps; }
  int steps() const { return steps_; }
  bool success_flag() const { return success_; }

  /// Reset (without the goal-image phase, which only goal-conditioned evaluation uses): arm at a
  /// uniform pose of the arm box by IK from home, objects at the task's initial state plus the reset
  /// noise, goals from the task table; success flag false. The same seed gives the same state.
  /// Returns the observation.
  std::vector<double> reset(std::uint64_t seed);
  /// One step (docs/ogbench.md, "Manipulation: action and controller"; action not clipped; the caller clips).
  /// The observation is env().observation().
  StepOutcome step(const Action& action);

  /// Success indicators for the current state.
  std::vector<bool> indicators() const;
  /// r(s) for the current state.
  int reward_now() const;
  /// Number of scene health respawns in the current episode (scene only).
  int health_resets() const { return health_resets_; }

 private:
  double uniform(double lo, double hi);
  void health_check();

  ogbench::ParsedName name_;
  ogbench::TaskSpec task_;
  RewardTiming timing_;
  ManipEnv env_;
  std::mt19937_64 rng_;
  int steps_ = -1;  // −1 before the first reset
  bool success_ = false;
  int health_resets_ = 0;
};

}  // namespace dipole::manipspace
