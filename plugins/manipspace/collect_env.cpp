// OGBench data-collection mode (see collect_env.hpp). Section numbers refer to
// /work/shared/docs/ogbench_manipulation.md.
#include "collect_env.hpp"

#include <cmath>

namespace dipole::manipspace {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kTolerance = 0.04;  // §4.3
// Arm sampling boxes (§4.1 step 3) and object boxes (§6.1).
constexpr Vec3 kCubeArmLo = {0.25, -0.35, 0.20}, kCubeArmHi = {0.6, 0.35, 0.35};
constexpr Vec3 kSceneArmLo = {0.25, -0.2, 0.20}, kSceneArmHi = {0.6, 0.2, 0.35};
constexpr Vec3 kPuzzleArmLo = {0.25, -0.2, 0.20}, kPuzzleArmHi = {0.6, 0.2, 0.25};
constexpr double kCubeBox[4] = {0.3, 0.55, -0.3, 0.3};     // x lo, x hi, y lo, y hi
constexpr double kSceneBox[4] = {0.3, 0.45, -0.07, 0.18};  // x lo, x hi, y lo, y hi
constexpr Vec3 kParked = {0.0, 0.0, -0.3};                 // mocaps of non-target cubes

Quat yaw_quat(double yaw) {
  return {std::cos(0.5 * yaw), 0.0, 0.0, std::sin(0.5 * yaw)};
}

}  // namespace

std::vector<int> top_cubes(const std::vector<Vec3>& cubes) {
  std::vector<int> top;
  for (std::size_t i = 0; i < cubes.size(); ++i) {
    bool covered = false;
    for (std::size_t j = 0; j < cubes.size() && !covered; ++j)
      covered = j != i && cubes[j][2] > cubes[i][2] &&
                std::hypot(cubes[i][0] - cubes[j][0], cubes[i][1] - cubes[j][1]) < 0.02;
    if (!covered) top.push_back(static_cast<int>(i));
  }
  return top;
}

bool in_drawer(const Vec3& p, double handle_y) {
  return p[0] >= 0.21 && p[0] <= 0.45 && p[1] >= handle_y - 0.27 && p[1] <= handle_y - 0.07 && p[2] >= 0.0 &&
         p[2] <= 0.15;
}

DataCollectionEnv::DataCollectionEnv(const SceneLayout& layout) : env_(layout) {}

double DataCollectionEnv::uniform(double lo, double hi) {
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  return lo + (hi - lo) * u;
}

int DataCollectionEnv::uniform_index(int n) {
  return std::min(static_cast<int>(uniform(0.0, 1.0) * n), n - 1);
}

std::vector<double> DataCollectionEnv::reset(std::uint64_t seed) {
  rng_.seed(seed);
  env_.reset_to_home();
  const SceneLayout::Kind kind = env_.layout().kind;
  const Vec3& lo = kind == SceneLayout::Kind::Cubes    ? kCubeArmLo
                   : kind == SceneLayout::Kind::Puzzle ? kPuzzleArmLo
                                                       : kSceneArmLo;
  const Vec3& hi = kind == SceneLayout::Kind::Cubes    ? kCubeArmHi
                   : kind == SceneLayout::Kind::Puzzle ? kPuzzleArmHi
                                                       : kSceneArmHi;
  Vec3 pinch{};
  for (std::size_t k = 0; k < 3; ++k) pinch[k] = uniform(lo[k], hi[k]);
  env_.place_arm(pinch, uniform(-kPi, kPi));
  // Objects (§6.1 reset step 2); cube-double cubes may overlap (no rejection, as OGBench).
  const double* box = kind == SceneLayout::Kind::Scene ? kSceneBox : kCubeBox;
  for (int i = 0; i < env_.num_cubes(); ++i) {
    const double x = uniform(box[0], box[1]), y = uniform(box[2], box[3]);
    env_.set_cube(i, {x, y, 0.02}, yaw_quat(uniform(0.0, 2.0 * kPi)));
  }
  if (env_.num_buttons() > 0) {
    std::vector<int> states(static_cast<std::size_t>(env_.num_buttons()));
    for (int& s : states) s = uniform_index(2);
    env_.set_button_states(states);
  }
  if (env_.has_drawer()) {
    env_.set_drawer_q(uniform(-0.16, 0.0));
    env_.set_window_q(uniform(0.0, 0.2));
  }
  env_.forward();  // handle positions for the in-drawer test
  set_new_target(kResetStackProbability);
  env_.pre_step();
  env_.forward();
  return env_.observation();
}

void DataCollectionEnv::set_cube_target(int cube, const Vec3& pos, double yaw) {
  target_ = {};
  target_.kind = CollectTarget::Kind::Cube;
  target_.index = cube;
  target_.pos = pos;
  target_.yaw = yaw;
  env_.set_cube_goal(cube, pos, yaw_quat(yaw));
}

