// OGBench manipulation (plugins/benchmarks/manipspace): cube-double, scene and puzzle-3x3 — observation
// layouts
// ("Manipulation: observation"), task resets, indicators, rewards and the scene health reset
// ("Manipulation: reset, success, reward"), button toggling, the damping lock and the target sites
// ("Manipulation: scene model and physics"); sections of docs/ogbench.md.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "manip_env.hpp"
#include "task_env.hpp"

namespace dipole::manipspace {
namespace {

const Action kIdle = {0, 0, 0, 0, 0};

void place_cube(SingleTaskEnv& task, int i, const Vec3& pos) {
  task.env().set_cube(i, pos, {1, 0, 0, 0});
  task.env().set_cube_velocity_zero(i);
  task.env().forward();
}

/// Push body `name` with a constant world force during one env step, then release it.
void push_during_step(SingleTaskEnv& task, const std::string& name, const Vec3& force) {
  ManipEnv& env = task.env();
  const int body = mj_name2id(env.model(), mjOBJ_BODY, name.c_str());
  ASSERT_GE(body, 0) << name;
  for (std::size_t k = 0; k < 3; ++k) env.data()->xfrc_applied[6 * body + static_cast<int>(k)] = force[k];
  task.step(kIdle);
  for (int k = 0; k < 6; ++k) env.data()->xfrc_applied[6 * body + k] = 0.0;
}

TEST(ManipspaceCubeDouble, ResetObservationAndStackSuccess) {
  SingleTaskEnv task("cube-double-singletask-task5-v0", RewardTiming::Post);  // stack
  EXPECT_EQ(task.max_episode_steps(), 500);
  const auto obs = task.reset(1);
  ASSERT_EQ(obs.size(), 37U);
  const ManipEnv& env = task.env();
  EXPECT_EQ(env.model()->nmocap, 2);
  // init (0.425, −0.2, 0.02); (0.425, 0.2, 0.02) ± 0.01
  EXPECT_LE(std::abs(env.cube_pos(0)[1] + 0.2), 0.01);
  EXPECT_LE(std::abs(env.cube_pos(1)[1] - 0.2), 0.01);
  EXPECT_DOUBLE_EQ(obs[28], (env.cube_pos(1)[0] - 0.425) * 10);  // cube 1 block starts at 28
  EXPECT_DOUBLE_EQ(obs[29], env.cube_pos(1)[1] * 10);
  EXPECT_EQ(env.cube_goal(1)[2], 0.06);
  EXPECT_EQ(task.reward_now(), -2);
  place_cube(task, 0, {0.425, 0.0, 0.02});
  EXPECT_EQ(task.reward_now(), -1);
  place_cube(task, 1, {0.425, 0.0, 0.06});  // on top of cube 0
  const StepOutcome r = task.step(kIdle);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_TRUE(r.success);
  EXPECT_TRUE(r.terminated);
  EXPECT_NEAR(task.env().cube_pos(1)[2], 0.06, 0.002);  // the stack holds
}

TEST(ManipspaceScene, ResetLayoutLocksAndTargets) {
  SingleTaskEnv task("scene-singletask-task2-v0", RewardTiming::Pre);  // unlock_and_lock
  EXPECT_EQ(task.max_episode_steps(), 750);
  const auto obs = task.reset(4);
  ASSERT_EQ(obs.size(), 40U);
  ManipEnv& env = task.env();
  EXPECT_EQ(env.button_states(), (std::vector<int>{0, 0}));
  // buttons locked → drawer and window damping 1e6
  const mjModel* m = env.model();
  const int drawer_dof = m->jnt_dofadr[mj_name2id(m, mjOBJ_JOINT, "drawer_slide")];
  const int window_dof = m->jnt_dofadr[mj_name2id(m, mjOBJ_JOINT, "window_slide")];
  EXPECT_EQ(m->dof_damping[drawer_dof], 1e6);
  EXPECT_EQ(m->dof_damping[window_dof], 1e6);
  // drawer clip(−0.16 + U(±0.01), −0.16, 0), window clip(0.2 + U(±0.01), 0, 0.2)
  EXPECT_GE(env.drawer_q(), -0.16);
  EXPECT_LE(env.drawer_q(), -0.15);
  EXPECT_LE(env.window_q(), 0.2);
  EXPECT_GE(env.window_q(), 0.19);
  // observation: button blocks one-hot / 120·q / q̇, drawer ×18, window ×15
  EXPECT_EQ(obs[28], 1.0);
  EXPECT_EQ(obs[29], 0.0);
  EXPECT_DOUBLE_EQ(obs[30], 120 * env.button_q(0));
  EXPECT_EQ(obs[32], 1.0);
  EXPECT_EQ(obs[33], 0.0);
  EXPECT_DOUBLE_EQ(obs[36], 18 * env.drawer_q());
  EXPECT_DOUBLE_EQ(obs[38], 15 * env.window_q());
  EXPECT_EQ(obs[37], 0.0);
  EXPECT_EQ(obs[39], 0.0);
  // goal drawer 0 and window 0: target sites at the closed handles
  const Vec3 drawer_target = env.site_pos(env.site_id("drawer_handle_center_target"));
  const Vec3 window_target = env.site_pos(env.site_id("window_handle_center_target"));
  env.set_drawer_q(0.0);
  env.set_window_q(0.0);
  env.forward();
  const Vec3 drawer_handle = env.site_pos(env.site_id("drawer_handle_center"));
  const Vec3 window_handle = env.site_pos(env.site_id("window_handle_center"));
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(drawer_target[k], drawer_handle[k], 1e-6) << k;
    EXPECT_NEAR(window_target[k], window_handle[k], 1e-6) << k;
  }
  EXPECT_NEAR(drawer_target[2] - drawer_handle[2], 1e-4, 1e-6);  // the virtual body sits 1e-4 higher
  // indicators: cube, button 0, button 1, drawer, window
  EXPECT_EQ(task.reward_now(), 0);
  env.set_drawer_q(-0.05);  // 5 cm from the goal: outside the 0.04 tolerance
  EXPECT_EQ(task.reward_now(), -1);
  env.set_window_q(0.039);
  EXPECT_EQ(task.reward_now(), -1);
  env.set_button_states({1, 0});
  EXPECT_EQ(task.reward_now(), -2);
  EXPECT_EQ(m->dof_damping[drawer_dof], 2.0);  // button 0 unlocks the drawer
  EXPECT_EQ(m->dof_damping[window_dof], 1e6);
}

TEST(ManipspaceScene, InstancesShareNoModelState) {
  ManipEnv a(SceneLayout::scene()), b(SceneLayout::scene());  // the second is a copy of the cached model
  ASSERT_NE(a.model(), b.model());
  const mjModel* ma = a.model();
  const int dof = ma->jnt_dofadr[mj_name2id(ma, mjOBJ_JOINT, "drawer_slide")];
  a.set_button_states({1, 1});
  a.set_drawer_target(-0.16);
  EXPECT_EQ(a.model()->dof_damping[dof], 2.0);
  EXPECT_EQ(b.model()->dof_damping[dof], 1e6);
  const int site = b.site_id("drawer_handle_center_target");
  EXPECT_EQ(a.model()->site_pos[3 * site + 1], -0.16);
  EXPECT_EQ(b.model()->site_pos[3 * site + 1], 0.0);
}

TEST(ManipspaceScene, ButtonPressTogglesOnceAndTheLockFollows) {
  SingleTaskEnv task("scene-singletask-task4-v0", RewardTiming::Pre);  // buttons (0, 0), drawer closed
  task.reset(2);
  ManipEnv& env = task.env();
  const mjModel* m = env.model();
  const int drawer_dof = m->jnt_dofadr[mj_name2id(m, mjOBJ_JOINT, "drawer_slide")];
  // a locked drawer barely moves under a 20 N pull towards +y (open)
  const double q0 = env.drawer_q();
  push_during_step(task, "drawer_link", {0, 20, 0});
  EXPECT_LT(std::abs(env.drawer_q() - q0), 1e-5);
  // press button 0 (world −z force on the moving part): it crosses −0.02 within the step → state 1
  push_during_step(task, "button_0", {0, 0, -1});
  EXPECT_LE(env.button_q(0), -0.02);
  EXPECT_EQ(env.button_states(), (std::vector<int>{1, 0}));
  EXPECT_EQ(env.prev_button_states(), (std::vector<int>{0, 0}));
  EXPECT_EQ(m->dof_damping[drawer_dof], 2.0);
  const auto obs = env.observation();
  EXPECT_EQ(obs[28], 0.0);
  EXPECT_EQ(obs[29], 1.0);
  // held down: no new crossing, no toggle
  push_during_step(task, "button_0", {0, 0, -1});
  EXPECT_EQ(env.button_states(), (std::vector<int>{1, 0}));
  // released, the spring lifts it back above −0.02; a new press toggles back
  for (int i = 0; i < 10; ++i) task.step(kIdle);
  EXPECT_GT(env.button_q(0), -0.02);
  EXPECT_EQ(env.button_states(), (std::vector<int>{1, 0}));
  // unlocked, the same pull opens the drawer (towards −0.16)
  const double q1 = env.drawer_q();
  push_during_step(task, "drawer_link", {0, 20, 0});
  EXPECT_LT(env.drawer_q() - q1, -1e-3);
  push_during_step(task, "button_0", {0, 0, -1});
  EXPECT_EQ(env.button_states(), (std::vector<int>{0, 0}));
  EXPECT_EQ(m->dof_damping[drawer_dof], 1e6);
}

TEST(ManipspaceScene, HealthResetRespawnsACubeFarOutsideTheWorkspace) {
  SingleTaskEnv task("scene-singletask-task1-v0", RewardTiming::Pre);
  task.reset(3);
  place_cube(task, 0, {0.9, 0.0, 0.02});  // x ≥ 0.6 + 0.2
  task.step(kIdle);
  EXPECT_EQ(task.health_resets(), 1);
  const Vec3 c = task.env().cube_pos(0);
  EXPECT_GE(c[0], 0.3 - 0.005);
  EXPECT_LE(c[0], 0.45 + 0.005);
  EXPECT_GE(c[1], -0.07 - 0.005);
  EXPECT_LE(c[1], 0.18 + 0.005);
  EXPECT_NEAR(c[2], 0.02, 0.002);
  place_cube(task, 0, {0.7, 0.0, 0.02});  // outside the walls but inside workspace + 0.2: kept
  task.step(kIdle);
  EXPECT_EQ(task.health_resets(), 1);
  SingleTaskEnv cubes("cube-single-singletask-task1-v0", RewardTiming::Pre);  // cube envs never respawn
  cubes.reset(3);
  place_cube(cubes, 0, {0.9, 0.0, 0.02});
  cubes.step(kIdle);
  EXPECT_EQ(cubes.health_resets(), 0);
  EXPECT_NEAR(cubes.env().cube_pos(0)[0], 0.9, 0.01);
}

TEST(ManipspacePuzzle, LightsOutTogglesTheButtonAndItsGridNeighbours) {
  SingleTaskEnv task("puzzle-3x3-singletask-v0", RewardTiming::Pre);  // default task 4
  EXPECT_EQ(task.task().task, 4);
  EXPECT_EQ(task.max_episode_steps(), 500);
  const auto obs = task.reset(0);
  ASSERT_EQ(obs.size(), 55U);
  ManipEnv& env = task.env();
  const std::vector<int> init = {0, 1, 0, 1, 0, 1, 0, 1, 0};  // 010 101 010
  EXPECT_EQ(env.button_states(), init);
  for (int k = 0; k < 9; ++k) {
    EXPECT_EQ(obs[static_cast<std::size_t>(19 + 4 * k)], init[static_cast<std::size_t>(k)] == 0 ? 1.0 : 0.0)
        << k;
    EXPECT_EQ(obs[static_cast<std::size_t>(20 + 4 * k)], init[static_cast<std::size_t>(k)] == 0 ? 0.0 : 1.0)
        << k;
  }
  EXPECT_EQ(task.reward_now(), -5);                // goal: all 1
  push_during_step(task, "button_4", {0, 0, -1});  // centre: itself and 1, 3, 5, 7
  EXPECT_EQ(env.button_states(), (std::vector<int>{0, 0, 0, 0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(task.reward_now(), -8);
  for (int i = 0; i < 10; ++i) task.step(kIdle);
  push_during_step(task, "button_0", {0, 0, -1});  // corner: itself and 1, 3
  EXPECT_EQ(env.button_states(), (std::vector<int>{1, 1, 0, 1, 1, 0, 0, 0, 0}));
  for (int i = 0; i < 10; ++i) task.step(kIdle);
  push_during_step(task, "button_5", {0, 0, -1});  // right edge: itself and 2, 4, 8
  EXPECT_EQ(env.button_states(), (std::vector<int>{1, 1, 1, 1, 0, 1, 0, 0, 1}));
  env.set_button_states(std::vector<int>(9, 1));
  EXPECT_EQ(task.reward_now(), 0);
}

}  // namespace
}  // namespace dipole::manipspace
#endif
