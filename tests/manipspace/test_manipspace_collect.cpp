// OGBench manipulation (plugins/manipspace): the data-collection mode of ogbench_manipulation.md
// §6.1 — object randomisation at reset, top cubes, the in-drawer test, and set_new_target's choices
// (stacking, parking, scene task weights, put-in-drawer, drawer/window/button targets, puzzle).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "collect_env.hpp"

namespace dipole::manipspace {
namespace {

using Kind = CollectTarget::Kind;

TEST(ManipspaceCollect, TopCubesAndInDrawer) {
  EXPECT_EQ(top_cubes({{0.4, 0, 0.02}}), (std::vector<int>{0}));
  EXPECT_EQ(top_cubes({{0.4, 0, 0.02}, {0.5, 0, 0.02}}), (std::vector<int>{0, 1}));
  EXPECT_EQ(top_cubes({{0.4, 0, 0.02}, {0.41, 0.01, 0.06}}), (std::vector<int>{1}));  // 1.4 cm apart: stacked
  EXPECT_EQ(top_cubes({{0.4, 0, 0.02}, {0.43, 0.0, 0.06}}),
            (std::vector<int>{0, 1}));  // 3 cm apart: both on top
  EXPECT_EQ(top_cubes({{0.4, 0, 0.06}, {0.4, 0, 0.02}, {0.3, 0.1, 0.02}}), (std::vector<int>{0, 2}));
  // handle at y_h = −0.08 (drawer open): the drawer spans y ∈ [−0.35, −0.15], x ∈ [0.21, 0.45], z ≤ 0.15
  EXPECT_TRUE(in_drawer({0.33, -0.24, 0.066}, -0.08));
  EXPECT_TRUE(in_drawer({0.21, -0.35, 0.0}, -0.08));  // bounds inclusive
  EXPECT_FALSE(in_drawer({0.33, -0.14, 0.066}, -0.08));
  EXPECT_FALSE(in_drawer({0.33, -0.24, 0.16}, -0.08));
  EXPECT_FALSE(in_drawer({0.46, -0.24, 0.066}, -0.08));
  EXPECT_FALSE(in_drawer({0.33, -0.24, 0.066}, -0.24));  // closed: y range [−0.51, −0.31]
}

TEST(ManipspaceCollect, CubeResetRandomisesObjectsAndSetsATarget) {
  DataCollectionEnv data(SceneLayout::cubes(2));
  for (std::uint64_t seed = 0; seed < 6; ++seed) {
    const auto obs = data.reset(seed);
    ASSERT_EQ(obs.size(), 37U);
    const ManipEnv& env = data.env();
    for (int i = 0; i < 2; ++i) {
      const Vec3 c = env.cube_pos(i);
      EXPECT_GE(c[0], 0.3);
      EXPECT_LE(c[0], 0.55);
      EXPECT_GE(c[1], -0.3);
      EXPECT_LE(c[1], 0.3);
      EXPECT_EQ(c[2], 0.02);
    }
    const CollectTarget& t = data.target();
    ASSERT_EQ(t.kind, Kind::Cube);
    const Vec3 goal = env.cube_goal(t.index);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(goal[k], t.pos[k]);
    const Vec3 parked = env.cube_goal(1 - t.index);
    EXPECT_EQ(parked[2], -0.3);  // the other cube's mocap is parked at (0, 0, −0.3)
    // a stacking target sits 4 cm above the other cube, else on the floor
    const Vec3 other = env.cube_pos(1 - t.index);
    if (t.pos[2] > 0.03) {
      EXPECT_NEAR(t.pos[2], other[2] + 0.04, 1e-12);
      EXPECT_EQ(t.pos[0], other[0]);
    } else {
      EXPECT_EQ(t.pos[2], 0.02);
    }
  }
  EXPECT_NE(data.reset(1), data.reset(2));
  EXPECT_EQ(data.reset(3), data.reset(3));
}

TEST(ManipspaceCollect, CubeTargetsStackOnlyOnTopCubes) {
  DataCollectionEnv data(SceneLayout::cubes(2));
  data.reset(0);
  ManipEnv& env = data.env();
  env.set_cube(0, {0.4, 0.1, 0.02}, {1, 0, 0, 0});
  env.set_cube(1, {0.5, -0.1, 0.02}, {1, 0, 0, 0});
  for (int k = 0; k < 20; ++k) {  // p_stack = 1, both on top: always stack onto the other cube
    data.set_new_target(1.0);
    const CollectTarget& t = data.target();
    const Vec3 other = env.cube_pos(1 - t.index);
    EXPECT_EQ(t.pos[0], other[0]);
    EXPECT_EQ(t.pos[1], other[1]);
    EXPECT_NEAR(t.pos[2], 0.06, 1e-12);
  }
  env.set_cube(1, {0.4, 0.1, 0.06}, {1, 0, 0, 0});  // cube 1 on cube 0: only cube 1 is on top
  for (int k = 0; k < 20; ++k) {
    data.set_new_target(1.0);
    EXPECT_EQ(data.target().index, 1);
    EXPECT_EQ(data.target().pos[2], 0.02);  // a single top cube never stacks
  }
  // success of the current target: the cube within 0.04 of it
  env.set_cube(1, data.target().pos, {1, 0, 0, 0});
  EXPECT_TRUE(data.target_success());
  env.set_cube(1, {data.target().pos[0] + 0.05, data.target().pos[1], 0.02}, {1, 0, 0, 0});
  EXPECT_FALSE(data.target_success());
}

TEST(ManipspaceCollect, SceneTaskWeightsAndTargets) {
  DataCollectionEnv data(SceneLayout::scene());
  data.reset(4);
  ManipEnv& env = data.env();
  // both locked: weights cube 1, button 1, drawer 0.25, window 0.25 → 0.4, 0.4, 0.1, 0.1
  env.set_button_states({0, 0});
  env.set_drawer_q(0.0);
  env.set_window_q(0.0);
  env.set_cube(0, {0.4, 0.0, 0.02}, {1, 0, 0, 0});
  env.forward();
  int counts[4] = {0, 0, 0, 0};
  const int n = 4000;
  for (int k = 0; k < n; ++k) {
    data.set_new_target(0.5);
    const CollectTarget& t = data.target();
    ++counts[static_cast<int>(t.kind)];
    if (t.kind == Kind::Drawer) {  // closed (q ≥ −0.08) → open
      EXPECT_EQ(t.q, -0.16);
    }
    if (t.kind == Kind::Window) {  // closed (q ≤ 0.1) → open
      EXPECT_EQ(t.q, 0.2);
    }
    if (t.kind == Kind::Button) {  // toggle
      EXPECT_EQ(t.state, 1);
    }
    if (t.kind == Kind::Cube) {  // drawer closed: never put in the drawer
      EXPECT_EQ(t.pos[2], 0.02);
    }
  }
  const double expected[4] = {0.4, 0.4, 0.1, 0.1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(counts[i] / static_cast<double>(n), expected[i], 0.03) << i;
  // drawer open (q < −0.12): 30 % of cube targets go into the drawer; the drawer target closes it
  env.set_button_states({1, 1});
  env.set_drawer_q(-0.16);
  env.set_window_q(0.2);
  env.forward();
  int cube = 0, into_drawer = 0;
  for (int k = 0; k < n; ++k) {
    data.set_new_target(0.5);
    const CollectTarget& t = data.target();
    if (t.kind == Kind::Drawer) {
      EXPECT_EQ(t.q, 0.0);
    }
    if (t.kind == Kind::Window) {
      EXPECT_EQ(t.q, 0.0);
    }
    if (t.kind != Kind::Cube) continue;
    ++cube;
    if (t.pos[2] > 0.03) {
      ++into_drawer;
      EXPECT_NEAR(t.pos[0], 0.33, 0.005);
      EXPECT_NEAR(t.pos[1], -0.24, 0.005);
      EXPECT_EQ(t.pos[2], 0.066);
    }
  }
  EXPECT_NEAR(cube / static_cast<double>(n), 0.25, 0.03);  // unlocked: 1, 1, 1, 1
  EXPECT_NEAR(into_drawer / static_cast<double>(cube), 0.3, 0.05);
  // a cube inside the open drawer is not available: no cube targets
  env.set_cube(0, {0.33, -0.24, 0.066}, {1, 0, 0, 0});
  env.forward();
  for (int k = 0; k < 200; ++k) {
    data.set_new_target(0.5);
    EXPECT_NE(data.target().kind, Kind::Cube);
  }
  // the drawer target writes the target site: local y = q
  for (int k = 0; k < 200 && data.target().kind != Kind::Drawer; ++k) data.set_new_target(0.5);
  ASSERT_EQ(data.target().kind, Kind::Drawer);
  EXPECT_EQ(env.model()->site_pos[3 * env.site_id("drawer_handle_center_target") + 1], 0.0);
  EXPECT_FALSE(data.target_success());  // drawer at −0.16, target 0
  env.set_drawer_q(-0.03);
  EXPECT_TRUE(data.target_success());
}

TEST(ManipspaceCollect, PuzzleTargetsToggleOneButton) {
  DataCollectionEnv data(SceneLayout::puzzle(3, 3));
  const auto obs = data.reset(2);
  ASSERT_EQ(obs.size(), 55U);
  int seen[9] = {};
  for (int k = 0; k < 900; ++k) {
    data.set_new_target(0.5);
    const CollectTarget& t = data.target();
    ASSERT_EQ(t.kind, Kind::Button);
    EXPECT_EQ(t.state, 1 - data.env().button_states()[static_cast<std::size_t>(t.index)]);
    EXPECT_FALSE(data.target_success());
    ++seen[t.index];
  }
  for (int i = 0; i < 9; ++i) EXPECT_GT(seen[i], 60) << i;  // uniform: 100 expected each
}

}  // namespace
}  // namespace dipole::manipspace
#endif
