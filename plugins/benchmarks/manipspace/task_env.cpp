// Single-task OGBench manipulation environment (see task_env.hpp; docs/ogbench.md, "Manipulation:
// reset, success, reward").
#include "task_env.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <cmath>

namespace dipole::manipspace {
namespace {

constexpr double kPi = 3.141592653589793;

// Arm sampling boxes (lo, hi).
constexpr Vec3 kCubeArmLo = {0.25, -0.35, 0.20}, kCubeArmHi = {0.6, 0.35, 0.35};
constexpr Vec3 kSceneArmLo = {0.25, -0.2, 0.20}, kSceneArmHi = {0.6, 0.2, 0.35};
constexpr Vec3 kPuzzleArmLo = {0.25, -0.2, 0.20}, kPuzzleArmHi = {0.6, 0.2, 0.25};
// Scene object box (health reset and data collection).
constexpr double kSceneObjXLo = 0.3, kSceneObjXHi = 0.45, kSceneObjYLo = -0.07, kSceneObjYHi = 0.18;

Quat yaw_quat(double yaw) {
  return {std::cos(0.5 * yaw), 0.0, 0.0, std::sin(0.5 * yaw)};
}

}  // namespace

RewardTiming parse_reward_timing(const std::string& text) {
  if (text == "pre") return RewardTiming::Pre;
  if (text == "post") return RewardTiming::Post;
  throw ConfigError("reward_timing: \"" + text + "\" is not pre or post");
}

SceneLayout layout_of(ogbench::Category category) {
  switch (category) {
    case ogbench::Category::CubeSingle:
      return SceneLayout::cubes(1);
    case ogbench::Category::CubeDouble:
      return SceneLayout::cubes(2);
    case ogbench::Category::Scene:
      return SceneLayout::scene();
    case ogbench::Category::Puzzle3x3:
      return SceneLayout::puzzle(3, 3);
    default:
      throw ConfigError(std::string("env: ") + ogbench::info(category).name +
                        " is not a manipulation environment (expected cube-single, cube-double, scene or "
                        "puzzle-3x3)");
  }
}

SingleTaskEnv::SingleTaskEnv(const std::string& env_id, RewardTiming timing)
    : name_(ogbench::parse_name(env_id)),
      task_(ogbench::task_spec(name_)),
      timing_(timing),
      env_(layout_of(name_.category)) {
  if (!name_.dataset_type.empty())
    throw ConfigError("env: \"" + env_id + "\" is a dataset name; the environment is \"" + name_.env_id +
                      "\"");
  const auto& cat = category();
  const mjModel* m = env_.model();
  if (m->nq != cat.nq || m->nv != cat.nv || env_.obs_dim() != cat.obs_dim ||
      env_.num_cubes() != cat.num_cubes || env_.num_buttons() != cat.num_buttons)
    throw DataError(env_.layout().label() + ": compiled model has nq " + std::to_string(m->nq) + ", nv " +
                    std::to_string(m->nv) + ", obs " + std::to_string(env_.obs_dim()) + "; expected nq " +
                    std::to_string(cat.nq) + ", nv " + std::to_string(cat.nv) + ", obs " +
                    std::to_string(cat.obs_dim));
}

double SingleTaskEnv::uniform(double lo, double hi) {
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  return lo + (hi - lo) * u;
}

std::vector<double> SingleTaskEnv::reset(std::uint64_t seed) {
  rng_.seed(seed);
  // 1. Home.
  env_.reset_to_home();
  // 3. Arm: uniform pinch position in the arm box, yaw ~ U(−π, π), IK from home.
  const bool cubes = env_.layout().kind == SceneLayout::Kind::Cubes;
  const bool puzzle = env_.layout().kind == SceneLayout::Kind::Puzzle;
  const Vec3& lo = cubes ? kCubeArmLo : puzzle ? kPuzzleArmLo : kSceneArmLo;
  const Vec3& hi = cubes ? kCubeArmHi : puzzle ? kPuzzleArmHi : kSceneArmHi;
  Vec3 pinch{};
  for (std::size_t k = 0; k < 3; ++k) pinch[k] = uniform(lo[k], hi[k]);
  env_.place_arm(pinch, uniform(-kPi, kPi));
  // 4. Objects.
  for (int i = 0; i < env_.num_cubes(); ++i) {
    const auto& init = task_.cube_init.at(static_cast<std::size_t>(i));
    const double dx = uniform(-0.01, 0.01), dy = uniform(-0.01, 0.01);
    env_.set_cube(i, {init[0] + dx, init[1] + dy, init[2]}, yaw_quat(uniform(0.0, 2.0 * kPi)));
    const auto& goal = task_.cube_goal.at(static_cast<std::size_t>(i));
    env_.set_cube_goal(i, {goal[0], goal[1], goal[2]}, {1.0, 0.0, 0.0, 0.0});
  }
  if (env_.num_buttons() > 0)
    env_.set_button_states(std::vector<int>(task_.button_init.begin(), task_.button_init.end()));
  if (env_.has_drawer()) {
    env_.set_drawer_q(std::clamp(task_.drawer_init + uniform(-0.01, 0.01), -0.16, 0.0));
    env_.set_window_q(std::clamp(task_.window_init + uniform(-0.01, 0.01), 0.0, 0.2));
    env_.set_drawer_target(task_.drawer_goal);
    env_.set_window_target(task_.window_goal);
  }
  // 5. pre_step, forward, post_step; success forced false.
  env_.pre_step();
  env_.forward();
  steps_ = 0;
  success_ = false;
  health_resets_ = 0;
  return env_.observation();
}

std::vector<bool> SingleTaskEnv::indicators() const {
  const auto& states = env_.button_states();
  const std::vector<std::int64_t> buttons(states.begin(), states.end());
  return ogbench::indicators(task_, env_.data()->qpos, buttons.empty() ? nullptr : buttons.data());
}

int SingleTaskEnv::reward_now() const {
  return ogbench::reward(indicators());
}

void SingleTaskEnv::health_check() {
  for (int i = 0; i < env_.num_cubes(); ++i) {
    const Vec3 p = env_.cube_pos(i);
    bool outside = false;
    for (std::size_t k = 0; k < 3; ++k)
      outside =
          outside || p[k] <= Constants::kWorkspaceLo[k] - 0.2 || p[k] >= Constants::kWorkspaceHi[k] + 0.2;
    if (!outside) continue;
    const double x = uniform(kSceneObjXLo, kSceneObjXHi), y = uniform(kSceneObjYLo, kSceneObjYHi);
    env_.set_cube(i, {x, y, 0.02}, yaw_quat(uniform(0.0, 2.0 * kPi)));
    env_.set_cube_velocity_zero(i);
    env_.forward();
    ++health_resets_;
  }
}

StepOutcome SingleTaskEnv::step(const Action& action) {
  if (steps_ < 0) throw std::logic_error("ogbench env: step() before reset()");
  StepOutcome out;
  if (timing_ == RewardTiming::Pre) {
    out.success = success_;
    out.reward = reward_now();
  }
  env_.step(action);  // MuJoCo warnings do not stop the episode, as in OGBench (gymnasium MujocoEnv)
  if (env_.layout().kind == SceneLayout::Kind::Scene) health_check();
  const auto now = indicators();
  success_ = ogbench::success(now);
  if (timing_ == RewardTiming::Post) {
    out.success = success_;
    out.reward = ogbench::reward(now);
  }
  out.terminated = out.success;
  ++steps_;
  out.truncated = steps_ >= max_episode_steps();
  return out;
}

}  // namespace dipole::manipspace
