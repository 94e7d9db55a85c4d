// Data-collection env and generated rows (docs/ogbench.md, "Data-collection env", "Generator loop", "Fidelity
// and checks"), checks carried over from the first (removed) implementation: set_new_target's scene weights
// and rules (locked weights, put-in-drawer, the in-drawer test), puzzle targets, target success; stored rows
// against the observation (row t = s_t), the button threshold identity and the damping lock between rows, and
// the one-step replay of a stored action.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "generator_loop.hpp"

namespace dipole::manipspace::oracles {
namespace {

using ogbench::Category;

TEST(PlayEnvTargets, ResetIsSeededAndCubeTargetsHoldWithin4cm) {
  PlayEnv env(Category::CubeDouble);
  env.reset(3);
  const std::vector<double> a = env.env().observation();
  env.reset(3);
  EXPECT_EQ(env.env().observation(), a);
  env.reset(4);
  EXPECT_NE(env.env().observation(), a);
  // success of the current cube target: the cube within 0.04 of it
  env.env().set_cube(0, {0.4, 0.1, 0.02}, {1, 0, 0, 0});
  env.env().set_cube(1, {0.5, -0.1, 0.02}, {1, 0, 0, 0});
  env.set_new_target(0.0);
  const PlayTarget t = env.target();
  env.env().set_cube(t.cube, t.cube_pos, {1, 0, 0, 0});
  EXPECT_TRUE(env.target_reached());
  env.env().set_cube(t.cube, {t.cube_pos[0] + 0.039, t.cube_pos[1], t.cube_pos[2]}, {1, 0, 0, 0});
  EXPECT_TRUE(env.target_reached());
  env.env().set_cube(t.cube, {t.cube_pos[0] + 0.05, t.cube_pos[1], t.cube_pos[2]}, {1, 0, 0, 0});
  EXPECT_FALSE(env.target_reached());
}

TEST(PlayEnvTargets, SceneTaskWeightsDrawerWindowAndPutInDrawerRules) {
  PlayEnv env(Category::Scene);
  env.reset(4);
  ManipEnv& m = env.env();
  // both locked: weights cube 1, button 1, drawer 0.25, window 0.25 → 0.4, 0.4, 0.1, 0.1
  m.set_button_states({0, 0});
  m.set_drawer_q(0.0);
  m.set_window_q(0.0);
  m.set_cube(0, {0.4, 0.0, 0.02}, {1, 0, 0, 0});
  m.forward();
  int counts[4] = {0, 0, 0, 0};
  const int n = 4000;
  for (int k = 0; k < n; ++k) {
    env.set_new_target(0.5);
    const PlayTarget& t = env.target();
    ++counts[static_cast<int>(t.task)];
    if (t.task == TargetTask::Drawer) {
      EXPECT_EQ(t.joint_target, -0.16);  // closed (q ≥ −0.08) → open
    }
    if (t.task == TargetTask::Window) {
      EXPECT_EQ(t.joint_target, 0.2);  // closed (q ≤ 0.1) → open
    }
    if (t.task == TargetTask::Button) {
      EXPECT_EQ(t.button_state, 1);  // toggle
    }
    if (t.task == TargetTask::Cube) {
      EXPECT_EQ(t.cube_pos[2], 0.02);  // drawer closed: never put in the drawer
    }
  }
  const double expected[4] = {0.4, 0.4, 0.1, 0.1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(counts[i] / static_cast<double>(n), expected[i], 0.03) << i;
  // drawer open (q < −0.12): 30 % of cube targets go into the drawer; the drawer target closes it
  m.set_button_states({1, 1});
  m.set_drawer_q(-0.16);
  m.set_window_q(0.2);
  m.forward();
  int cube = 0, into_drawer = 0;
  for (int k = 0; k < n; ++k) {
    env.set_new_target(0.5);
    const PlayTarget& t = env.target();
    if (t.task == TargetTask::Drawer) {
      EXPECT_EQ(t.joint_target, 0.0);
    }
    if (t.task == TargetTask::Window) {
      EXPECT_EQ(t.joint_target, 0.0);
    }
    if (t.task != TargetTask::Cube) continue;
    ++cube;
    if (t.cube_pos[2] > 0.03) {
      ++into_drawer;
      EXPECT_NEAR(t.cube_pos[0], 0.33, 0.005);
      EXPECT_NEAR(t.cube_pos[1], -0.24, 0.005);
      EXPECT_EQ(t.cube_pos[2], 0.066);
    }
  }
  EXPECT_NEAR(cube / static_cast<double>(n), 0.25, 0.03);  // unlocked: 1, 1, 1, 1
  EXPECT_NEAR(into_drawer / static_cast<double>(cube), 0.3, 0.05);
  // the drawer target writes the target site: local y = q
  for (int k = 0; k < 200 && env.target().task != TargetTask::Drawer; ++k) env.set_new_target(0.5);
  ASSERT_EQ(env.target().task, TargetTask::Drawer);
  EXPECT_EQ(m.model()->site_pos[3 * m.site_id("drawer_handle_center_target") + 1], 0.0);
  EXPECT_FALSE(env.target_reached());  // drawer at −0.16, target 0
  m.set_drawer_q(-0.03);
  EXPECT_TRUE(env.target_reached());
}

TEST(PlayEnvTargets, CubesInsideTheDrawerBoxAreNotAvailable) {
  // docs/ogbench.md, "Data-collection env": in the drawer when (0.21, y_h − 0.27, 0) ≤ p ≤ (0.45, y_h − 0.07,
  // 0.15), y_h = handle y
  PlayEnv env(Category::Scene);
  env.reset(5);
  ManipEnv& m = env.env();
  m.set_button_states({1, 1});
  m.set_drawer_q(-0.16);
  m.forward();
  const double yh = env.drawer_handle()[1];
  const auto cube_targets = [&](const Vec3& p) {
    m.set_cube(0, p, {1, 0, 0, 0});
    m.forward();
    int cubes = 0;
    for (int k = 0; k < 200; ++k) {
      env.set_new_target(0.5);
      cubes += env.target().task == TargetTask::Cube ? 1 : 0;
    }
    return cubes;
  };
  EXPECT_EQ(cube_targets({0.33, yh - 0.16, 0.066}), 0);  // inside
  EXPECT_EQ(cube_targets({0.21, yh - 0.27, 0.0}), 0);    // bounds inclusive
  EXPECT_EQ(cube_targets({0.45, yh - 0.07, 0.15}), 0);
  EXPECT_GT(cube_targets({0.33, yh - 0.06, 0.066}), 20);  // in front of the drawer (y too large)
  EXPECT_GT(cube_targets({0.33, yh - 0.16, 0.16}), 20);   // above it
  EXPECT_GT(cube_targets({0.46, yh - 0.16, 0.066}), 20);  // beside it
}

TEST(PlayEnvTargets, PuzzleTargetsToggleOneButtonUniformly) {
  PlayEnv env(Category::Puzzle3x3);
  env.reset(2);
  ASSERT_EQ(env.env().obs_dim(), 55);
  int seen[9] = {};
  for (int k = 0; k < 900; ++k) {
    env.set_new_target(0.5);
    const PlayTarget& t = env.target();
    ASSERT_EQ(t.task, TargetTask::Button);
    EXPECT_EQ(t.button_state, 1 - env.env().button_states()[static_cast<std::size_t>(t.button)]);
    EXPECT_FALSE(env.target_reached());
    ++seen[t.button];
  }
  for (int i = 0; i < 9; ++i) EXPECT_GT(seen[i], 60) << i;  // uniform: 100 expected each
}

TEST(PlayRows, CubeSingleRowsMatchTheStoredState) {
  GenerateConfig config;  // cube-single, 1001 steps, plan noise 0.1
  PlayEnv env(config.category);
  const PlayEpisode e = play_episode(env, config, 0);
  ASSERT_EQ(e.steps, 1001);
  ASSERT_EQ(e.obs_dim, 28);
  ASSERT_EQ(e.state_dim, 41);        // qpos 21, qvel 20, no buttons
  EXPECT_GE(e.subtasks.size(), 9U);  // ≈ 11 sub-tasks of 87–90 steps
  EXPECT_LE(e.subtasks.size(), 12U);
  int saturated_z = 0;
  for (int t = 0; t < e.steps; ++t) {  // the stored rows s_0 … s_1000
    const auto row = static_cast<std::size_t>(t);
    const float* o = e.observations.data() + 28 * row;
    const double* q = e.states.data() + 41 * row;
    const double* v = q + 21;
    for (int i = 0; i < 6; ++i) ASSERT_EQ(o[i], static_cast<float>(q[i])) << "row " << t;      // joint angles
    for (int i = 0; i < 6; ++i) ASSERT_EQ(o[6 + i], static_cast<float>(v[i])) << "row " << t;  // velocities
    ASSERT_NEAR(o[19], (q[14] - 0.425) * 10, 1e-5) << "row " << t;  // cube position of s_t
    ASSERT_NEAR(o[20], q[15] * 10, 1e-5);
    ASSERT_NEAR(o[21], q[16] * 10, 1e-5);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(o[22 + i], static_cast<float>(q[17 + i]));
    for (int c = 0; c < 5; ++c) {
      ASSERT_GE(e.actions[5 * row + static_cast<std::size_t>(c)], -1.0F);
      ASSERT_LE(e.actions[5 * row + static_cast<std::size_t>(c)], 1.0F);
    }
    saturated_z += std::abs(e.actions[5 * row + 2]) == 1.0F ? 1 : 0;
  }
  // the first row is the reset state: the arm at rest, the gripper open
  for (int i = 0; i < 20; ++i) EXPECT_EQ(e.states[static_cast<std::size_t>(21 + i)], 0.0);
  EXPECT_EQ(e.observations[17], 0.0F);
  // spec [meas] (noise 0.1, 5 episodes): |a_z| = 1 in 20 % of rows — a rough comparison point
  std::printf("[ measure  ] cube-single episode 0: %zu sub-tasks, |a_z| = 1 in %d of 1001 rows\n",
              e.subtasks.size(), saturated_z);
  EXPECT_GT(saturated_z, 50);
  EXPECT_LT(saturated_z, 500);
}

TEST(PlayRows, SceneButtonTogglesFollowThresholdCrossingsAndLocksHold) {
  GenerateConfig config;
  config.category = Category::Scene;
  config.steps = 400;
  config.seed = 4;
  PlayEnv env(config.category);
  int toggles = 0, locked_rows = 0;
  for (std::int64_t index = 0; index < 2; ++index) {
    const PlayEpisode e = play_episode(env, config, index);
    const int nq = env.env().model()->nq, nv = env.env().model()->nv;
    ASSERT_EQ(nq, 25);
    ASSERT_EQ(e.state_dim, nq + nv + 2);
    EXPECT_TRUE(scene_episode_healthy(e));
    for (int t = 0; t + 1 < e.steps; ++t) {
      const double* s0 = e.states.data() + static_cast<std::size_t>(t * e.state_dim);
      const double* s1 = s0 + e.state_dim;
      const double* b0 = s0 + nq + nv;
      const double* b1 = s1 + nq + nv;
      for (int b = 0; b < 2; ++b) {
        // docs/ogbench.md, "Fidelity and checks": a state changes exactly when its joint crosses −0.02
        // between rows (float32 in the files)
        const bool changed = b1[b] != b0[b];
        const bool crossed =
            static_cast<float>(s0[21 + b]) > -0.02F && static_cast<float>(s1[21 + b]) <= -0.02F;
        ASSERT_EQ(changed, crossed) << "row " << t << ", button " << b;
        toggles += changed ? 1 : 0;
        ASSERT_TRUE(b0[b] == 0.0 || b0[b] == 1.0);
        // a locked drawer/window (button state 0 in both rows) does not move between them
        if (b0[b] == 0.0 && b1[b] == 0.0) {
          ++locked_rows;
          ASSERT_LT(std::abs(s1[23 + b] - s0[23 + b]), 1e-4)
              << "row " << t << (b == 0 ? ", drawer" : ", window");
        }
      }
    }
  }
  std::printf("[ measure  ] scene, 800 rows: %d button toggles, %d locked handle-rows\n", toggles,
              locked_rows);
  EXPECT_GT(locked_rows, 0);
  EXPECT_GE(toggles, 1) << "no button was pressed in 800 rows";
}

TEST(PlayRows, StoredActionReplaysOneStep) {
  // One-step replay (docs/ogbench.md, "Fidelity and checks") on our own rows: load (qpos, qvel) of row t as
  // float32, replay a_t through the controller and compare with qpos of row t + 1 (approximate: contacts,
  // float32 and the effector lag of cube envs).
  GenerateConfig config;
  config.steps = 200;
  PlayEnv env(config.category);
  const PlayEpisode e = play_episode(env, config, 2);
  ManipEnv replay(SceneLayout::cubes(1));
  double worst_joint = 0.0;
  std::vector<float> qpos(21), qvel(20);
  for (int t = 1; t + 1 < e.steps; ++t) {
    const double* s = e.states.data() + static_cast<std::size_t>(t * e.state_dim);
    for (int i = 0; i < 21; ++i) qpos[static_cast<std::size_t>(i)] = static_cast<float>(s[i]);
    for (int i = 0; i < 20; ++i) qvel[static_cast<std::size_t>(i)] = static_cast<float>(s[21 + i]);
    replay.set_state(qpos.data(), qvel.data(), nullptr);
    Action a{};
    for (std::size_t c = 0; c < 5; ++c) a[c] = e.actions[5 * static_cast<std::size_t>(t) + c];
    replay.step(a);
    const double* next = s + e.state_dim;
    for (int i = 0; i < 6; ++i)
      worst_joint = std::max(worst_joint, std::abs(replay.data()->qpos[i] - next[i]));
  }
  std::printf("[ measure  ] cube-single one-step replay: worst arm joint error %.2e rad\n", worst_joint);
  EXPECT_LT(worst_joint, 0.01);
  EXPECT_GT(worst_joint, 0.0);  // not bit-identical: the original step read the lagged effector
}

}  // namespace
}  // namespace dipole::manipspace::oracles
#endif
