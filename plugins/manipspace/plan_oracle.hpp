// OGBench's plan oracle for cubes (ogbench_manipulation.md §6.3, §6.4 "Cube"): open-loop keyframes
// re-planned per sub-task, interpolated every 0.05 s, optionally perturbed with smoothed Gaussian
// noise, tracked with a proportional action. The shared plan machinery (sym, SE(3) midpoint,
// interpolation, noise) is separate from the cube keyframes so the button/drawer/window oracles of
// §6.4 can reuse it. MuJoCo-only: no ATen here.
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

/// The cube plan oracle of §6.4 for one sub-task: move cube `cube` onto its mocap goal, then go to a
/// random rest pose in the arm box.
class CubeOracle {
 public:
  CubeOracle(const Vec3& arm_lo, const Vec3& arm_hi, double noise, double smoothing = 0.5)
      : arm_lo_(arm_lo), arm_hi_(arm_hi), noise_(noise), smoothing_(smoothing) {}

  /// Build the plan from the current state (effector pose, cube pose, goal mocap) and data.time.
  void reset(const ManipEnv& env, int cube, std::mt19937_64& rng);
  /// The action for the current data.time; marks done() once the last row is reached.
  Action action(const ManipEnv& env);
  bool done() const { return done_; }
  int length() const { return static_cast<int>(rows_.size()); }
  const std::vector<Keyframe>& keyframes() const { return keys_; }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  Vec3 arm_lo_, arm_hi_;
  double noise_, smoothing_;
  std::vector<Keyframe> keys_;
  std::vector<Row> rows_;
  double t_init_ = 0.0;
  bool done_ = false;
};

}  // namespace dipole::manipspace::plan
