// OGBench's data-collection mode (ogbench_manipulation.md §6.1): the reset that randomises every
// object, and set_new_target, which picks the next sub-task for the play oracles (a cube to move,
// possibly onto another cube or into the drawer; a button to toggle; the drawer or window to open
// or close). No oracle and no generator loop here (§6.2–6.4 are separate work); they drive this
// class. MuJoCo-only: no ATen here.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "manip_env.hpp"

namespace dipole::manipspace {

/// The current sub-task of a data-collection episode.
struct CollectTarget {
  enum class Kind { Cube, Button, Drawer, Window };
  Kind kind = Kind::Cube;
  int index = 0;     ///< Cube: which cube; Button: which button
  Vec3 pos{};        ///< Cube: goal position (also mocap `index`)
  double yaw = 0.0;  ///< Cube: goal yaw (mocap quaternion Rz(yaw))
  int state = 0;     ///< Button: the state to reach
  double q = 0.0;    ///< Drawer / window: the joint position to reach
};

/// §6.1 "top" cubes: cube i is a top cube unless another cube j is higher (z_j > z_i) with
/// ‖xy_i − xy_j‖ < 0.02.
std::vector<int> top_cubes(const std::vector<Vec3>& cubes);
/// §6.1: a cube at p is in the drawer when (0.21, y_h − 0.27, 0) ≤ p ≤ (0.45, y_h − 0.07, 0.15),
/// y_h = current y of drawer_handle_center.
bool in_drawer(const Vec3& p, double handle_y);

class DataCollectionEnv {
 public:
  static constexpr int kEpisodeSteps = 1001;             ///< rows per play episode (§6.2)
  static constexpr double kResetStackProbability = 0.5;  ///< set_new_target's default at reset (§6.1.3)

  explicit DataCollectionEnv(const SceneLayout& layout);

  ManipEnv& env() { return env_; }
  const ManipEnv& env() const { return env_; }
  const CollectTarget& target() const { return target_; }
  /// The env's own stream (resets, targets); oracles should use their own.
  std::mt19937_64& rng() { return rng_; }

  /// §6.1 reset: home, random arm pose (IK from home), objects randomised, set_new_target(0.5),
  /// pre_step, mj_forward. Returns the observation.
  std::vector<double> reset(std::uint64_t seed);
  /// §6.1 set_new_target: choose and write the next target (mocaps, target sites), mj_kinematics.
  void set_new_target(double p_stack);
  /// One env step (§2.4 without task bookkeeping); returns target_success() afterwards.
  bool step(const Action& action);
  /// The current target holds (cube within 0.04 of its goal, button in its state, drawer/window
  /// within 0.04 of its position).
  bool target_success() const;

 private:
  double uniform(double lo, double hi);
  int uniform_index(int n);
  void set_cube_target(int cube, const Vec3& pos, double yaw);

  ManipEnv env_;
  std::mt19937_64 rng_;
  CollectTarget target_;
};

}  // namespace dipole::manipspace
