// Data-collection mode of the OGBench manipulation environments (see play_env.hpp; docs/ogbench.md,
// "Data-collection env").
#include "play_env.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "task_env.hpp"

namespace dipole::manipspace::oracles {
namespace {

constexpr double kPi = 3.141592653589793;

// Object and target sampling boxes (docs/ogbench.md, "Data-collection env") (x range, y range).
struct XyBox {
  double x_lo, x_hi, y_lo, y_hi;
};
constexpr XyBox kCubeBox = {0.3, 0.55, -0.3, 0.3};
constexpr XyBox kSceneBox = {0.3, 0.45, -0.07, 0.18};
constexpr double kCubeZ = 0.02;
constexpr double kStackOffset = 0.04;  // stacked target: + 0.04 z
constexpr double kTopXy = 0.02;        // "top" test: another cube higher within 0.02 in xy
const Vec3 kParked = {0.0, 0.0, -0.3};
// Scene: put-in-drawer target and its jitter.
constexpr Vec3 kDrawerTarget = {0.33, -0.24, 0.066};
constexpr double kDrawerTargetJitter = 0.005;

Quat yaw_quat(double yaw) {
  return {std::cos(0.5 * yaw), 0.0, 0.0, std::sin(0.5 * yaw)};
}

double norm3(const Vec3& a, const Vec3& b) {
  const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

}  // namespace

double Rng::normal() {
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

std::uint64_t stream_seed(std::uint64_t seed, std::int64_t index, std::uint64_t stream) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(index) * 0xD1B54A32D192ED03ULL +
                    stream * 0xCA5A826395121157ULL + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

const char* to_string(TargetTask task) {
  switch (task) {
    case TargetTask::Cube:
      return "cube";
    case TargetTask::Button:
      return "button";
    case TargetTask::Drawer:
      return "drawer";
    case TargetTask::Window:
      return "window";
  }
  return "?";
}

PlayEnv::PlayEnv(ogbench::Category category) : category_(category), env_(layout_of(category)) {
  switch (env_.layout().kind) {
    case SceneLayout::Kind::Cubes:
      arm_lo_ = {0.25, -0.35, 0.20}, arm_hi_ = {0.6, 0.35, 0.35};
      break;
    case SceneLayout::Kind::Scene:
      arm_lo_ = {0.25, -0.2, 0.20}, arm_hi_ = {0.6, 0.2, 0.35};
      break;
    case SceneLayout::Kind::Puzzle:
      arm_lo_ = {0.25, -0.2, 0.20}, arm_hi_ = {0.6, 0.2, 0.25};
      break;
  }
  for (int i = 0; i < env_.num_buttons(); ++i)
    button_top_sites_.push_back(env_.site_id("btntop_" + std::to_string(i)));
  if (env_.has_drawer()) {
    drawer_handle_site_ = env_.site_id("drawer_handle_center");
    drawer_target_site_ = env_.site_id("drawer_handle_center_target");
    window_handle_site_ = env_.site_id("window_handle_center");
    window_target_site_ = env_.site_id("window_handle_center_target");
  }
  target_.task = env_.num_cubes() > 0 ? TargetTask::Cube : TargetTask::Button;
}

void PlayEnv::reset(std::uint64_t seed) {
  rng_.seed(seed);
  const SceneLayout::Kind kind = env_.layout().kind;
  // 1. Home, then the arm at a uniform pose of the arm box (IK from home).
  env_.reset_to_home();
  Vec3 pinch{};
  for (std::size_t k = 0; k < 3; ++k) pinch[k] = rng_.uniform(arm_lo_[k], arm_hi_[k]);
  env_.place_arm(pinch, rng_.uniform(-kPi, kPi));
  // 2. Objects: cubes anywhere in the sampling box (no overlap rejection), buttons, drawer, window.
  const XyBox& box = kind == SceneLayout::Kind::Scene ? kSceneBox : kCubeBox;
  for (int i = 0; i < env_.num_cubes(); ++i) {
    const double x = rng_.uniform(box.x_lo, box.x_hi), y = rng_.uniform(box.y_lo, box.y_hi);
    env_.set_cube(i, {x, y, kCubeZ}, yaw_quat(rng_.uniform(0.0, 2.0 * kPi)));
  }
  if (env_.num_buttons() > 0) {
    std::vector<int> states(static_cast<std::size_t>(env_.num_buttons()));
    for (int& s : states) s = rng_.below(2);
    env_.set_button_states(states);  // and the damping lock (scene)
  }
  if (env_.has_drawer()) {
    env_.set_drawer_q(rng_.uniform(-0.16, 0.0));
    env_.set_window_q(rng_.uniform(0.0, 0.2));
  }
  // 3. The first target with the default p_stack 0.5 (not the episode's p_stack, as OGBench; docs/ogbench.md,
  // "Fidelity and checks").
  set_new_target(0.5);
  // 4. pre_step, mj_forward (post_step finds no press and repeats the lock and mj_forward).
  env_.pre_step();
  env_.forward();
  steps_ = 0;
}

void PlayEnv::step(const Action& action) {
  if (steps_ < 0) throw std::logic_error("PlayEnv: step() before reset()");
  env_.step(action);
  ++steps_;
}

std::vector<int> PlayEnv::top_cubes(const std::vector<int>& candidates) const {
  std::vector<int> top;
  for (const int i : candidates) {
    const Vec3 pi = env_.cube_pos(i);
    bool covered = false;
    for (int j = 0; j < env_.num_cubes() && !covered; ++j) {
      if (j == i) continue;
      const Vec3 pj = env_.cube_pos(j);
      covered = pj[2] > pi[2] && std::hypot(pi[0] - pj[0], pi[1] - pj[1]) < kTopXy;
    }
    if (!covered) top.push_back(i);
  }
  return top;
}

void PlayEnv::set_new_target(double p_stack) {
  const SceneLayout::Kind kind = env_.layout().kind;
  PlayTarget t;
  if (kind == SceneLayout::Kind::Puzzle) {
    t.task = TargetTask::Button;
    t.button = rng_.below(env_.num_buttons());
    t.button_state = 1 - env_.button_states()[static_cast<std::size_t>(t.button)];
    set_target(t);
    return;
  }
  std::vector<int> available;
  if (kind == SceneLayout::Kind::Scene) {
    // Cubes in the drawer are not available: (0.21, y_h − 0.27, 0) ≤ p ≤ (0.45, y_h − 0.07, 0.15).
    const double yh = drawer_handle()[1];
    for (int i = 0; i < env_.num_cubes(); ++i) {
      const Vec3 p = env_.cube_pos(i);
      const bool in_drawer = p[0] >= 0.21 && p[0] <= 0.45 && p[1] >= yh - 0.27 && p[1] <= yh - 0.07 &&
                             p[2] >= 0.0 && p[2] <= 0.15;
      if (!in_drawer) available.push_back(i);
    }
    const std::vector<int>& b = env_.button_states();
    const double w_cube = available.empty() ? 0.0 : 1.0, w_button = 1.0;
    const double w_drawer = b[0] == 0 ? 0.25 : 1.0, w_window = b[1] == 0 ? 0.25 : 1.0;
    const double u = rng_.uniform() * (w_cube + w_button + w_drawer + w_window);
    t.task = u < w_cube                         ? TargetTask::Cube
             : u < w_cube + w_button            ? TargetTask::Button
             : u < w_cube + w_button + w_drawer ? TargetTask::Drawer
                                                : TargetTask::Window;
  } else {
    for (int i = 0; i < env_.num_cubes(); ++i) available.push_back(i);
    t.task = TargetTask::Cube;
  }
  switch (t.task) {
    case TargetTask::Cube: {
      const std::vector<int> top = top_cubes(available);
      t.cube = top[static_cast<std::size_t>(rng_.below(static_cast<int>(top.size())))];
      const bool put_in_drawer =
          kind == SceneLayout::Kind::Scene && env_.drawer_q() < -0.12 && rng_.uniform() < 0.3;
      const bool stack = top.size() >= 2 && rng_.uniform() < p_stack;
      if (put_in_drawer) {
        t.cube_pos = {kDrawerTarget[0] + rng_.uniform(-kDrawerTargetJitter, kDrawerTargetJitter),
                      kDrawerTarget[1] + rng_.uniform(-kDrawerTargetJitter, kDrawerTargetJitter),
                      kDrawerTarget[2]};
      } else if (stack) {
        std::vector<int> others;
        for (const int i : top)
          if (i != t.cube) others.push_back(i);
        const Vec3 base =
            env_.cube_pos(others[static_cast<std::size_t>(rng_.below(static_cast<int>(others.size())))]);
        t.cube_pos = {base[0], base[1], base[2] + kStackOffset};
      } else {
        const XyBox& box = kind == SceneLayout::Kind::Scene ? kSceneBox : kCubeBox;
        t.cube_pos = {rng_.uniform(box.x_lo, box.x_hi), rng_.uniform(box.y_lo, box.y_hi), kCubeZ};
      }
      t.cube_yaw = rng_.uniform(0.0, 2.0 * kPi);
      break;
    }
    case TargetTask::Button:
      t.button = rng_.below(2);
      t.button_state = 1 - env_.button_states()[static_cast<std::size_t>(t.button)];
      break;
    case TargetTask::Drawer:
      t.joint_target = env_.drawer_q() >= -0.08 ? -0.16 : 0.0;
      break;
    case TargetTask::Window:
      t.joint_target = env_.window_q() <= 0.1 ? 0.2 : 0.0;
      break;
  }
  set_target(t);
}

void PlayEnv::set_target(const PlayTarget& target) {
  target_ = target;
  write_target();
}

void PlayEnv::write_target() {
  switch (target_.task) {
    case TargetTask::Cube:
      for (int i = 0; i < env_.num_cubes(); ++i) {
        if (i == target_.cube)
          env_.set_cube_goal(i, target_.cube_pos, yaw_quat(target_.cube_yaw));
        else
          env_.set_cube_goal(i, kParked, {1.0, 0.0, 0.0, 0.0});
      }
      break;
    case TargetTask::Drawer:
      env_.set_drawer_target(target_.joint_target);
      break;
    case TargetTask::Window:
      env_.set_window_target(target_.joint_target);
      break;
    case TargetTask::Button:
      break;
  }
  // Scene and puzzle run mj_kinematics (target sites); the cube env does not, which keeps the
  // lagged effector kinematics (docs/ogbench.md, "Manipulation: observation") for the oracle's first action.
  if (env_.layout().kind != SceneLayout::Kind::Cubes) mj_kinematics(env_.model(), env_.data());
}

bool PlayEnv::target_reached() const {
  switch (target_.task) {
    case TargetTask::Cube:
      return norm3(env_.cube_pos(target_.cube), env_.cube_goal(target_.cube)) <= ogbench::kSuccessTolerance;
    case TargetTask::Button:
      return env_.button_states()[static_cast<std::size_t>(target_.button)] == target_.button_state;
    case TargetTask::Drawer:
      return std::abs(env_.drawer_q() - target_.joint_target) <= ogbench::kSuccessTolerance;
    case TargetTask::Window:
      return std::abs(env_.window_q() - target_.joint_target) <= ogbench::kSuccessTolerance;
  }
  return false;
}

double PlayEnv::time() const {
  return env_.data()->time;
}

double PlayEnv::cube_yaw(int i) const {
  return quat_yaw(env_.cube_quat(i));
}

Vec3 PlayEnv::button_top(int i) const {
  return env_.site_pos(button_top_sites_.at(static_cast<std::size_t>(i)));
}

Vec3 PlayEnv::drawer_handle() const {
  return env_.site_pos(drawer_handle_site_);
}
Vec3 PlayEnv::drawer_target_handle() const {
  return env_.site_pos(drawer_target_site_);
}
double PlayEnv::drawer_handle_yaw() const {
  return mat_yaw(env_.data()->site_xmat + 9 * static_cast<std::ptrdiff_t>(drawer_handle_site_));
}
Vec3 PlayEnv::window_handle() const {
  return env_.site_pos(window_handle_site_);
}
Vec3 PlayEnv::window_target_handle() const {
  return env_.site_pos(window_target_site_);
}
double PlayEnv::window_handle_yaw() const {
  return mat_yaw(env_.data()->site_xmat + 9 * static_cast<std::ptrdiff_t>(window_handle_site_));
}

int PlayEnv::state_dim() const {
  return env_.model()->nq + env_.model()->nv + env_.num_buttons();
}

std::vector<double> PlayEnv::state() const {
  const mjModel* m = env_.model();
  const mjData* d = env_.data();
  std::vector<double> s(d->qpos, d->qpos + m->nq);
  s.insert(s.end(), d->qvel, d->qvel + m->nv);
  for (const int b : env_.button_states()) s.push_back(static_cast<double>(b));
  return s;
}

}  // namespace dipole::manipspace::oracles
