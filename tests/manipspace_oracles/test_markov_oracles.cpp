// Markov oracles (docs/ogbench.md, "Markov oracles and noisy data";
// plugins/benchmarks/manipspace/oracles/markov_oracles.hpp): they complete their sub-tasks in the
// data-collection env (cube, button, drawer/window) within their step limits and drive the `noisy` generator;
// run on the single-task envs one sub-task after another they solve the evaluation tasks, which exercises the
// whole chain (IK controller, gripper tendon and pads, contacts, button toggles, the damping lock, success
// and termination).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "generator_loop.hpp"
#include "markov_oracles.hpp"
#include "task_env.hpp"

namespace dipole::manipspace::oracles {
namespace {

using ogbench::Category;

struct Tally {
  int count[4] = {0, 0, 0, 0};
  int success[4] = {0, 0, 0, 0};
  int longest = 0;
};

Tally run(PlayEnv& env, MarkovOracle& oracle, std::uint64_t seed, int steps, Rng& rng) {
  Tally tally;
  env.reset(seed);
  oracle.reset(env, rng);
  int start = 0;
  for (int t = 0; t < steps; ++t) {
    env.step(oracle.action(env));
    const bool success = env.target_reached();
    if (!oracle.done()) continue;
    const auto kind = static_cast<int>(env.target().task);
    ++tally.count[kind];
    tally.success[kind] += success ? 1 : 0;
    tally.longest = std::max(tally.longest, t + 1 - start);
    start = t + 1;
    env.set_new_target(0.0);
    oracle.reset(env, rng);
  }
  return tally;
}

TEST(MarkovOracles, ShapingHasMinNormGainsAndClip) {
  // ‖d‖ = 0.5 ≥ 0.4: 5·d = (1.5, 2, 0) → clipped to (1, 1, 0); yaw 3·0.1; grip as given
  Action a = markov_action({0.3, 0.4, 0.0}, 0.1, -1.0);
  EXPECT_DOUBLE_EQ(a[0], 1.0);
  EXPECT_DOUBLE_EQ(a[1], 1.0);
  EXPECT_DOUBLE_EQ(a[2], 0.0);
  EXPECT_NEAR(a[3], 0.3, 1e-15);
  EXPECT_DOUBLE_EQ(a[4], -1.0);
  // ‖d‖ = √0.0101 ≈ 0.1005 < 0.4: stretched to norm 0.4, so x = 5·0.01·0.4/(‖d‖ + 1e-6) ≈ 0.199 and
  // z = 5·0.1·0.4/(‖d‖ + 1e-6) ≈ 1.99 → clipped to 1
  a = markov_action({0.01, 0.0, 0.1}, -1.0, 1.0);
  EXPECT_NEAR(a[0], 5 * 0.01 * 0.4 / (std::sqrt(0.0101) + 1e-6), 1e-12);
  EXPECT_NEAR(a[0], 0.199, 1e-3);
  EXPECT_DOUBLE_EQ(a[2], 1.0);
  EXPECT_DOUBLE_EQ(a[3], -1.0);  // 3·(−1) clipped
  EXPECT_DOUBLE_EQ(a[4], 1.0);
}

TEST(MarkovOracles, CubeOracleMovesEveryTarget) {
  PlayEnv env(Category::CubeSingle);
  MarkovOracle oracle(env);
  Rng rng(1);
  const Tally t = run(env, oracle, 0, 600, rng);
  std::printf("[ measure  ] cube-single Markov: %d/%d cube sub-tasks reached, longest %d steps\n",
              t.success[0], t.count[0], t.longest);
  EXPECT_GE(t.count[0], 6);
  EXPECT_GE(t.success[0], t.count[0] - 1);
  EXPECT_LE(t.longest, 200);  // max_step
  EXPECT_EQ(oracle.max_step(), 200);
}

TEST(MarkovOracles, PuzzleButtonsToggleWithTheGripperClosed) {
  PlayEnv env(Category::Puzzle3x3);
  MarkovOracle oracle(env);
  Rng rng(2);
  const Tally t = run(env, oracle, 1, 250, rng);
  std::printf("[ measure  ] puzzle-3x3 Markov: %d/%d presses reached, longest %d steps\n", t.success[1],
              t.count[1], t.longest);
  EXPECT_GE(t.count[1], 6);
  EXPECT_EQ(t.success[1], t.count[1]);
  EXPECT_LE(t.longest, 100);
}

TEST(MarkovOracles, SceneSubTasks) {
  PlayEnv env(Category::Scene);
  MarkovOracle oracle(env);
  Rng rng(3);
  int buttons = 0, button_successes = 0, handles = 0, handle_successes = 0;
  for (std::uint64_t seed = 0; seed < 2; ++seed) {
    const Tally t = run(env, oracle, seed, 400, rng);
    buttons += t.count[1];
    button_successes += t.success[1];
    handles += t.count[2] + t.count[3];
    handle_successes += t.success[2] + t.success[3];
    EXPECT_LE(t.longest, 200);
  }
  std::printf("[ measure  ] scene Markov: buttons %d/%d, drawer/window %d/%d (locked ones included)\n",
              button_successes, buttons, handle_successes, handles);
  EXPECT_GE(buttons, 3);
  EXPECT_GE(button_successes, buttons - 1);
  EXPECT_GE(handle_successes, 1);  // locked attempts (weight 0.25) fail by design
  EXPECT_GE(handles, handle_successes);
}

TEST(MarkovOracles, NoisyGeneratorAddsNoiseAndRandomActions) {
  PlayEnv env(Category::CubeSingle);
  GenerateConfig clean;
  clean.type = DataType::Noisy;
  clean.action_noise = 0.0;
  clean.p_random_action = 0.0;
  clean.steps = 200;
  GenerateConfig noisy = clean;
  noisy.action_noise = 0.1;
  noisy.p_random_action = -1.0;  // default 0.1
  const PlayEpisode a = play_episode(env, clean, 3);
  const PlayEpisode b = play_episode(env, noisy, 3);
  ASSERT_EQ(a.steps, 200);
  ASSERT_EQ(a.actions.size(), 1000U);
  // clean Markov actions: the gripper command is exactly ±1 on every row
  int clean_grip = 0, noisy_grip = 0;
  for (int t = 0; t < 200; ++t) {
    clean_grip += std::abs(a.actions[static_cast<std::size_t>(5 * t + 4)]) == 1.0F ? 1 : 0;
    noisy_grip += std::abs(b.actions[static_cast<std::size_t>(5 * t + 4)]) == 1.0F ? 1 : 0;
    for (int c = 0; c < 5; ++c) ASSERT_LE(std::abs(b.actions[static_cast<std::size_t>(5 * t + c)]), 1.0F);
  }
  EXPECT_EQ(clean_grip, 200);
  EXPECT_LT(noisy_grip, 200);  // 10ξ gripper noise and 10 % uniform actions leave some rows inside (−1, 1)
  EXPECT_NE(a.actions, b.actions);
  EXPECT_EQ(a.observations[0], b.observations[0]);  // same reset
  // sub-tasks end at the final pose or at max_step (200 for cubes), never later
  for (const SubTaskRecord& s : a.subtasks) EXPECT_LE(s.length, 200);
  EXPECT_FALSE(a.subtasks.empty());
}

// ---- solvability of the single-task envs -------------------------------------------------------

struct Episode {
  int steps = 0;                 ///< steps until terminated; 0 = never
  double highest_cube = 0.0;     ///< z, metres
  double largest_contact = 0.0;  ///< κ = obs[18]
};

/// Run the sub-tasks in order (each until its oracle is done; the last one keeps heading to its final
/// pose) until the episode terminates or is truncated.
Episode solve(SingleTaskEnv& task, std::uint64_t seed, const std::vector<PlayTarget>& plan) {
  const bool cubes = task.env().layout().kind == SceneLayout::Kind::Cubes;
  MarkovOracle oracle(cubes ? Vec3{0.25, -0.35, 0.20} : Vec3{0.25, -0.2, 0.20},
                      cubes ? Vec3{0.6, 0.35, 0.35} : Vec3{0.6, 0.2, 0.35}, false);
  Rng rng(seed + 1000);
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

std::vector<PlayTarget> cube_plan(const SingleTaskEnv& task) {
  std::vector<PlayTarget> plan;
  for (int i = 0; i < task.env().num_cubes(); ++i) {
    PlayTarget t;
    t.task = TargetTask::Cube;
    t.cube = i;
    plan.push_back(t);
  }
  return plan;
}

PlayTarget button(int index, int state) {
  PlayTarget t;
  t.task = TargetTask::Button;
  t.button = index;
  t.button_state = state;
  return t;
}

PlayTarget handle(TargetTask task) {
  PlayTarget t;
  t.task = task;
  return t;
}

TEST(MarkovSolvable, CubeSinglePickAndPlaceOnEveryTask) {
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
  std::printf("[ measure  ] cube-single tasks 1-5: %d/10 episodes solved\n", successes);
  EXPECT_GE(successes, 8) << "of 10 episodes";
}

TEST(MarkovSolvable, CubeDoubleTwoPickAndPlaces) {
  SingleTaskEnv task("cube-double-singletask-task2-v0", RewardTiming::Pre);
  int successes = 0;
  for (std::uint64_t seed = 100; seed < 102; ++seed)
    successes += solve(task, seed, cube_plan(task)).steps > 0 ? 1 : 0;
  EXPECT_GE(successes, 1) << "of 2 episodes";
}

TEST(MarkovSolvable, SceneOpenDrawerAndWindow) {
  SingleTaskEnv task("scene-singletask-task1-v0", RewardTiming::Post);  // buttons (1, 1): unlocked
  for (std::uint64_t seed = 200; seed < 202; ++seed) {
    const Episode e = solve(task, seed, {handle(TargetTask::Drawer), handle(TargetTask::Window)});
    std::printf("[ measure  ] scene task 1, seed %d: solved in %d steps\n", static_cast<int>(seed), e.steps);
    EXPECT_GT(e.steps, 0) << "seed " << seed;
    EXPECT_NEAR(task.env().drawer_q(), -0.16, 0.04);
    EXPECT_NEAR(task.env().window_q(), 0.2, 0.04);
  }
}

TEST(MarkovSolvable, SceneUnlockCloseAndLockAgain) {
  // task2: both locked, drawer and window open → close both and leave both buttons locked
  SingleTaskEnv task("scene-singletask-task2-v0", RewardTiming::Post);
  const Episode e = solve(task, 200,
                          {button(0, 1), handle(TargetTask::Drawer), button(0, 0), button(1, 1),
                           handle(TargetTask::Window), button(1, 0)});
  std::printf("[ measure  ] scene task 2 (6 sub-tasks): solved in %d steps\n", e.steps);
  EXPECT_GT(e.steps, 0);
  EXPECT_EQ(task.env().button_states(), (std::vector<int>{0, 0}));
  EXPECT_EQ(task.reward_now(), 0);
  // without unlocking first, the drawer oracle's push does not move the locked drawer
  task.reset(201);
  const double q0 = task.env().drawer_q();
  MarkovOracle oracle({0.25, -0.2, 0.20}, {0.6, 0.2, 0.35}, false);
  Rng rng(1);
  oracle.reset(handle(TargetTask::Drawer), rng);
  double largest_step = 0.0;
  for (int step = 0; step < 75; ++step) {
    const double before = task.env().drawer_q();
    task.step(oracle.action(task.env()));
    largest_step = std::max(largest_step, std::abs(task.env().drawer_q() - before));
  }
  EXPECT_LT(largest_step, 1e-4);  // ≪ 1 mm per step (docs/ogbench.md, "Fidelity and checks")
  EXPECT_NEAR(task.env().drawer_q(), q0, 5e-3);
  EXPECT_LT(task.reward_now(), 0);
}

}  // namespace
}  // namespace dipole::manipspace::oracles
#endif
