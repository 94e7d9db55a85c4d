// Plan oracles (see plan_oracles.hpp; docs/ogbench.md, "Plan oracles").
#include "plan_oracles.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <cmath>
#include <complex>

namespace dipole::manipspace::oracles {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kEnvDt = 0.05;  // control timestep (25 × 0.002 s)

double clip(double x, double lo, double hi) {
  return std::min(std::max(x, lo), hi);
}

double distance(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                   (a[2] - b[2]) * (a[2] - b[2]));
}

}  // namespace

YawPose above(const YawPose& pose, double h) {
  return {pose.yaw, {pose.pos[0], pose.pos[1], pose.pos[2] + h}};
}

double yaw_plus(double yaw) {
  const double w = wrap_angle(yaw);
  return w < 0.0 ? w + 2.0 * kPi : w;
}

double symmetric_yaw(double effector_yaw, double object_yaw, int n) {
  double best = object_yaw, best_gap = INFINITY;
  for (int k = -n; k <= n; ++k) {
    const double candidate = k * 2.0 * kPi / n + object_yaw;
    const double gap = std::abs(effector_yaw - candidate);
    if (gap < best_gap) best = candidate, best_gap = gap;  // strict: the first minimiser wins ties
  }
  return best;
}

YawPose se3_midpoint(const YawPose& a, const YawPose& b) {
  const double phi = wrap_angle(b.yaw - a.yaw);
  const std::complex<double> pa(a.pos[0], a.pos[1]), pb(b.pos[0], b.pos[1]);
  const std::complex<double> xy = pa + (pb - pa) / (1.0 + std::polar(1.0, 0.5 * phi));
  return {a.yaw + 0.5 * phi, {xy.real(), xy.imag(), 0.5 * (a.pos[2] + b.pos[2])}};
}

std::vector<PlanRow> interpolate_plan(const std::vector<Keyframe>& keyframes, double env_dt) {
  if (keyframes.size() < 2) throw NumericError("plan oracle: a plan needs at least two keyframes");
  for (std::size_t k = 1; k < keyframes.size(); ++k)
    if (!(keyframes[k].time > keyframes[k - 1].time))
      throw NumericError("plan oracle: keyframe times are not increasing at keyframe " + std::to_string(k));
  const double t_last = keyframes.back().time;
  std::vector<PlanRow> rows;
  std::size_t s = 0;
  for (double t = 0.0; t < t_last; t += env_dt) {
    while (s + 2 < keyframes.size() && keyframes[s + 1].time <= t) ++s;  // t_s ≤ t < t_{s+1}
    const Keyframe& k0 = keyframes[s];
    const Keyframe& k1 = keyframes[s + 1];
    const double alpha = clip((t - k0.time) / (k1.time - k0.time), 0.0, 1.0);
    PlanRow row;
    for (std::size_t i = 0; i < 3; ++i)
      row.pos[i] = k0.pose.pos[i] + alpha * (k1.pose.pos[i] - k0.pose.pos[i]);
    row.yaw = wrap_angle(k0.pose.yaw + alpha * wrap_angle(k1.pose.yaw - k0.pose.yaw));
    row.grasp = k0.grasp + alpha * (k1.grasp - k0.grasp);
    rows.push_back(row);
  }
  return rows;
}

std::vector<double> gaussian_taps(double sigma) {
  // scipy: radius = int(truncate · σ + 0.5), a truncation on purpose.
  const int radius = static_cast<int>(4.0 * sigma + 0.5);  // NOLINT(bugprone-incorrect-roundings)
  std::vector<double> w(2 * static_cast<std::size_t>(radius) + 1);
  double sum = 0.0;
  for (int k = -radius; k <= radius; ++k) {
    const double v = std::exp(-0.5 * k * k / (sigma * sigma));
    const int j = k + radius;
    w[static_cast<std::size_t>(j)] = v;
    sum += v;
  }
  for (double& v : w) v /= sum;
  return w;
}

