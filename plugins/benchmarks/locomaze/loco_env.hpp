// OGBench single-task locomotion environment (docs/ogbench.md, "Locomotion environments"):
// pointmaze, antmaze, humanoidmaze and antsoccer on the MuJoCo C API. Actions, stepping (frame skip
// 5), observations, resets, the task table (plugins/benchmarks/ogbench), success / reward / termination with
// both reward timings, the time limit, teleports and the reset-quaternion convention. MuJoCo-only:
// no ATen here.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "maze.hpp"
#include "ogbench_tasks.hpp"

namespace dipole::locomaze {

/// `Pre` (OGBench ≥ 1.2.0, default): reward, terminated and success of a step come from the state
/// before the action. `Post` (OGBench 1.1.x, FQL's pin): from the state after it.
enum class RewardTiming { Pre, Post };
RewardTiming parse_reward_timing(const std::string& text);  ///< "pre" | "post", else ConfigError

/// The free-joint quaternions in the reset observation (and reset state) of the ant and antsoccer,
/// whose reset noise leaves them unnormalised. `Raw`: as written (MuJoCo ≥ 3.2, current OGBench);
/// `Normalized`: normalised in place by the forward pass (MuJoCo ≤ 3.1, and 2.2.2 itself).
enum class ResetQuaternion { Raw, Normalized };
ResetQuaternion parse_reset_quaternion(const std::string& text);  ///< "raw" | "normalized"

struct StepOutcome {
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
  bool success = false;
  bool teleported = false;
};

/// The physics of one scene without task logic: model, data, stepping and observations.
class Scene {
 public:
  explicit Scene(const SceneKind& kind);

  const SceneKind& kind() const { return kind_; }
  mjModel* model() const { return model_.get(); }
  mjData* data() const { return data_.get(); }
  int obs_dim() const;
  int action_dim() const { return model_->nu; }
  int nq() const { return model_->nq; }
  int nv() const { return model_->nv; }

  /// One env step: point qpos += 0.2·a, qvel ← 0, 5 mj_step; ant ctrl ← a, 5 mj_step (RK4, 0.1 s);
  /// humanoid ctrl ← a, 5 mj_step (Euler, 0.025 s) then mj_step1 so the observed kinematics are
  /// current. The action is not clipped (MuJoCo clamps ctrl of the ant and humanoid; the point moves
  /// by 0.2·a for any a).
  void step(const double* action);
  /// Write qpos, qvel and run mj_forward.
  void set_state(const double* qpos, const double* qvel);
  /// The observation of the current mjData (humanoid: kinematics must be current).
  std::vector<double> observation() const;
  /// The observation of a stored state (writes the state and runs mj_forward).
  std::vector<double> observation_of(const double* qpos, const double* qvel);

 private:
  /// Humanoid bodies and the sensor the observation reads (looked up by name).
  struct HumanoidIds {
    int torso = -1, head = -1, left_hand = -1, left_foot = -1, right_hand = -1, right_foot = -1;
    int subtreelinvel = -1;  ///< sensordata address of torso_subtreelinvel
  };

  SceneKind kind_;
  ModelPtr model_;
  DataPtr data_;
  int target_geom_ = -1;
  HumanoidIds humanoid_;
  friend class LocoEnv;
};

class LocoEnv {
 public:
  /// `env_id` as registered by OGBench, e.g. "humanoidmaze-medium-singletask-task3-v0" (without
  /// taskN: the category's default task). ConfigError for other names, dataset names and
  /// humanoidmaze-teleport (not buildable upstream).
  LocoEnv(const std::string& env_id, RewardTiming timing, ResetQuaternion quaternion);

  const ogbench::ParsedName& name() const { return name_; }
  const ogbench::TaskSpec& task() const { return task_; }
  const ogbench::CategoryInfo& category() const { return ogbench::info(name_.category); }
  RewardTiming timing() const { return timing_; }
  Scene& scene() { return scene_; }
  const Scene& scene() const { return scene_; }
  int max_episode_steps() const { return category().max_episode_steps; }
  int steps() const { return steps_; }
  /// Rejected humanoid poses in the last reset (0 for the other agents).
  int reset_rejections() const { return rejections_; }

  /// Reset of the single-task env: start (and ball) at the task's cells plus U(−1, 1)² noise, goal at
  /// the goal cell centre, the agent's reset noise (humanoid: rejection loop until no contact). The
  /// same seed gives the same state. Returns the observation.
  const std::vector<double>& reset(std::uint64_t seed);
  /// Reset with explicit start/ball/goal xy (no further noise on them; the agent's own reset noise
  /// is drawn from the current random stream, see seed()), e.g. for data collection.
  const std::vector<double>& reset_at(const std::array<double, 2>& agent_xy,
                                      const std::array<double, 2>& ball_xy,
                                      const std::array<double, 2>& goal_xy);
  /// Reseed the random stream (reset() does it with its seed).
  void seed(std::uint64_t seed);
  StepOutcome step(const double* action);

  /// The observation returned by the last reset() or step() (on a teleporting step: before the jump).
  const std::vector<double>& observation() const { return observation_; }
  /// [qpos, qvel] after the last reset() or step(); at reset the quaternions follow the flag.
  std::vector<double> state() const;
  /// Success of the current simulator state: the agent's (maze) or ball's (soccer) xy within the
  /// tolerance of the goal.
  bool success_now() const;
  const std::array<double, 2>& goal_xy() const { return goal_; }
  void set_goal(const std::array<double, 2>& goal);

  double uniform(double lo, double hi);
  double normal();

 private:
  void reset_agent();
  void place(const std::array<double, 2>& agent_xy, const std::array<double, 2>& ball_xy);

  ogbench::ParsedName name_;
  ogbench::TaskSpec task_;
  RewardTiming timing_;
  ResetQuaternion quaternion_;
  Scene scene_;
  std::mt19937_64 rng_;
  std::array<double, 2> goal_{0, 0};
  std::vector<double> observation_;
  std::vector<double> reset_qpos_;  ///< qpos as written at reset (raw quaternions)
  int steps_ = -1;                  ///< −1 before the first reset
  int rejections_ = 0;
  bool at_reset_ = false;  ///< no step since the last reset
};

}  // namespace dipole::locomaze
