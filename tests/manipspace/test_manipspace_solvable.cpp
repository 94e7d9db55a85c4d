// OGBench manipulation (plugins/manipspace): the tasks can be solved through the controller.
// Closed-loop scripted policies written after the Markov oracles of ogbench_manipulation.md §6.5
// (test-only; the data-generating oracles are separate work) pick up, carry and place cubes, press
// buttons and push drawer and window handles. This exercises the whole chain: IK controller, gripper
// tendon and pads, contacts, button toggles, the damping lock, success and termination.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "manip_env.hpp"
#include "task_env.hpp"

namespace dipole::manipspace {
namespace {

constexpr double kPi = 3.141592653589793;

/// §6.3 sym with raw yaws: the candidate θ + k·2π/n (k = −n…n) nearest to ψ.
double sym(double psi, double theta, int n) {
  double best = theta, gap = INFINITY;
  for (int k = -n; k <= n; ++k) {
    const double c = theta + k * 2 * kPi / n;
    if (std::abs(psi - c) < gap) {
      gap = std::abs(psi - c);
      best = c;
    }
  }
  return best;
}

double distance(const Vec3& a, const Vec3& b, int dims) {
  double s = 0;
  for (int k = 0; k < dims; ++k)
    s += (a[static_cast<std::size_t>(k)] - b[static_cast<std::size_t>(k)]) *
         (a[static_cast<std::size_t>(k)] - b[static_cast<std::size_t>(k)]);
  return std::sqrt(s);
}

/// The §6.5 cube phases for cube i, final pose (0.425, 0, 0.3) with yaw 0.
Action scripted_action(const ManipEnv& env, int i) {
  const Vec3 p = env.effector_pos();
  const double psi = env.effector_yaw(), g = env.gripper_opening();
  const Vec3 b = env.cube_pos(i), o = env.cube_goal(i);
  const double beta = sym(psi, quat_yaw(env.cube_quat(i)), 4), gamma = sym(psi, 0.0, 4);
  const bool closed = g > 0.5, open = g<0.1, above = p[2]> 0.16;
  const bool xy_at_cube = distance(b, p, 2) <= 0.04, at_cube = distance(b, p, 3) <= 0.02;
  const bool cube_xy_at_goal = distance(o, b, 2) <= 0.04, cube_at_goal = distance(o, b, 3) <= 0.02;
  Vec3 target{};
  double yaw = 0, grip = -1;
  const auto go = [&](const Vec3& where, double turn, double gripper) {
    target = where;
    yaw = turn;
    grip = gripper;
  };
  if (!cube_at_goal) {
    if (!xy_at_cube)
      go({b[0], b[1], b[2] + 0.18}, beta - psi, -1);  // 1. above the cube, open
    else if (!at_cube)
      go(b, beta - psi, -1);  // 2. down to it
    else if (!closed)
      go(b, beta - psi, 1);  // 3. grasp
    else if (!above && !cube_xy_at_goal)
      go({b[0], b[1], 0.36}, gamma - beta, 1);  // 4. lift
    else if (above && !cube_xy_at_goal)
      go({o[0], o[1], o[2] + 0.18}, gamma - beta, 1);  // 5. carry above the goal
    else
      go(o, gamma - beta, 1);  // 6. lower onto it
  } else if (!open) {
    go(o, gamma - beta, -1);  // 7. release
  } else if (!above) {
    go({b[0], b[1], 0.32}, -psi, -1);  // 8. rise
  } else {
    go({0.425, 0.0, 0.3}, -psi, -1);  // 9. final pose
  }
  Vec3 d = {target[0] - p[0], target[1] - p[1], target[2] - p[2]};
  const double norm = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  if (norm < 0.4)
    for (double& v : d) v *= 0.4 / (norm + 1e-6);  // min_norm 0.4
  Action a = {5 * d[0], 5 * d[1], 5 * d[2], 3 * yaw, grip};
  for (double& v : a) v = std::clamp(v, -1.0, 1.0);
  return a;
}

/// The first cube not yet within 2 cm of its goal (the last one when all are).
int next_cube(const ManipEnv& env) {
  for (int i = 0; i < env.num_cubes(); ++i)
    if (distance(env.cube_pos(i), env.cube_goal(i), 3) > 0.02) return i;
  return env.num_cubes() - 1;
}

struct Episode {
  bool success = false;
  int steps = 0;
  double highest_cube = 0.0;     // z, metres
  double largest_contact = 0.0;  // κ = obs[18]
};

Episode run(SingleTaskEnv& task, std::uint64_t seed) {
  Episode e;
  task.reset(seed);
  for (int step = 0; step < task.max_episode_steps(); ++step) {
    const StepOutcome r = task.step(scripted_action(task.env(), next_cube(task.env())));
    for (int i = 0; i < task.env().num_cubes(); ++i)
      e.highest_cube = std::max(e.highest_cube, task.env().cube_pos(i)[2]);
    e.largest_contact = std::max(e.largest_contact, task.env().observation()[18]);
    e.steps = step + 1;
    if (r.terminated) {
      EXPECT_TRUE(r.success);
      EXPECT_EQ(r.reward, 0.0);
      e.success = true;
      break;
    }
    if (r.truncated) break;
  }
  return e;
}

TEST(ManipspaceSolvable, CubeSinglePickAndPlaceOnEveryTask) {
  int successes = 0;
  for (int t = 1; t <= 5; ++t) {
    SingleTaskEnv task("cube-single-singletask-task" + std::to_string(t) + "-v0", RewardTiming::Post);
    for (std::uint64_t seed = 100; seed < 102; ++seed) {
      const Episode e = run(task, seed);
      successes += e.success ? 1 : 0;
      if (e.success) {
        EXPECT_GT(e.highest_cube, 0.1) << "task " << t << ": the cube was carried, not pushed";
        EXPECT_GT(e.largest_contact, 0.05) << "task " << t << ": the right pad felt the grasp";
        EXPECT_LE(e.largest_contact, 1.0);
      }
    }
  }
  EXPECT_GE(successes, 8) << "of 10 episodes (measured: 10, in 36–56 steps)";
}

TEST(ManipspaceSolvable, CubeDoubleTwoPickAndPlaces) {
  SingleTaskEnv task("cube-double-singletask-task2-v0", RewardTiming::Pre);
  int successes = 0;
  for (std::uint64_t seed = 100; seed < 102; ++seed) successes += run(task, seed).success ? 1 : 0;
  EXPECT_GE(successes, 1) << "of 2 episodes (measured: 2)";
}

// ---- scene: buttons, drawer, window --------------------------------------------------------------

/// min_norm 0.4 shaping, gains 5 (position) and 3 (yaw), clip (§6.5).
Action shaped(const Vec3& p, const Vec3& target, double yaw, double grip) {
  Vec3 d = {target[0] - p[0], target[1] - p[1], target[2] - p[2]};
  const double norm = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  if (norm < 0.4)
    for (double& v : d) v *= 0.4 / (norm + 1e-6);
  Action a = {5 * d[0], 5 * d[1], 5 * d[2], 3 * yaw, grip};
  for (double& v : a) v = std::clamp(v, -1.0, 1.0);
  return a;
}

struct SubTask {
  enum class Kind { Button, Drawer, Window } kind;
  int button = 0;  ///< Button: which one
  int state = 0;   ///< Button: the state to reach
};

/// One step of the §6.5 button / drawer / window phases; returns true once the sub-task is done
/// and the arm has risen (then `a` heads to the rest pose).
bool scripted_scene_action(const ManipEnv& env, const SubTask& sub, Action& a) {
  const Vec3 p = env.effector_pos();
  const double psi = env.effector_yaw();
  const Vec3 rest = {0.425, 0.0, 0.3};
  if (sub.kind == SubTask::Kind::Button) {
    const Vec3 top0 = env.site_pos(env.site_id("btntop_" + std::to_string(sub.button)));
    const Vec3 top = {top0[0], top0[1], top0[2] + 0.06}, bottom = {top0[0], top0[1], top0[2] - 0.022};
    if (env.button_states()[static_cast<std::size_t>(sub.button)] != sub.state) {
      a = shaped(p, distance(top, p, 2) > 0.04 ? top : bottom, 0, 1);
      return false;
    }
    if (p[2] <= 0.16) {
      a = shaped(p, {top[0], top[1], 0.32}, -psi, -1);
      return false;
    }
    a = shaped(p, rest, -psi, -1);
    return true;
  }
  const bool drawer = sub.kind == SubTask::Kind::Drawer;
  const int handle = env.site_id(drawer ? "drawer_handle_center" : "window_handle_center");
  const Vec3 h = env.site_pos(handle);
  const Vec3 t =
      env.site_pos(env.site_id(drawer ? "drawer_handle_center_target" : "window_handle_center_target"));
  const double delta = sym(psi, mat_yaw(env.data()->site_xmat + 9 * handle), 2);
  const double offset = drawer ? 0.12 : 0.06, high = drawer ? 0.18 : 0.28, lift = drawer ? 0.36 : 0.56;
  if (distance(t, h, 3) > 0.01) {
    if (distance(h, p, 2) > 0.04)
      a = shaped(p, {h[0], h[1], h[2] + offset}, delta - psi, -1);
    else if (distance(h, p, 3) > 0.03)
      a = shaped(p, h, delta - psi, -1);
    else
      a = shaped(p, t, delta - psi, drawer ? -1 : 1);
    return false;
  }
  if (p[2] <= high) {
    a = shaped(p, {h[0], h[1], lift}, -psi, -1);
    return false;
  }
  a = shaped(p, rest, -psi, -1);
  return true;
}

/// Run the sub-tasks in order until the episode terminates; returns the steps taken (0 = failure).
int run_scene(SingleTaskEnv& task, std::uint64_t seed, const std::vector<SubTask>& plan) {
  task.reset(seed);
  std::size_t next = 0;
  for (int step = 1; step <= task.max_episode_steps(); ++step) {
    Action a{};
    while (next < plan.size() && scripted_scene_action(task.env(), plan[next], a)) ++next;
    if (next == plan.size()) a = shaped(task.env().effector_pos(), {0.425, 0.0, 0.3}, 0.0, -1);
    if (task.step(a).terminated) return step;
  }
  return 0;
}

using Kind = SubTask::Kind;

TEST(ManipspaceSolvable, SceneOpenDrawerAndWindow) {
  SingleTaskEnv task("scene-singletask-task1-v0", RewardTiming::Post);  // buttons (1, 1): unlocked
  for (std::uint64_t seed = 200; seed < 202; ++seed) {
    const int steps = run_scene(task, seed, {{Kind::Drawer}, {Kind::Window}});
    EXPECT_GT(steps, 0) << "seed " << seed << " (measured: success in 49–57 steps)";
    EXPECT_NEAR(task.env().drawer_q(), -0.16, 0.04);
    EXPECT_NEAR(task.env().window_q(), 0.2, 0.04);
  }
}

TEST(ManipspaceSolvable, SceneUnlockCloseAndLockAgain) {
  // task2: both locked, drawer and window open → close both and leave both buttons locked
  SingleTaskEnv task("scene-singletask-task2-v0", RewardTiming::Post);
  const std::vector<SubTask> plan = {{Kind::Button, 0, 1}, {Kind::Drawer}, {Kind::Button, 0, 0},
                                     {Kind::Button, 1, 1}, {Kind::Window}, {Kind::Button, 1, 0}};
  const int steps = run_scene(task, 200, plan);
  EXPECT_GT(steps, 0) << "measured: success in 103–108 steps";
  EXPECT_EQ(task.env().button_states(), (std::vector<int>{0, 0}));
  EXPECT_EQ(task.reward_now(), 0);
  // without unlocking first, the same push does not move the locked drawer
  task.reset(201);
  const double q0 = task.env().drawer_q();
  for (int step = 0; step < 60; ++step) {
    Action a{};
    scripted_scene_action(task.env(), {Kind::Drawer}, a);
    task.step(a);
  }
  EXPECT_NEAR(task.env().drawer_q(), q0, 1e-3);
  EXPECT_LT(task.reward_now(), 0);
}

}  // namespace
}  // namespace dipole::manipspace
#endif