std::vector<double> gaussian_smooth(const std::vector<double>& column, double sigma) {
  const std::vector<double> w = gaussian_taps(sigma);
  const int radius = static_cast<int>(w.size() / 2);
  const int n = static_cast<int>(column.size());
  const auto reflect = [n](int j) {  // scipy "reflect": (d c b a | a b c d | d c b a)
    while (j < 0 || j >= n) j = j < 0 ? -j - 1 : 2 * n - j - 1;
    return j;
  };
  std::vector<double> out(column.size(), 0.0);
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int k = -radius; k <= radius; ++k) {
      const int j = k + radius;
      s += w[static_cast<std::size_t>(j)] * column[static_cast<std::size_t>(reflect(i + k))];
    }
    out[static_cast<std::size_t>(i)] = s;
  }
  return out;
}

void add_plan_noise(std::vector<PlanRow>& rows, double noise, double smoothing, Rng& rng) {
  if (noise <= 0.0 || rows.empty()) return;
  const std::size_t n = rows.size();
  std::vector<std::vector<double>> columns(5, std::vector<double>(n));
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t c = 0; c < 5; ++c) columns[c][j] = rng.normal() * Constants::kActionScale[c] * noise;
  for (auto& column : columns)
    if (smoothing > 0.0) column = gaussian_smooth(column, smoothing);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < 3; ++i) rows[j].pos[i] += columns[i][j];
    rows[j].yaw += columns[3][j];
    rows[j].grasp += columns[4][j];
  }
}

// ---- the four oracles ----------------------------------------------------------------------------------

std::vector<Keyframe> PlanOracle::cube_keyframes(const PlayEnv& env, const YawPose& e, const YawPose& f,
                                                 Rng& rng) const {
  const PlayTarget& target = env.target();
  const YawPose b{env.cube_yaw(target.cube), env.env().cube_pos(target.cube)};
  const YawPose o{wrap_angle(target.cube_yaw), target.cube_pos};
  const YawPose b1{symmetric_yaw(yaw_plus(e.yaw), yaw_plus(b.yaw), 4), b.pos};
  const YawPose pick = above(b1, 0.1 + rng.uniform(0.0, 0.1));
  const YawPose o1{symmetric_yaw(yaw_plus(pick.yaw), yaw_plus(o.yaw), 4), o.pos};
  const YawPose place = above(o1, 0.1 + rng.uniform(0.0, 0.1));
  const YawPose m = se3_midpoint(pick, place);
  YawPose clearance{m.yaw, {m.pos[0], m.pos[1], e.pos[2]}};
  clearance.pos[0] += rng.uniform(-0.1, 0.1);
  clearance.pos[1] += rng.uniform(-0.1, 0.1);
  clearance.pos[2] += rng.uniform(0.0, 0.2);
  // Nominal times: dt, 1.5 dt, dt, dt, dt, dt, 1.5 dt, dt, dt, dt after the previous keyframe.
  const double dt = config_.segment_dt;
  const double steps[] = {1.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0};
  const YawPose poses[] = {pick, b1, b1, pick, clearance, place, o1, o1, place, f};
  const double grasps[] = {0, 0, 1, 1, 1, 1, 1, 0, 0, 0};
  std::vector<Keyframe> k{{0.0, e, 0.0}};
  for (std::size_t i = 0; i < 10; ++i) k.push_back({k.back().time + dt * steps[i], poses[i], grasps[i]});
  for (std::size_t i = 1; i < k.size(); ++i)
    k[i].time += rng.uniform(-1.0, 1.0) * dt * 0.2 * config_.jitter_scale;
  return k;
}