void DataCollectionEnv::set_new_target(double p_stack) {
  const SceneLayout::Kind kind = env_.layout().kind;
  std::vector<Vec3> cubes;
  for (int i = 0; i < env_.num_cubes(); ++i) cubes.push_back(env_.cube_pos(i));

  if (kind == SceneLayout::Kind::Cubes) {
    const std::vector<int> top = top_cubes(cubes);
    const int cube = top[static_cast<std::size_t>(uniform_index(static_cast<int>(top.size())))];
    Vec3 pos{};
    if (top.size() >= 2 && uniform(0.0, 1.0) < p_stack) {
      std::vector<int> others;
      for (const int i : top)
        if (i != cube) others.push_back(i);
      const Vec3 base = cubes[static_cast<std::size_t>(
          others[static_cast<std::size_t>(uniform_index(static_cast<int>(others.size())))])];
      pos = {base[0], base[1], base[2] + 0.04};
    } else {
      const double x = uniform(kCubeBox[0], kCubeBox[1]), y = uniform(kCubeBox[2], kCubeBox[3]);
      pos = {x, y, 0.02};
    }
    set_cube_target(cube, pos, uniform(0.0, 2.0 * kPi));
    for (int i = 0; i < env_.num_cubes(); ++i)
      if (i != cube) env_.set_cube_goal(i, kParked, {1.0, 0.0, 0.0, 0.0});
  } else if (kind == SceneLayout::Kind::Scene) {
    const double handle_y = env_.site_pos(env_.site_id("drawer_handle_center"))[1];
    std::vector<Vec3> available;
    std::vector<int> available_index;
    for (std::size_t i = 0; i < cubes.size(); ++i)
      if (!in_drawer(cubes[i], handle_y)) {
        available.push_back(cubes[i]);
        available_index.push_back(static_cast<int>(i));
      }
    const auto& buttons = env_.button_states();
    const double weights[4] = {available.empty() ? 0.0 : 1.0, 1.0, buttons[0] == 0 ? 0.25 : 1.0,
                               buttons[1] == 0 ? 0.25 : 1.0};  // cube, button, drawer, window
    const double total = weights[0] + weights[1] + weights[2] + weights[3];
    double u = uniform(0.0, total);
    int task = 0;
    while (task < 3 && u >= weights[task]) u -= weights[task++];
    if (task == 0) {
      const std::vector<int> top = top_cubes(available);
      const int pick = top[static_cast<std::size_t>(uniform_index(static_cast<int>(top.size())))];
      const int cube = available_index[static_cast<std::size_t>(pick)];
      const bool put_in_drawer = env_.drawer_q() < -0.12 && uniform(0.0, 1.0) < 0.3;
      const bool stack = top.size() >= 2 && uniform(0.0, 1.0) < p_stack;
      Vec3 pos{};
      if (put_in_drawer) {
        const double dx = uniform(-0.005, 0.005), dy = uniform(-0.005, 0.005);
        pos = {0.33 + dx, -0.24 + dy, 0.066};
      } else if (stack) {
        std::vector<int> others;
        for (const int i : top)
          if (i != pick) others.push_back(i);
        const Vec3 base = available[static_cast<std::size_t>(
            others[static_cast<std::size_t>(uniform_index(static_cast<int>(others.size())))])];
        pos = {base[0], base[1], base[2] + 0.04};
      } else {
        const double x = uniform(kSceneBox[0], kSceneBox[1]), y = uniform(kSceneBox[2], kSceneBox[3]);
        pos = {x, y, 0.02};
      }
      set_cube_target(cube, pos, uniform(0.0, 2.0 * kPi));
    } else if (task == 1) {
      target_ = {};
      target_.kind = CollectTarget::Kind::Button;
      target_.index = uniform_index(2);
      target_.state = 1 - buttons[static_cast<std::size_t>(target_.index)];
    } else if (task == 2) {
      target_ = {};
      target_.kind = CollectTarget::Kind::Drawer;
      target_.q = env_.drawer_q() >= -0.08 ? -0.16 : 0.0;
      env_.set_drawer_target(target_.q);
    } else {
      target_ = {};
      target_.kind = CollectTarget::Kind::Window;
      target_.q = env_.window_q() <= 0.1 ? 0.2 : 0.0;
      env_.set_window_target(target_.q);
    }
  } else {  // puzzle
    target_ = {};
    target_.kind = CollectTarget::Kind::Button;
    target_.index = uniform_index(env_.num_buttons());
    target_.state = 1 - env_.button_states()[static_cast<std::size_t>(target_.index)];
  }
  mj_kinematics(env_.model(), env_.data());
}

bool DataCollectionEnv::step(const Action& action) {
  env_.step(action);
  return target_success();
}

bool DataCollectionEnv::target_success() const {
  switch (target_.kind) {
    case CollectTarget::Kind::Cube: {
      const Vec3 c = env_.cube_pos(target_.index);
      return std::hypot(c[0] - target_.pos[0], c[1] - target_.pos[1], c[2] - target_.pos[2]) <= kTolerance;
    }
    case CollectTarget::Kind::Button:
      return env_.button_states()[static_cast<std::size_t>(target_.index)] == target_.state;
    case CollectTarget::Kind::Drawer:
      return std::abs(env_.drawer_q() - target_.q) <= kTolerance;
    case CollectTarget::Kind::Window:
      return std::abs(env_.window_q() - target_.q) <= kTolerance;
  }
  return false;
}

}  // namespace dipole::manipspace
