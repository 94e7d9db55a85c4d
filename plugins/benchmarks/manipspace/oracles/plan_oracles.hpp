// OGBench's plan oracles for the play datasets (docs/ogbench.md, "Plan oracles"): keyframes →
// a time-indexed plan of (xyz, yaw, grasp) targets with smoothed Gaussian noise, followed open loop
// by a proportional action on the current effector pose. Quirks kept on purpose (docs/ogbench.md, "Fidelity
// and checks"): the yaw error is not wrapped, the button yaw is the button top's x coordinate. MuJoCo-free
// math in the first half (tested by hand values), the four oracles on PlayEnv in the second.
#pragma once

#include <vector>

#include "play_env.hpp"

namespace dipole::manipspace::oracles {

// ---- pose helpers (pure-yaw poses) ------------------------------------------------------

/// A pure-yaw pose (Rz(yaw), pos): every pose the plan oracles build has this form.
struct YawPose {
  double yaw = 0.0;
  Vec3 pos{};
};
/// above(T, h): translation raised by h.
YawPose above(const YawPose& pose, double h);
/// yaw₊: the yaw wrapped into [0, 2π).
double yaw_plus(double yaw);
/// sym(ψ_e, θ_o, n): among θ_o + k·2π/n, k = −n … n, the first minimiser of |ψ_e − candidate|.
double symmetric_yaw(double effector_yaw, double object_yaw, int n);
/// The SE(3) geodesic midpoint of two pure-yaw poses (closed form, docs/ogbench.md, "Plan oracles").
YawPose se3_midpoint(const YawPose& a, const YawPose& b);

struct Keyframe {
  double time = 0.0;
  YawPose pose;
  double grasp = 0.0;
};

/// One plan row: absolute targets of the pinch position, yaw and gripper opening.
struct PlanRow {
  Vec3 pos{};
  double yaw = 0.0;
  double grasp = 0.0;
};

/// Rows j = 0, 1, … while t_j < t_last (t advancing by repeated addition of `env_dt`): piecewise-linear
/// xyz and grasp, geodesic yaw per segment, wrapped into (−π, π].
std::vector<PlanRow> interpolate_plan(const std::vector<Keyframe>& keyframes, double env_dt = 0.05);
/// Normalised Gaussian taps of scipy.ndimage.gaussian_filter1d (truncate 4): radius int(4σ + 0.5).
std::vector<double> gaussian_taps(double sigma);
/// gaussian_filter1d along one column of L values, boundary mode "reflect".
std::vector<double> gaussian_smooth(const std::vector<double>& column, double sigma);
/// Plan noise: N(0, 1) · (0.05, 0.05, 0.05, 0.3, 1.0) · noise, smoothed per column, added to the rows.
void add_plan_noise(std::vector<PlanRow>& rows, double noise, double smoothing, Rng& rng);

// ---- the oracles ---------------------------------------------------------------------------------

struct PlanConfig {
  double segment_dt = 0.4;             ///< keyframe spacing dt
  double noise = 0.1;                  ///< plan noise level (0 = none)
  double noise_smoothing = 0.5;        ///< σ of the smoothing, in plan steps
  double jitter_scale = 1.0;           ///< multiplies the keyframe time jitter (1 = OGBench, 0 = none)
  bool gripper_always_closed = false;  ///< button oracle of puzzle
};

/// One plan oracle for the current target of a PlayEnv: reset() builds the plan from the env's info
/// (and draws its randomness from `rng`), action() follows it.
class PlanOracle {
 public:
  explicit PlanOracle(const PlanConfig& config) : config_(config) {}

  /// Builds the plan for env.target() (the task selects the oracle: cube, button, drawer, window).
  void reset(const PlayEnv& env, Rng& rng);
  /// The action for the current env time (clipped to [−1, 1]); marks done on the last plan row.
  Action action(const PlayEnv& env);
  bool done() const { return done_; }
  /// Plan length L in env steps.
  int length() const { return static_cast<int>(plan_.size()); }
  const std::vector<Keyframe>& keyframes() const { return keyframes_; }
  const std::vector<PlanRow>& plan() const { return plan_; }

 private:
  std::vector<Keyframe> cube_keyframes(const PlayEnv& env, const YawPose& e, const YawPose& f,
                                       Rng& rng) const;
  std::vector<Keyframe> button_keyframes(const PlayEnv& env, const YawPose& e, const YawPose& f) const;
  std::vector<Keyframe> handle_keyframes(const YawPose& e, const YawPose& f, const YawPose& handle,
                                         const Vec3& target, double approach) const;

  PlanConfig config_;
  std::vector<Keyframe> keyframes_;
  std::vector<PlanRow> plan_;
  double t_init_ = 0.0;
  bool done_ = false;
};

}  // namespace dipole::manipspace::oracles