std::vector<Keyframe> PlanOracle::button_keyframes(const PlayEnv& env, const YawPose& e,
                                                   const YawPose& f) const {
  const Vec3 top = env.button_top(env.target().button);
  const YawPose button{top[0], top};  // OGBench passes the top's x coordinate as the yaw (kept)
  const YawPose press_start = above(button, 0.06), press = above(button, -0.025);
  const double d = distance(e.pos, press_start.pos);
  const double dt = config_.segment_dt;
  const double closed = config_.gripper_always_closed ? 1.0 : 0.0;
  std::vector<Keyframe> k;
  k.push_back({0.0, e, closed});
  k.push_back({dt * (0.5 + 4.0 * d), press_start, 1.0});
  k.push_back({k.back().time + dt * 0.8, press, 1.0});
  k.push_back({k.back().time + dt * 0.8, press_start, 1.0});
  k.push_back({k.back().time + dt * 1.25, f, closed});
  return k;
}

std::vector<Keyframe> PlanOracle::handle_keyframes(const YawPose& e, const YawPose& f, const YawPose& handle,
                                                   const Vec3& target, double approach) const {
  const double yaw = symmetric_yaw(yaw_plus(e.yaw), yaw_plus(handle.yaw), 2);
  const YawPose h{yaw, handle.pos}, h_target{yaw, target};
  const double dt = config_.segment_dt;
  const double steps[] = {1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0};
  const YawPose poses[] = {above(h, approach), h, h, h_target, h_target, above(h_target, approach), f};
  const double grasps[] = {0, 0, 1, 1, 0, 0, 0};
  std::vector<Keyframe> k{{0.0, e, 0.0}};
  for (std::size_t i = 0; i < 7; ++i) k.push_back({k.back().time + dt * steps[i], poses[i], grasps[i]});
  return k;
}

void PlanOracle::reset(const PlayEnv& env, Rng& rng) {
  const YawPose e{env.effector_yaw(), env.effector_pos()};
  YawPose f;
  for (std::size_t i = 0; i < 3; ++i) f.pos[i] = rng.uniform(env.arm_lo()[i], env.arm_hi()[i]);
  f.yaw = rng.uniform(-kPi, kPi);
  double jitter = 0.1;  // ± jitter · dt on every keyframe time but the first
  switch (env.target().task) {
    case TargetTask::Cube:
      keyframes_ = cube_keyframes(env, e, f, rng);  // draws its own ±0.2 dt jitter
      jitter = 0.0;
      break;
    case TargetTask::Button:
      keyframes_ = button_keyframes(env, e, f);
      break;
    case TargetTask::Drawer:
      keyframes_ = handle_keyframes(e, f, {env.drawer_handle_yaw(), env.drawer_handle()},
                                    env.drawer_target_handle(), 0.12);
      break;
    case TargetTask::Window:
      keyframes_ = handle_keyframes(e, f, {env.window_handle_yaw(), env.window_handle()},
                                    env.window_target_handle(), 0.06);
      break;
  }
  for (std::size_t i = 1; i < keyframes_.size() && jitter > 0.0; ++i)
    keyframes_[i].time += rng.uniform(-1.0, 1.0) * config_.segment_dt * jitter * config_.jitter_scale;
  plan_ = interpolate_plan(keyframes_, kEnvDt);
  add_plan_noise(plan_, config_.noise, config_.noise_smoothing, rng);
  t_init_ = env.time();
  done_ = false;
}

Action PlanOracle::action(const PlayEnv& env) {
  if (plan_.empty()) throw std::logic_error("PlanOracle: action() before reset()");
  auto k = static_cast<std::size_t>(std::floor((env.time() - t_init_ + 1e-7) / kEnvDt));
  if (k + 1 >= plan_.size()) {
    k = plan_.size() - 1;
    done_ = true;
  }
  const PlanRow& row = plan_[k];
  const Vec3 p = env.effector_pos();
  Action raw{};
  for (std::size_t i = 0; i < 3; ++i) raw[i] = row.pos[i] - p[i];
  raw[3] = row.yaw - env.effector_yaw();  // not wrapped: OGBench turns the long way across ±π (kept)
  raw[4] = row.grasp - env.gripper_opening();
  for (std::size_t i = 0; i < 5; ++i) raw[i] = clip(raw[i] / Constants::kActionScale[i], -1.0, 1.0);
  return raw;
}

}  // namespace dipole::manipspace::oracles
