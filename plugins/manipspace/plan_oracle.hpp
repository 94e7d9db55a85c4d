// OGBench's plan oracles (ogbench_manipulation.md §6.3, §6.4): open-loop keyframes re-planned per
// sub-task (cube, button, drawer, window), interpolated every 0.05 s, optionally perturbed with
// smoothed Gaussian noise, tracked with a proportional action. These generate the `play` datasets
// together with the data-collection env (collect_env.hpp); the generator loop of §6.2 is not here.
// MuJoCo-only: no ATen here.
#pragma once

#include <array>
#include <random>
#include <vector>

#include "manip_env.hpp"

namespace dipole::manipspace::plan {

/// A pure-yaw pose (Rz(yaw), pos).
struct Pose {
  Vec3 pos{};
  double yaw = 0.0;
};
struct Keyframe {
  double t = 0.0;  ///< seconds from the oracle's reset
  Pose pose;
  double grasp = 0.0;  ///< 0 open, 1 closed
};
struct Row {
  Vec3 pos{};
  double yaw = 0.0;
  double grasp = 0.0;
};

constexpr double kRowDt = 0.05;  ///< one plan row per env step

/// yaw₊: the yaw mapped into [0, 2π).
double yaw_plus(double yaw);
/// sym(ψ_e, θ_o, p, n): of θ_o + k·2π/n (k = −n…n) the candidate nearest ψ_e (the first on ties).
Pose sym(double psi_e, double theta_o, const Vec3& p, int n);
/// above(T, h): T raised by h.
Pose above(const Pose& pose, double height);
/// The geodesic (screw) midpoint of two pure-yaw poses (§6.3 closed form).
Pose midpoint(const Pose& a, const Pose& b);
/// Plan rows at t_j = j·0.05 (repeated addition) while t_j < t_last: piecewise-linear position and
/// grasp, geodesic yaw per segment wrapped into (−π, π].
std::vector<Row> interpolate(const std::vector<Keyframe>& keys);
/// The 5 taps of a σ = `smoothing` Gaussian (scipy gaussian_filter1d: truncate 4, radius
/// int(4σ + 0.5)), normalised; radius 2 for σ = 0.5.
std::vector<double> gaussian_taps(double smoothing);
/// Add N(0, 1)·(0.05, 0.05, 0.05, 0.3, 1.0)·noise, smoothed along time with `smoothing`
/// (reflect boundary), to every row (position, yaw, grasp).
void add_noise(std::vector<Row>& rows, double noise, double smoothing, std::mt19937_64& rng);

/// A pose uniform in the arm box with yaw ~ U(−π, π): the "rest" pose f ending every plan (§6.4).
Pose random_final_pose(const Vec3& arm_lo, const Vec3& arm_hi, std::mt19937_64& rng);

/// §6.4 keyframes (nominal times, before jitter). `final_pose` = f.
/// Cube: pick cube `cube` up and put it on its mocap goal (heights drawn from `rng`).
std::vector<Keyframe> cube_keyframes(const ManipEnv& env, int cube, const Pose& final_pose,
                                     std::mt19937_64& rng);
/// Button: press btntop_`button` (yaw = the top's x coordinate, an OGBench quirk kept); the gripper
/// closes for the press (scene) or stays closed throughout (`always_closed`, puzzle).
std::vector<Keyframe> button_keyframes(const ManipEnv& env, int button, bool always_closed,
                                       const Pose& final_pose);
/// Drawer (`window` false, approach +0.12) or window (approach +0.06): grasp the handle, move it to
/// the target-handle site, release.
std::vector<Keyframe> handle_keyframes(const ManipEnv& env, bool window, const Pose& final_pose);

/// Time jitter half-widths (§6.4): cube 0.2·dt = 0.08 s, button/drawer/window 0.1·dt = 0.04 s.
inline constexpr double kCubeJitter = 0.08;
inline constexpr double kOtherJitter = 0.04;

/// One plan-oracle sub-task: jittered keyframes → rows (+ noise), tracked open-loop in time.
class PlanOracle {
 public:
  explicit PlanOracle(double noise, double smoothing = 0.5) : noise_(noise), smoothing_(smoothing) {}

  /// Jitter every keyframe time but the first by U(−1, 1)·jitter, interpolate, add noise, and
  /// record data.time as the start.
  void start(const ManipEnv& env, std::vector<Keyframe> keys, double jitter, std::mt19937_64& rng);
  /// The action for the current data.time; marks done() once the last row is reached.
  Action action(const ManipEnv& env);
  bool done() const { return done_; }
  int length() const { return static_cast<int>(rows_.size()); }
  const std::vector<Keyframe>& keyframes() const { return keys_; }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  double noise_, smoothing_;
  std::vector<Keyframe> keys_;
  std::vector<Row> rows_;
  double t_init_ = 0.0;
  bool done_ = true;
};

}  // namespace dipole::manipspace::plan
