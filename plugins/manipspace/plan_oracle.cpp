// Plan oracles (see plan_oracle.hpp). Section numbers refer to /work/shared/docs/ogbench_manipulation.md.
#include "plan_oracle.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <string>
#include <utility>

namespace dipole::manipspace::plan {
namespace {

constexpr double kPi = 3.141592653589793;

double uniform(std::mt19937_64& rng, double lo, double hi) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  return lo + (hi - lo) * u;
}

/// Wrap into [−π, π] as the SO(3) log of a z-rotation does.
double wrap(double angle) {
  return std::atan2(std::sin(angle), std::cos(angle));
}

}  // namespace

double yaw_plus(double yaw) {
  return yaw < 0.0 ? yaw + 2.0 * kPi : yaw;
}

Pose sym(double psi_e, double theta_o, const Vec3& p, int n) {
  double best = theta_o, gap = INFINITY;
  for (int k = -n; k <= n; ++k) {
    const double candidate = theta_o + k * 2.0 * kPi / n;
    if (std::abs(psi_e - candidate) < gap) {
      gap = std::abs(psi_e - candidate);
      best = candidate;
    }
  }
  return {p, best};
}

Pose above(const Pose& pose, double height) {
  return {{pose.pos[0], pose.pos[1], pose.pos[2] + height}, pose.yaw};
}

Pose midpoint(const Pose& a, const Pose& b) {
  const double phi = wrap(b.yaw - a.yaw);
  const std::complex<double> delta(b.pos[0] - a.pos[0], b.pos[1] - a.pos[1]);
  const std::complex<double> xy =
      std::complex<double>(a.pos[0], a.pos[1]) + delta / (1.0 + std::polar(1.0, phi / 2));
  return {{xy.real(), xy.imag(), 0.5 * (a.pos[2] + b.pos[2])}, a.yaw + phi / 2};
}

std::vector<Row> interpolate(const std::vector<Keyframe>& keys) {
  std::vector<Row> rows;
  if (keys.size() < 2) return rows;
  const double t_last = keys.back().t;
  std::size_t s = 0;
  for (double t = 0.0; t < t_last; t += kRowDt) {
    while (s + 2 < keys.size() && t >= keys[s + 1].t) ++s;
    const Keyframe& k0 = keys[s];
    const Keyframe& k1 = keys[s + 1];
    const double span = k1.t - k0.t;
    const double alpha = std::clamp(span > 0.0 ? (t - k0.t) / span : 1.0, 0.0, 1.0);
    Row row;
    for (std::size_t c = 0; c < 3; ++c)
      row.pos[c] = k0.pose.pos[c] + alpha * (k1.pose.pos[c] - k0.pose.pos[c]);
    row.yaw = wrap(k0.pose.yaw + alpha * wrap(k1.pose.yaw - k0.pose.yaw));
    row.grasp = k0.grasp + alpha * (k1.grasp - k0.grasp);
    rows.push_back(row);
  }
  return rows;
}

std::vector<double> gaussian_taps(double smoothing) {
  const int radius = static_cast<int>(4.0 * smoothing + 0.5);
  std::vector<double> taps;
  double total = 0.0;
  for (int k = -radius; k <= radius; ++k) {
    taps.push_back(std::exp(-0.5 * k * k / (smoothing * smoothing)));
    total += taps.back();
  }
  for (double& w : taps) w /= total;
  return taps;
}

void add_noise(std::vector<Row>& rows, double noise, double smoothing, std::mt19937_64& rng) {
  if (noise <= 0.0 || rows.empty()) return;
  const auto n = static_cast<int>(rows.size());
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::array<double, 5>> raw(rows.size());
  for (auto& r : raw)
    for (std::size_t c = 0; c < 5; ++c) r[c] = normal(rng) * Constants::kActionScale[c] * noise;
  const std::vector<double> taps = gaussian_taps(smoothing);
  const int radius = static_cast<int>(taps.size() / 2);
  const auto reflect = [n](int i) {  // scipy "reflect": −1 ↦ 0, −2 ↦ 1, n ↦ n−1, n+1 ↦ n−2
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
  };
  for (int j = 0; j < n; ++j) {
    std::array<double, 5> smooth{};
    for (int k = -radius; k <= radius; ++k)
      for (std::size_t c = 0; c < 5; ++c)
        smooth[c] +=
            taps[static_cast<std::size_t>(k + radius)] * raw[static_cast<std::size_t>(reflect(j + k))][c];
    Row& row = rows[static_cast<std::size_t>(j)];
    for (std::size_t c = 0; c < 3; ++c) row.pos[c] += smooth[c];
    row.yaw += smooth[3];
    row.grasp += smooth[4];
  }
}

Pose random_final_pose(const Vec3& arm_lo, const Vec3& arm_hi, std::mt19937_64& rng) {
  Pose f;
  for (std::size_t k = 0; k < 3; ++k) f.pos[k] = uniform(rng, arm_lo[k], arm_hi[k]);
  f.yaw = uniform(rng, -kPi, kPi);
  return f;
}

