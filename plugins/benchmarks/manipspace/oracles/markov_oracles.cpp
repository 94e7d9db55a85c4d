// Markov oracles (see markov_oracles.hpp; docs/ogbench.md, "Markov oracles and noisy data").
#include "markov_oracles.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "plan_oracles.hpp"

namespace dipole::manipspace::oracles {
namespace {

constexpr double kPi = 3.141592653589793;

double distance(const Vec3& a, const Vec3& b, int dims) {
  double s = 0.0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(dims); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

Vec3 minus(const Vec3& a, const Vec3& b) {
  return {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
}

}  // namespace

Action markov_action(const Vec3& d, double yaw, double grip) {
  const double norm = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  const double scale = norm >= 0.4 ? 1.0 : 0.4 / (norm + 1e-6);
  Action a = {5 * scale * d[0], 5 * scale * d[1], 5 * scale * d[2], 3 * yaw, grip};
  for (double& v : a) v = std::clamp(v, -1.0, 1.0);
  return a;
}

void MarkovOracle::reset(const PlayTarget& target, Rng& rng) {
  target_ = target;
  Vec3 lo = lo_;
  if (target.task == TargetTask::Window) lo[2] = std::max(lo[2], 0.3);
  for (std::size_t k = 0; k < 3; ++k) final_pos_[k] = rng.uniform(lo[k], hi_[k]);
  final_yaw_ = rng.uniform(-kPi, kPi);
  switch (target.task) {
    case TargetTask::Cube:
      max_step_ = 200;
      break;
    case TargetTask::Button:
      max_step_ = 100;
      break;
    case TargetTask::Drawer:
    case TargetTask::Window:
      max_step_ = 75;
      break;
  }
  steps_ = 0;
  done_ = false;
}

Action MarkovOracle::action(const ManipEnv& env) {
  Action a{};
  switch (target_.task) {
    case TargetTask::Cube:
      a = cube(env);
      break;
    case TargetTask::Button:
      a = button(env);
      break;
    case TargetTask::Drawer:
      a = handle(env, false);
      break;
    case TargetTask::Window:
      a = handle(env, true);
      break;
  }
  if (++steps_ >= max_step_) done_ = true;
  return a;
}

Action MarkovOracle::cube(const ManipEnv& env) {
  const Vec3 p = env.effector_pos();
  const double psi = env.effector_yaw(), kappa = env.contact();
  const int i = target_.cube;
  const Vec3 b = env.cube_pos(i), o = env.cube_goal(i);
  const double* q = env.data()->mocap_quat + 4 * i;  // the goal of cube i is mocap i
  // sym with raw yaws (not yaw₊), n = 4
  const double beta = symmetric_yaw(psi, quat_yaw(env.cube_quat(i)), 4);
  const double gamma = symmetric_yaw(psi, quat_yaw({q[0], q[1], q[2], q[3]}), 4);
  const bool closed = kappa > 0.5, open = kappa<0.1, above = p[2]> 0.16;
  const bool xy_aligned = distance(b, p, 2) <= 0.04, aligned = distance(b, p, 3) <= 0.02;
  const bool target_xy_aligned = distance(o, b, 2) <= 0.04, target_aligned = distance(o, b, 3) <= 0.02;
  if (!target_aligned) {
    if (!xy_aligned) return markov_action(minus({b[0], b[1], b[2] + 0.18}, p), beta - psi, -1);
    if (!aligned) return markov_action(minus(b, p), beta - psi, -1);
    if (!closed) return markov_action(minus(b, p), beta - psi, 1);
    if (!above && !target_xy_aligned) return markov_action(minus({b[0], b[1], 0.36}, p), gamma - beta, 1);
    if (above && !target_xy_aligned)
      return markov_action(minus({o[0], o[1], o[2] + 0.18}, p), gamma - beta, 1);
    return markov_action(minus(o, p), gamma - beta, 1);
  }
  if (!open) return markov_action(minus(o, p), gamma - beta, -1);
  if (!above) return markov_action(minus({b[0], b[1], 0.32}, p), final_yaw_ - psi, -1);
  if (distance(final_pos_, p, 3) <= 0.04) done_ = true;
  return markov_action(minus(final_pos_, p), final_yaw_ - psi, -1);
}

Action MarkovOracle::button(const ManipEnv& env) {
  const Vec3 p = env.effector_pos();
  const double psi = env.effector_yaw();
  const Vec3 site = env.site_pos(env.site_id("btntop_" + std::to_string(target_.button)));
  const Vec3 top = {site[0], site[1], site[2] + 0.06}, bottom = {site[0], site[1], site[2] - 0.022};
  if (env.button_states()[static_cast<std::size_t>(target_.button)] != target_.button_state) {
    if (distance(top, p, 2) > 0.04) return markov_action(minus(top, p), 0.0, 1);
    return markov_action(minus(bottom, p), 0.0, 1);
  }
  const double grip = closed_ ? 1.0 : -1.0;
  if (p[2] <= 0.16) return markov_action(minus({top[0], top[1], 0.32}, p), final_yaw_ - psi, grip);
  if (distance(final_pos_, p, 3) <= 0.04) done_ = true;
  return markov_action(minus(final_pos_, p), final_yaw_ - psi, grip);
}

Action MarkovOracle::handle(const ManipEnv& env, bool window) {
  const Vec3 p = env.effector_pos();
  const double psi = env.effector_yaw();
  const int site = env.site_id(window ? "window_handle_center" : "drawer_handle_center");
  const Vec3 h = env.site_pos(site);
  const Vec3 t =
      env.site_pos(env.site_id(window ? "window_handle_center_target" : "drawer_handle_center_target"));
  const double delta = symmetric_yaw(psi, mat_yaw(env.data()->site_xmat + 9 * site), 2);
  const double offset = window ? 0.06 : 0.12, high = window ? 0.28 : 0.18, lift = window ? 0.56 : 0.36;
  if (distance(t, h, 3) > 0.01) {
    if (distance(h, p, 2) > 0.04)
      return markov_action(minus({h[0], h[1], h[2] + offset}, p), delta - psi, -1);
    if (distance(h, p, 3) > 0.03) return markov_action(minus(h, p), delta - psi, -1);
    return markov_action(minus(t, p), delta - psi, window ? 1 : -1);
  }
  if (p[2] <= high) return markov_action(minus({h[0], h[1], lift}, p), final_yaw_ - psi, -1);
  if (distance(final_pos_, p, 3) <= 0.04) done_ = true;
  return markov_action(minus(final_pos_, p), final_yaw_ - psi, -1);
}

}  // namespace dipole::manipspace::oracles
