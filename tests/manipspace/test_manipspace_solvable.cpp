// OGBench manipulation (plugins/manipspace): the single-task environments can be solved through the
// controller. The Markov oracles of ogbench_manipulation.md §6.5 (markov_oracle.hpp), run on the
// task-mode env one sub-task after another, pick up, carry and place cubes, press buttons and push
// drawer and window handles. This exercises the whole chain: IK controller, gripper tendon and
// pads, contacts, button toggles, the damping lock, success and termination.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "markov_oracle.hpp"
#include "task_env.hpp"

namespace dipole::manipspace {
namespace {

using Kind = CollectTarget::Kind;

struct Episode {
  int steps = 0;                 ///< steps until terminated; 0 = never
  double highest_cube = 0.0;     ///< z, metres
  double largest_contact = 0.0;  ///< κ = obs[18]
};

/// Run the sub-tasks in order (each until its oracle is done; the last one keeps heading to its final
/// pose) until the episode terminates or is truncated.
Episode solve(SingleTaskEnv& task, std::uint64_t seed, const std::vector<CollectTarget>& plan) {
  const bool cubes = task.env().layout().kind == SceneLayout::Kind::Cubes;
  markov::Oracle oracle(cubes ? Vec3{0.25, -0.35, 0.20} : Vec3{0.25, -0.2, 0.20},
                        cubes ? Vec3{0.6, 0.35, 0.35} : Vec3{0.6, 0.2, 0.35}, false);
  std::mt19937_64 rng(seed + 1000);
  Episode e;
  task.reset(seed);
  std::size_t next = 0;
  oracle.reset(plan[next], rng);
  for (int step = 1; step <= task.max_episode_steps(); ++step) {
    if (oracle.done() && next + 1 < plan.size()) oracle.reset(plan[++next], rng);
    const StepOutcome r = task.step(oracle.action(task.env()));
    for (int i = 0; i < task.env().num_cubes(); ++i)
      e.highest_cube = std::max(e.highest_cube, task.env().cube_pos(i)[2]);
    e.largest_contact = std::max(e.largest_contact, task.env().observation()[18]);
    if (r.terminated) {
      EXPECT_TRUE(r.success);
      EXPECT_EQ(r.reward, 0.0);
      e.steps = step;
      break;
    }
    if (r.truncated) break;
  }
  return e;
}

std::vector<CollectTarget> cube_plan(const SingleTaskEnv& task) {
  std::vector<CollectTarget> plan;
  for (int i = 0; i < task.env().num_cubes(); ++i) {
    CollectTarget t;
    t.kind = Kind::Cube;
    t.index = i;
    plan.push_back(t);
  }
  return plan;
}

CollectTarget button(int index, int state) {
  CollectTarget t;
  t.kind = Kind::Button;
  t.index = index;
  t.state = state;
  return t;
}

CollectTarget handle(Kind kind) {
  CollectTarget t;
  t.kind = kind;
  return t;
}

TEST(ManipspaceSolvable, CubeSinglePickAndPlaceOnEveryTask) {
  int successes = 0;
  for (int t = 1; t <= 5; ++t) {
    SingleTaskEnv task("cube-single-singletask-task" + std::to_string(t) + "-v0", RewardTiming::Post);
    for (std::uint64_t seed = 100; seed < 102; ++seed) {
      const Episode e = solve(task, seed, cube_plan(task));
      successes += e.steps > 0 ? 1 : 0;
      if (e.steps > 0) {
        EXPECT_GT(e.highest_cube, 0.1) << "task " << t << ": the cube was carried, not pushed";
        EXPECT_GT(e.largest_contact, 0.5) << "task " << t << ": the right pad felt the grasp";
        EXPECT_LE(e.largest_contact, 1.0);
      }
    }
  }
  EXPECT_GE(successes, 8) << "of 10 episodes";
}

TEST(ManipspaceSolvable, CubeDoubleTwoPickAndPlaces) {
  SingleTaskEnv task("cube-double-singletask-task2-v0", RewardTiming::Pre);
  int successes = 0;
  for (std::uint64_t seed = 100; seed < 102; ++seed)
    successes += solve(task, seed, cube_plan(task)).steps > 0 ? 1 : 0;
  EXPECT_GE(successes, 1) << "of 2 episodes";
}

TEST(ManipspaceSolvable, SceneOpenDrawerAndWindow) {
  SingleTaskEnv task("scene-singletask-task1-v0", RewardTiming::Post);  // buttons (1, 1): unlocked
  for (std::uint64_t seed = 200; seed < 202; ++seed) {
    const Episode e = solve(task, seed, {handle(Kind::Drawer), handle(Kind::Window)});
    EXPECT_GT(e.steps, 0) << "seed " << seed;
    EXPECT_NEAR(task.env().drawer_q(), -0.16, 0.04);
    EXPECT_NEAR(task.env().window_q(), 0.2, 0.04);
  }
}

TEST(ManipspaceSolvable, SceneUnlockCloseAndLockAgain) {
  // task2: both locked, drawer and window open → close both and leave both buttons locked
  SingleTaskEnv task("scene-singletask-task2-v0", RewardTiming::Post);
  const Episode e = solve(
      task, 200,
      {button(0, 1), handle(Kind::Drawer), button(0, 0), button(1, 1), handle(Kind::Window), button(1, 0)});
  EXPECT_GT(e.steps, 0);
  EXPECT_EQ(task.env().button_states(), (std::vector<int>{0, 0}));
  EXPECT_EQ(task.reward_now(), 0);
  // without unlocking first, the drawer oracle's push does not move the locked drawer
  task.reset(201);
  const double q0 = task.env().drawer_q();
  markov::Oracle oracle({0.25, -0.2, 0.20}, {0.6, 0.2, 0.35}, false);
  std::mt19937_64 rng(1);
  oracle.reset(handle(Kind::Drawer), rng);
  double largest_step = 0.0;
  for (int step = 0; step < 75; ++step) {
    const double before = task.env().drawer_q();
    task.step(oracle.action(task.env()));
    largest_step = std::max(largest_step, std::abs(task.env().drawer_q() - before));
  }
  EXPECT_LT(largest_step, 1e-4);  // ≪ 1 mm per step (§8.3); measured 1.2 mm over the 75 steps
  EXPECT_NEAR(task.env().drawer_q(), q0, 5e-3);
  EXPECT_LT(task.reward_now(), 0);
}

}  // namespace
}  // namespace dipole::manipspace
#endif