std::vector<Keyframe> cube_keyframes(const ManipEnv& env, int cube, const Pose& final_pose,
                                     std::mt19937_64& rng) {
  const Pose e = {env.effector_pos(), env.effector_yaw()};
  const Pose b = {env.cube_pos(cube), quat_yaw(env.cube_quat(cube))};
  const double* q = env.data()->mocap_quat + 4 * cube;  // mocap i is cube i's goal
  const Pose o = {env.cube_goal(cube), quat_yaw({q[0], q[1], q[2], q[3]})};

  const Pose b1 = sym(yaw_plus(e.yaw), yaw_plus(b.yaw), b.pos, 4);
  const Pose pick = above(b1, 0.1 + uniform(rng, 0.0, 0.1));
  const Pose o1 = sym(yaw_plus(pick.yaw), yaw_plus(o.yaw), o.pos, 4);
  const Pose place = above(o1, 0.1 + uniform(rng, 0.0, 0.1));
  const Pose m = midpoint(pick, place);
  const double cx = uniform(rng, -0.1, 0.1), cy = uniform(rng, -0.1, 0.1), cz = uniform(rng, 0.0, 0.2);
  const Pose clearance = {{m.pos[0] + cx, m.pos[1] + cy, e.pos[2] + cz}, m.yaw};
  constexpr double dt = 0.4;
  return {{0.0, e, 0.0},
          {dt, pick, 0.0},
          {2.5 * dt, b1, 0.0},
          {3.5 * dt, b1, 1.0},
          {4.5 * dt, pick, 1.0},
          {5.5 * dt, clearance, 1.0},
          {6.5 * dt, place, 1.0},
          {8.0 * dt, o1, 1.0},
          {9.0 * dt, o1, 0.0},
          {10.0 * dt, place, 0.0},
          {11.0 * dt, final_pose, 0.0}};
}

std::vector<Keyframe> button_keyframes(const ManipEnv& env, int button, bool always_closed,
                                       const Pose& final_pose) {
  const Pose e = {env.effector_pos(), env.effector_yaw()};
  const Vec3 top = env.site_pos(env.site_id("btntop_" + std::to_string(button)));
  const Pose b = {top, top[0]};  // the yaw is the top's x coordinate (OGBench quirk, §6.4)
  const Pose approach = above(b, 0.06);
  const double d =
      std::hypot(e.pos[0] - approach.pos[0], e.pos[1] - approach.pos[1], e.pos[2] - approach.pos[2]);
  const double g0 = always_closed ? 1.0 : 0.0;
  const double press_start = 0.4 * (0.5 + 4.0 * d);
  const double press = press_start + 0.32, press_end = press + 0.32;
  return {{0.0, e, g0},
          {press_start, approach, 1.0},
          {press, above(b, -0.025), 1.0},
          {press_end, approach, 1.0},
          {press_end + 0.5, final_pose, g0}};
}

std::vector<Keyframe> handle_keyframes(const ManipEnv& env, bool window, const Pose& final_pose) {
  const Pose e = {env.effector_pos(), env.effector_yaw()};
  const int handle = env.site_id(window ? "window_handle_center" : "drawer_handle_center");
  const double handle_yaw = mat_yaw(env.data()->site_xmat + 9 * handle);
  const Vec3 h = env.site_pos(handle);
  const Vec3 target =
      env.site_pos(env.site_id(window ? "window_handle_center_target" : "drawer_handle_center_target"));
  const Pose h1 = sym(yaw_plus(e.yaw), yaw_plus(handle_yaw), h, 2);
  const Pose t1 = sym(yaw_plus(e.yaw), yaw_plus(handle_yaw), target, 2);
  const double offset = window ? 0.06 : 0.12;
  return {
      {0.0, e, 0.0},  {0.4, above(h1, offset), 0.0}, {0.6, h1, 0.0},        {0.8, h1, 1.0}, {1.0, t1, 1.0},
      {1.2, t1, 0.0}, {1.4, above(t1, offset), 0.0}, {1.8, final_pose, 0.0}};
}

void PlanOracle::start(const ManipEnv& env, std::vector<Keyframe> keys, double jitter, std::mt19937_64& rng) {
  keys_ = std::move(keys);
  for (std::size_t k = 1; k < keys_.size(); ++k) keys_[k].t += uniform(rng, -1.0, 1.0) * jitter;
  rows_ = interpolate(keys_);
  add_noise(rows_, noise_, smoothing_, rng);
  t_init_ = env.data()->time;
  done_ = rows_.empty();
}

Action PlanOracle::action(const ManipEnv& env) {
  if (rows_.empty()) return {};
  auto k = static_cast<int>(std::floor((env.data()->time - t_init_ + 1e-7) / kRowDt));
  if (k >= length() - 1) {
    k = length() - 1;
    done_ = true;
  }
  const Row& row = rows_[static_cast<std::size_t>(std::max(k, 0))];
  const Vec3 p = env.effector_pos();
  const double raw[5] = {row.pos[0] - p[0], row.pos[1] - p[1], row.pos[2] - p[2],
                         row.yaw - env.effector_yaw(),  // not wrapped (§6.3)
                         row.grasp - env.gripper_opening()};
  Action a{};
  for (std::size_t c = 0; c < 5; ++c) a[c] = std::clamp(raw[c] / Constants::kActionScale[c], -1.0, 1.0);
  return a;
}

}  // namespace dipole::manipspace::plan
