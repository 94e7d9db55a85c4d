// The ExORL Jaco reaching tasks (reach_top_left, reach_top_right; plugins/benchmarks/dmc/README.md, "jaco")
// on the MuJoCo C API, without LibTorch: the model composed at run time from dm_control's kinova files, the
// reset with its inverse kinematics, the observation and the reward.
#pragma once

#include <mujoco/mujoco.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "dmc_task.hpp"

namespace dipole::dmc {

/// Folder of the kinova files, relative to an asset root (located with dipole::find_asset).
inline constexpr const char* kJacoAssetDir = "dm_control/third_party/kinova";

/// The MJCF text of the jaco model (plugins/benchmarks/dmc/README.md, "jaco"), composed from
/// `<kinova_dir>/{common,jaco_arm,jaco_hand}.xml`, with meshdir = `<kinova_dir>/meshes_decimated/` and
/// `target_site` at `target` (visual only). DataError naming the file when one is missing or lacks an element
/// the composition needs.
std::string jaco_model_xml(const std::string& kinova_dir, const std::array<double, 3>& target);

/// Compiles jaco_model_xml(kinova_dir, target) from memory (Physics::load_xml_text) and checks the facts
/// of jaco.cpp (sizes, qpos order, body masses): DataError naming the files otherwise.
Physics load_jaco_physics(const std::string& kinova_dir, const std::array<double, 3>& target);

/// The pinch-site pose dm_control's `ToolCenterPointInitializer` asks for: pointing down (w, x, y, z).
inline constexpr std::array<double, 4> kJacoDownQuat = {0.0, 0.70710678118, 0.70710678118, 0.0};

struct IkResult {
  bool success = false;
  int iterations = 0;  ///< iterations run (the final error check counts as one)
  double error = 0.0;  ///< last ‖e_p‖ + 2‖e_r‖
};

/// The reset's IK (plugins/benchmarks/dmc/README.md, "jaco"; dm_control `qpos_from_site_pose`, rot_weight 2):
/// moves the 6 arm joints of `physics`, in place, so that the pinch site reaches `position` with orientation
/// `quat`. Leaves the kinematics (xpos, site_xpos, ...) of the final qpos in the data.
IkResult jaco_pinch_site_ik(Physics& physics, const std::array<double, 3>& position,
                            const std::array<double, 4>& quat);

/// The minimum-norm least-squares solution of A x = b for a 6 × 6 `matrix` A (row-major), singular
/// values below ε·σ_max treated as zero (NumPy's `lstsq(A, b, rcond=-1)`): the IK's step once the
/// error is below the regularization threshold. Exposed for tests.
std::array<double, 6> min_norm_least_squares(const std::array<double, 36>& matrix,
                                             const std::array<double, 6>& rhs);

/// What one reset did (plugins/benchmarks/dmc/README.md, "jaco"): for the measured figures of the tests.
struct JacoResetStats {
  int samples = 0;             ///< TCP positions drawn
  int ik_attempts = 0;         ///< IK runs in total
  int failed_ik_attempts = 0;  ///< IK failures or joints that could not be wrapped into range
  int rejected_samples = 0;    ///< samples whose solution touched the arm, hand or ground
};

/// A Jaco reaching task: target `target` (world frame, metres).
class JacoTask final : public Task {
 public:
  static constexpr int kObsDim = 42;
  static constexpr int kActionDim = 9;
  static constexpr int kPhysicsSteps = 20;            // control timestep 0.04 s / physics 0.002 s
  static constexpr std::int64_t kEpisodeSteps = 250;  // 10 s

  JacoTask(std::string name, const std::array<double, 3>& target);

  std::string domain() const override { return "jaco"; }
  std::string name() const override { return name_; }
  int obs_dim() const override { return kObsDim; }
  int action_dim() const override { return kActionDim; }
  int physics_steps_per_action() const override { return kPhysicsSteps; }
  std::int64_t episode_steps() const override { return kEpisodeSteps; }

  Physics make_physics() const override;
  void initialize_episode(Physics& physics, Random& random) const override;
  void observation(const Physics& physics, float* out) const override;
  double reward(const Physics& physics) const override;

  /// initialize_episode, also reporting what the TCP placement did.
  JacoResetStats initialize_episode_with_stats(Physics& physics, Random& random) const;
  /// Relabelling shortcut (docs/exorl.md, "Reward relabelling"): the reward of `state` [18] from
  /// mj_kinematics alone (equal to the full-forward Task::reward_from_state, 13 µs → 1.1 µs per state); what
  /// reward_from_state uses.
  double reward_from_state_kinematics(Physics& physics, const double* state) const;
  double reward_from_state(Physics& physics, const double* state) const override {
    return reward_from_state_kinematics(physics, state);
  }

  const std::array<double, 3>& target() const { return target_; }

 private:
  std::string name_;
  std::array<double, 3> target_;
};

/// Reward (plugins/benchmarks/dmc/README.md, "jaco"): tolerance(distance; 0, 0.05, margin 0.05, gaussian,
/// 0.1), rounded to float32.
double jaco_reach_reward(double distance);

/// The jaco task `task` ("reach_top_left", "reach_top_right"), or nullptr for another name.
std::unique_ptr<Task> make_jaco_task(const std::string& task);
/// The names make_jaco_task accepts.
std::vector<std::string> jaco_task_names();

}  // namespace dipole::dmc
