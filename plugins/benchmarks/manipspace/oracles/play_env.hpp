// The data-collection ("play") mode of the OGBench manipulation environments
// (docs/ogbench.md, "Data-collection env"): the task-free reset, the random sub-task targets of
// `set_new_target` and the read-outs ("info") the plan oracles act on. Built on ManipEnv (all
// physics, IK and state edits are ManipEnv's). MuJoCo-only: no ATen here.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "manip_env.hpp"
#include "ogbench_tasks.hpp"

namespace dipole::manipspace::oracles {

/// Explicit random stream of one episode (env or oracle side): 53-bit uniforms, Box–Muller normals.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}
  void seed(std::uint64_t seed) { engine_.seed(seed); }
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  ///< [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int below(int n) { return static_cast<int>(uniform() * n); }  ///< uniform on {0, …, n−1}
  double normal();                                              ///< N(0, 1)

 private:
  std::mt19937_64 engine_;
};

/// splitmix64 of (seed, index, stream): independent, reproducible streams per episode and purpose.
std::uint64_t stream_seed(std::uint64_t seed, std::int64_t index, std::uint64_t stream);

/// What the current sub-task asks for (set_new_target, docs/ogbench.md, "Data-collection env").
enum class TargetTask { Cube, Button, Drawer, Window };
const char* to_string(TargetTask task);

struct PlayTarget {
  TargetTask task = TargetTask::Cube;
  int cube = 0;             ///< Cube: which cube; its goal pose is mocap `cube`
  Vec3 cube_pos{};          ///< Cube: target position
  double cube_yaw = 0.0;    ///< Cube: target yaw in [0, 2π)
  int button = 0;           ///< Button: which button
  int button_state = 0;     ///< Button: the state asked for (current + 1 mod 2)
  double joint_target = 0;  ///< Drawer / Window: the target joint value (also written to the target site)
};

class PlayEnv {
 public:
  static constexpr int kEpisodeSteps = 1001;  ///< episode limit of the play datasets

  /// cube-single, cube-double, scene or puzzle-3x3 (ConfigError otherwise).
  explicit PlayEnv(ogbench::Category category);
  PlayEnv(const PlayEnv&) = delete;
  PlayEnv& operator=(const PlayEnv&) = delete;

  ogbench::Category category() const { return category_; }
  ManipEnv& env() { return env_; }
  const ManipEnv& env() const { return env_; }
  /// The env's own random stream (reset and targets); the oracles use another one.
  Rng& rng() { return rng_; }
  int steps() const { return steps_; }

  /// Reset: home, random arm pose by IK from home, random objects, set_new_target(0.5),
  /// pre_step and mj_forward. The same seed gives the same state.
  void reset(std::uint64_t seed);
  /// ManipEnv::step (the action is not clipped here: the generator clips); counts the step.
  void step(const Action& action);
  bool truncated() const { return steps_ >= kEpisodeSteps; }

  /// set_new_target(p_stack), then the kinematics for scene/puzzle (target sites).
  void set_new_target(double p_stack);
  /// Use `target` as the current sub-task (tests, forced sub-tasks): writes the cube mocap / target
  /// site like set_new_target does.
  void set_target(const PlayTarget& target);
  const PlayTarget& target() const { return target_; }
  /// Whether the current state satisfies the current target (cube within 0.04 of its goal, button in
  /// the asked state, drawer/window within 0.04 of the target): OGBench's data-collection success.
  bool target_reached() const;

  // ---- the oracles' "info" (current mjData; lagged effector kinematics in cube envs, docs/ogbench.md,
  // "Manipulation: observation")
  Vec3 effector_pos() const { return env_.effector_pos(); }
  double effector_yaw() const { return env_.effector_yaw(); }
  double gripper_opening() const { return env_.gripper_opening(); }
  double time() const;
  /// Arm sampling box (docs/ogbench.md, "Manipulation: reset, success, reward"; also the oracles' final-pose
  /// box).
  const Vec3& arm_lo() const { return arm_lo_; }
  const Vec3& arm_hi() const { return arm_hi_; }
  double cube_yaw(int i) const;  ///< yaw of the raw qpos quaternion
  Vec3 button_top(int i) const;  ///< site btntop_i
  Vec3 drawer_handle() const;
  Vec3 drawer_target_handle() const;
  double drawer_handle_yaw() const;
  Vec3 window_handle() const;
  Vec3 window_target_handle() const;
  double window_handle_yaw() const;

  /// [qpos (nq), qvel (nv), button states (nb)] of the current state, the recorder's layout.
  std::vector<double> state() const;
  int state_dim() const;

 private:
  std::vector<int> top_cubes(const std::vector<int>& candidates) const;
  void write_target();

  ogbench::Category category_;
  ManipEnv env_;
  Rng rng_;
  Vec3 arm_lo_{}, arm_hi_{};
  PlayTarget target_;
  int steps_ = -1;
  std::vector<int> button_top_sites_;
  int drawer_handle_site_ = -1, drawer_target_site_ = -1, window_handle_site_ = -1, window_target_site_ = -1;
};

}  // namespace dipole::manipspace::oracles
