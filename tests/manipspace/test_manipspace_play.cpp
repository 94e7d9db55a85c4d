// OGBench manipulation (plugins/manipspace): the play generator loop of ogbench_manipulation.md §6.2
// — row semantics of §5 (row t = s_t and a_t, terminal on the last row), observation/qpos
// consistency, the button and lock identities of §8.3, determinism and the scene health rejection.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#ifdef DIPOLE_HAVE_MUJOCO
#include "play_generator.hpp"

namespace dipole::manipspace {
namespace {

TEST(ManipspacePlay, CubeSingleEpisodeRowsMatchTheStoredState) {
  DataCollectionEnv data(SceneLayout::cubes(1));
  std::mt19937_64 rng(1);
  const PlayEpisode e = generate_play_episode(data, 0, PlayOptions{}, rng);
  ASSERT_EQ(e.rows, 1001);
  ASSERT_EQ(e.obs_dim, 28);
  ASSERT_EQ(e.observations.size(), 1001U * 28U);
  ASSERT_EQ(e.qpos.size(), 1001U * 21U);
  ASSERT_EQ(e.qvel.size(), 1001U * 20U);
  EXPECT_TRUE(e.button_states.empty());
  EXPECT_GE(e.subtasks, 9);  // ≈ 11 sub-tasks of 87–90 steps
  EXPECT_LE(e.subtasks, 12);
  int saturated_z = 0;
  for (int t = 0; t < e.rows; ++t) {
    const auto row = static_cast<std::size_t>(t);
    EXPECT_EQ(e.terminals[row], t == 1000);
    const float* o = e.observations.data() + 28 * row;
    const float* q = e.qpos.data() + 21 * row;
    const float* v = e.qvel.data() + 20 * row;
    for (int i = 0; i < 6; ++i) ASSERT_EQ(o[i], q[i]) << "row " << t;      // joint angles of s_t
    for (int i = 0; i < 6; ++i) ASSERT_EQ(o[6 + i], v[i]) << "row " << t;  // joint velocities of s_t
    ASSERT_NEAR(o[19], (q[14] - 0.425) * 10, 1e-5) << "row " << t;         // cube position of s_t
    ASSERT_NEAR(o[20], q[15] * 10, 1e-5);
    ASSERT_NEAR(o[21], q[16] * 10, 1e-5);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(o[22 + i], q[17 + i]);
    for (int c = 0; c < 5; ++c) {
      ASSERT_GE(e.actions[5 * row + static_cast<std::size_t>(c)], -1.0F);
      ASSERT_LE(e.actions[5 * row + static_cast<std::size_t>(c)], 1.0F);
    }
    saturated_z += std::abs(e.actions[5 * row + 2]) == 1.0F ? 1 : 0;
  }
  // the first row is the reset state: the arm at rest, the gripper open
  for (int i = 0; i < 20; ++i) EXPECT_EQ(e.qvel[static_cast<std::size_t>(i)], 0.0F);
  EXPECT_EQ(e.observations[17], 0.0F);
  // spec [meas] (noise 0.1, 5 episodes): |a_z| = 1 in 20 % of rows — a rough comparison point
  EXPECT_GT(saturated_z, 50);
  EXPECT_LT(saturated_z, 500);
}

TEST(ManipspacePlay, SameSeedsSameEpisode) {
  DataCollectionEnv a(SceneLayout::cubes(2)), b(SceneLayout::cubes(2));
  PlayOptions options;
  options.steps = 150;
  std::mt19937_64 ra(9), rb(9);
  const PlayEpisode ea = generate_play_episode(a, 5, options, ra);
  const PlayEpisode eb = generate_play_episode(b, 5, options, rb);
  EXPECT_EQ(ea.observations, eb.observations);
  EXPECT_EQ(ea.actions, eb.actions);
  EXPECT_EQ(ea.qpos, eb.qpos);
  const PlayEpisode ec = generate_play_episode(a, 6, options, ra);
  EXPECT_NE(ea.qpos, ec.qpos);
}

TEST(ManipspacePlay, SceneButtonTogglesFollowThresholdCrossingsAndLocksHold) {
  DataCollectionEnv data(SceneLayout::scene());
  PlayOptions options;
  options.steps = 400;
  std::mt19937_64 rng(4);
  int toggles = 0, locked_rows = 0;
  for (std::uint64_t seed = 0; seed < 2; ++seed) {
    const PlayEpisode e = generate_play_episode(data, seed, options, rng);
    ASSERT_EQ(e.num_buttons, 2);
    ASSERT_EQ(e.button_states.size(), 800U);
    EXPECT_TRUE(scene_episode_healthy(e));
    for (int t = 0; t + 1 < e.rows; ++t) {
      const auto r = static_cast<std::size_t>(t);
      const float* q0 = e.qpos.data() + 25 * r;
      const float* q1 = q0 + 25;
      for (std::size_t b = 0; b < 2; ++b) {
        const bool changed = e.button_states[2 * r + 2 + b] != e.button_states[2 * r + b];
        const bool crossed = q0[21 + b] > -0.02F && q1[21 + b] <= -0.02F;
        ASSERT_EQ(changed, crossed) << "row " << t << ", button " << b;
        toggles += changed ? 1 : 0;
      }
      // a locked drawer/window (button state 0 at row t) does not move between rows t and t+1
      for (std::size_t b = 0; b < 2; ++b)
        if (e.button_states[2 * r + b] == 0 && e.button_states[2 * r + 2 + b] == 0) {
          ++locked_rows;
          ASSERT_LT(std::abs(q1[23 + b] - q0[23 + b]), 1e-4)
              << "row " << t << (b == 0 ? ", drawer" : ", window");
        }
    }
    for (int b : e.button_states) ASSERT_TRUE(b == 0 || b == 1);
  }
  EXPECT_GT(locked_rows, 0);
  EXPECT_GE(toggles, 1) << "no button was pressed in 800 rows (measured: 8 toggles)";
}

TEST(ManipspacePlay, SceneHealthRule) {
  PlayEpisode e;
  e.rows = 1;
  e.nq = 25;
  e.qpos.assign(25, 0.0F);
  e.qpos[14] = 0.4F;
  e.qpos[15] = 0.0F;
  e.qpos[16] = 0.02F;
  EXPECT_TRUE(scene_episode_healthy(e));
  e.qpos[15] = 0.29F;  // y ≥ 0.29
  EXPECT_FALSE(scene_episode_healthy(e));
  e.qpos[15] = -0.33F;  // in the drawer: fine at drawer height
  e.qpos[16] = 0.066F;
  EXPECT_TRUE(scene_episode_healthy(e));
  e.qpos[16] = 0.02F;  // y ≤ −0.3 on the floor: rejected
  EXPECT_FALSE(scene_episode_healthy(e));
}

TEST(ManipspacePlay, StoredRowsRecomputeTheObservationAndReplayOneStep) {
  // §8.3 on our own rows: load (qpos, qvel) of row t, recompute the observation; replay a_t through
  // the controller and compare with qpos of row t + 1.
  DataCollectionEnv data(SceneLayout::cubes(1));
  PlayOptions options;
  options.steps = 200;
  std::mt19937_64 rng(3);
  const PlayEpisode e = generate_play_episode(data, 2, options, rng);
  ManipEnv replay(SceneLayout::cubes(1));
  double worst_effector = 0.0, worst_joint = 0.0;
  for (int t = 1; t + 1 < e.rows; ++t) {
    const auto r = static_cast<std::size_t>(t);
    replay.set_state(e.qpos.data() + 21 * r, e.qvel.data() + 20 * r, nullptr);
    const auto obs = replay.observation();
    const float* stored = e.observations.data() + 28 * r;
    for (int i = 0; i < 12; ++i)
      ASSERT_EQ(static_cast<float>(obs[static_cast<std::size_t>(i)]), stored[i]) << t;
    for (int i = 19; i < 28; ++i)  // cube block: float32 rounding of qpos
      ASSERT_NEAR(obs[static_cast<std::size_t>(i)], stored[i], 2e-6) << "row " << t << ", entry " << i;
    ASSERT_NEAR(obs[17], stored[17], 1e-6);
    for (int i = 12; i < 15; ++i)  // effector: the one-substep lag of §3.3 (≤ ~0.015 obs units)
      worst_effector = std::max(worst_effector, std::abs(obs[static_cast<std::size_t>(i)] - stored[i]));
    Action a{};
    for (std::size_t c = 0; c < 5; ++c) a[c] = e.actions[5 * r + c];
    replay.step(a);
    const float* next = e.qpos.data() + 21 * (r + 1);
    for (int i = 0; i < 6; ++i)
      worst_joint = std::max(worst_joint, std::abs(replay.data()->qpos[i] - next[i]));
  }
  EXPECT_LT(worst_effector, 0.015);
  EXPECT_GT(worst_effector, 0.0);  // the stored rows do carry the lag
  EXPECT_LT(worst_joint, 0.01);    // contacts and the lag make one-step replay approximate
}

}  // namespace
}  // namespace dipole::manipspace
#endif
