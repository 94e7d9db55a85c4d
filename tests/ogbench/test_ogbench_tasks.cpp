// The OGBench task layer: categories, name parsing, task tables (against the numbers of docs/ogbench.md,
// "Manipulation environments" and "Manipulation: reset, success, reward"; maze cells from ogbench's
// maze.py) and success indicators (same docs section).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "dipole/errors.hpp"
#include "ogbench_tasks.hpp"

namespace og = dipole::ogbench;
using og::Category;

namespace {

// qpos of a manipulation state with the objects of `cubes`, `drawer` and `window` (arm at zeros).
std::vector<double> manip_qpos(Category c, const std::vector<og::Vec3>& cubes, double drawer = 0,
                               double window = 0) {
  std::vector<double> q(static_cast<std::size_t>(og::info(c).nq), 0.0);
  for (std::size_t i = 0; i < cubes.size(); ++i) {
    const std::size_t at = og::kCubeQposBegin + og::kCubeQposStride * i;
    for (std::size_t k = 0; k < 3; ++k) q[at + k] = cubes[i][k];
    q[at + 3] = 1.0;  // identity quaternion
  }
  if (c == Category::Scene) {
    q[og::kSceneDrawerQpos] = drawer;
    q[og::kSceneWindowQpos] = window;
  }
  return q;
}

std::vector<double> init_qpos(const og::TaskSpec& s) {
  return manip_qpos(s.category, s.cube_init, s.drawer_init, s.window_init);
}
std::vector<double> goal_qpos(const og::TaskSpec& s) {
  return manip_qpos(s.category, s.cube_goal, s.drawer_goal, s.window_goal);
}

}  // namespace

TEST(OgbenchNames, DatasetNameGivesCategoryFilesAndTask) {
  const og::ParsedName p = og::parse_name("cube-single-play-singletask-task3-v0");
  EXPECT_EQ(p.category, Category::CubeSingle);
  EXPECT_EQ(p.dataset_type, "play");
  EXPECT_EQ(p.task, 3);
  EXPECT_TRUE(p.task_given);
  EXPECT_EQ(p.version, "v0");
  EXPECT_EQ(p.env_id, "cube-single-singletask-task3-v0");
  EXPECT_EQ(p.dataset_stem, "cube-single-play-v0");
}

TEST(OgbenchNames, DefaultTasksPerCategory) {
  // (docs/ogbench.md, "Manipulation environments"): cube/scene task2, puzzle-3x3 task4; maze.py: mazes task1,
  // antsoccer task4.
  EXPECT_EQ(og::parse_name("cube-single-play-singletask-v0").task, 2);
  EXPECT_FALSE(og::parse_name("cube-single-play-singletask-v0").task_given);
  EXPECT_EQ(og::parse_name("cube-double-play-singletask-v0").task, 2);
  EXPECT_EQ(og::parse_name("scene-play-singletask-v0").task, 2);
  EXPECT_EQ(og::parse_name("puzzle-3x3-play-singletask-v0").task, 4);
  EXPECT_EQ(og::parse_name("puzzle-3x3-play-singletask-v0").env_id, "puzzle-3x3-singletask-task4-v0");
  EXPECT_EQ(og::parse_name("humanoidmaze-medium-navigate-singletask-v0").task, 1);
  EXPECT_EQ(og::parse_name("antsoccer-arena-navigate-singletask-v0").task, 4);
}

TEST(OgbenchNames, EnvironmentIdsAndLocomotion) {
  const og::ParsedName env = og::parse_name("scene-singletask-task5-v0");
  EXPECT_EQ(env.category, Category::Scene);
  EXPECT_EQ(env.dataset_type, "");
  EXPECT_EQ(env.dataset_stem, "");
  EXPECT_EQ(env.task, 5);
  EXPECT_EQ(env.env_id, "scene-singletask-task5-v0");
  EXPECT_THROW(og::parse_dataset_name("scene-singletask-task5-v0"), dipole::ConfigError);

  const og::ParsedName h = og::parse_dataset_name("humanoidmaze-large-stitch-singletask-task2-v0");
  EXPECT_EQ(h.category, Category::HumanoidMazeLarge);
  EXPECT_EQ(h.dataset_stem, "humanoidmaze-large-stitch-v0");
  EXPECT_EQ(h.env_id, "humanoidmaze-large-singletask-task2-v0");
  EXPECT_EQ(og::parse_name("antmaze-teleport-explore-singletask-task1-v0").category,
            Category::AntMazeTeleport);
  EXPECT_EQ(og::parse_name("pointmaze-giant-navigate-singletask-task1-v0").category,
            Category::PointMazeGiant);
}

TEST(OgbenchNames, BadNamesAreConfigErrorsThatSayWhy) {
  auto message = [](const char* name) {
    try {
      og::parse_name(name);
    } catch (const dipole::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("cube-single-play-v0").find("singletask"), std::string::npos);
  EXPECT_NE(message("cube-single-play-singletask-task6-v0").find("1..5"), std::string::npos);
  EXPECT_NE(message("cube-single-play-singletask-task0-v0").find("1..5"), std::string::npos);
  EXPECT_NE(message("cube-single-foo-singletask-task1-v0").find("unknown dataset type 'foo'"),
            std::string::npos);
  EXPECT_NE(message("cube-sextuple-play-singletask-task1-v0").find("unknown category"), std::string::npos);
  EXPECT_NE(message("cube-single-play-singletask-task1").find("version"), std::string::npos);
  EXPECT_NE(message("cube-single-play-singletask-task1-extra-v0").find("'extra'"), std::string::npos);
  EXPECT_NE(message("cube-single-play-singletask-taskX-v0").find("task<1..5>"), std::string::npos);
}

TEST(OgbenchCategories, DimensionsAndLimitsOfTheSpec) {
  struct Row {
    Category c;
    int obs, act, nq, nv, limit, buttons;
  };
  // (docs/ogbench.md, "Manipulation environments"); humanoid obs 69 and dims from ogbench's locomaze code.
  const Row rows[] = {
      {Category::CubeSingle, 28, 5, 21, 20, 200, 0},
      {Category::CubeDouble, 37, 5, 28, 26, 500, 0},
      {Category::Scene, 40, 5, 25, 24, 750, 2},
      {Category::Puzzle3x3, 55, 5, 23, 23, 500, 9},
      {Category::HumanoidMazeMedium, 69, 21, 28, 27, 2000, 0},
      {Category::AntSoccerArena, 42, 8, 22, 20, 1000, 0},
      {Category::AntMazeLarge, 29, 8, 15, 14, 1000, 0},
      {Category::PointMazeMedium, 2, 2, 2, 2, 1000, 0},
  };
  for (const Row& r : rows) {
    const og::CategoryInfo& i = og::info(r.c);
    SCOPED_TRACE(i.name);
    EXPECT_EQ(i.obs_dim, r.obs);
    EXPECT_EQ(i.act_dim, r.act);
    EXPECT_EQ(i.nq, r.nq);
    EXPECT_EQ(i.nv, r.nv);
    EXPECT_EQ(i.max_episode_steps, r.limit);
    EXPECT_EQ(i.num_buttons, r.buttons);
  }
  // The qpos layout (docs/ogbench.md, "Manipulation: scene model and physics") fits inside nq: last cube ends
  // at nq (cube-N), window is the last entry (scene).
  EXPECT_EQ(og::kCubeQposBegin + og::kCubeQposStride * 2, og::info(Category::CubeDouble).nq);
  EXPECT_EQ(og::kCubeQposBegin + og::kCubeQposStride * 3, og::info(Category::CubeTriple).nq);
  EXPECT_EQ(og::kSceneWindowQpos + 1, og::info(Category::Scene).nq);
  EXPECT_EQ(og::kPuzzleButtonQposBegin + 9, og::info(Category::Puzzle3x3).nq);
  EXPECT_EQ(og::kPuzzleButtonQposBegin + 24, og::info(Category::Puzzle4x6).nq);
  for (std::size_t k = 0; k < og::categories().size(); ++k)
    EXPECT_EQ(static_cast<std::size_t>(og::categories()[k].category), k);
}

TEST(OgbenchTasks, TablesMatchTheSpec) {
  const og::TaskSpec c1 = og::task_spec(Category::CubeSingle, 1);
  EXPECT_EQ(c1.name, "horizontal");
  EXPECT_EQ(c1.cube_init[0], (og::Vec3{0.425, 0.1, 0.02}));
  EXPECT_EQ(c1.cube_goal[0], (og::Vec3{0.425, -0.1, 0.02}));
  EXPECT_EQ(og::task_spec(Category::CubeSingle, 4).cube_goal[0], (og::Vec3{0.50, 0.2, 0.02}));
  const og::TaskSpec stack = og::task_spec(Category::CubeDouble, 5);
  EXPECT_EQ(stack.name, "stack");
  EXPECT_EQ(stack.cube_goal[1], (og::Vec3{0.425, 0.0, 0.06}));
  EXPECT_EQ(og::task_spec(Category::CubeDouble, 3).cube_goal[0], (og::Vec3{0.425, -0.2, 0.02}));
  EXPECT_EQ(og::task_spec(Category::CubeTriple, 4).cube_init[2], (og::Vec3{0.425, 0.2, 0.10}));
  EXPECT_EQ(og::task_spec(Category::CubeTriple, 4).name, "pnp_from_stack");
  const og::TaskSpec drawer = og::task_spec(Category::Scene, 4);
  EXPECT_EQ(drawer.name, "put_in_drawer");
  EXPECT_EQ(drawer.cube_goal[0], (og::Vec3{0.33, -0.356, 0.065986}));
  EXPECT_EQ(drawer.button_goal, (std::vector<std::int64_t>{1, 0}));
  const og::TaskSpec s3 = og::task_spec(Category::Scene, 3);
  EXPECT_EQ(s3.button_init, (std::vector<std::int64_t>{1, 0}));
  EXPECT_DOUBLE_EQ(s3.window_init, 0.2);
  EXPECT_DOUBLE_EQ(s3.drawer_goal, -0.16);
  EXPECT_EQ(og::task_spec(Category::Puzzle3x3, 1).button_goal,
            (std::vector<std::int64_t>{1, 1, 0, 1, 0, 1, 0, 1, 1}));
  EXPECT_EQ(og::task_spec(Category::Puzzle3x3, 3).button_init,
            (std::vector<std::int64_t>{0, 1, 0, 1, 1, 1, 0, 1, 0}));
  EXPECT_EQ(
      og::task_spec(Category::Puzzle4x6, 4).button_goal,
      (std::vector<std::int64_t>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(og::task_spec(Category::Puzzle4x4, 5).button_init,
            (std::vector<std::int64_t>{0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_THROW(og::task_spec(Category::CubeSingle, 0), dipole::ConfigError);
  EXPECT_THROW(og::task_spec(Category::Scene, 6), dipole::ConfigError);
}

TEST(OgbenchTasks, MazeCellsToWorldXy) {
  // x = 4j − 4, y = 4i − 4; humanoidmaze-medium task1 (1,1) → (6,6); large task1 → (7,10).
  const og::TaskSpec m = og::task_spec(Category::HumanoidMazeMedium, 1);
  EXPECT_EQ(m.agent_init_xy, (og::Vec2{0, 0}));
  EXPECT_EQ(m.goal_xy, (og::Vec2{20, 20}));
  EXPECT_DOUBLE_EQ(m.goal_tolerance, 0.5);
  EXPECT_EQ(og::task_spec(Category::AntMazeLarge, 1).goal_xy, (og::Vec2{36, 24}));
  EXPECT_EQ(og::task_spec(Category::PointMazeGiant, 2).goal_xy, (og::Vec2{0, 36}));
  EXPECT_DOUBLE_EQ(og::task_spec(Category::PointMazeMedium, 1).goal_tolerance, 1.0);
  const og::TaskSpec s = og::task_spec(Category::AntSoccerArena, 4);
  EXPECT_EQ(s.agent_init_xy, (og::Vec2{20, 20}));
  EXPECT_EQ(s.ball_init_xy, (og::Vec2{0, 0}));
  EXPECT_EQ(s.goal_xy, (og::Vec2{0, 20}));
}

TEST(OgbenchSuccess, GoalStateIsSuccessAndInitialRewardIsKnown) {
  // Hand-counted failed indicators at the (noise-free) initial state of every task.
  struct Row {
    Category c;
    int init_reward[5];
  };
  const Row rows[] = {
      {Category::CubeSingle, {-1, -1, -1, -1, -1}},     {Category::CubeDouble, {-1, -2, -2, -2, -2}},
      {Category::CubeTriple, {-1, -3, -3, -3, -3}},     {Category::Scene, {-2, -2, -4, -2, -2}},
      {Category::Puzzle3x3, {-6, -1, -8, -5, -3}},      {Category::Puzzle4x4, {-16, -4, -10, -8, -5}},
      {Category::Puzzle4x6, {-14, -24, -18, -12, -12}},
  };
  for (const Row& r : rows) {
    for (int t = 1; t <= 5; ++t) {
      const og::TaskSpec s = og::task_spec(r.c, t);
      SCOPED_TRACE(std::string(og::info(r.c).name) + " task" + std::to_string(t));
      const auto goal = goal_qpos(s), init = init_qpos(s);
      const auto at_goal = og::indicators(s, goal.data(), s.button_goal.data());
      EXPECT_EQ(static_cast<int>(at_goal.size()), og::num_indicators(s));
      EXPECT_TRUE(og::success(at_goal));
      EXPECT_EQ(og::reward(at_goal), 0);
      EXPECT_EQ(og::mask(at_goal), 0.0);
      const auto at_init = og::indicators(s, init.data(), s.button_init.data());
      EXPECT_EQ(og::reward(at_init), r.init_reward[t - 1]);
      EXPECT_FALSE(og::success(at_init));
      EXPECT_EQ(og::mask(at_init), 1.0);
    }
  }
  EXPECT_EQ(og::num_indicators(og::task_spec(Category::Scene, 1)), 5);
  EXPECT_EQ(og::num_indicators(og::task_spec(Category::Puzzle3x3, 1)), 9);
}

TEST(OgbenchSuccess, CubeToleranceIsThreeDimensionalAndInclusiveOf0_04) {
  const og::TaskSpec s = og::task_spec(Category::CubeSingle, 2);  // goal (0.5, 0, 0.02)
  auto ok = [&](double x, double y, double z) -> bool {  // bool, not a vector<bool> proxy into a temporary
    const auto q = manip_qpos(Category::CubeSingle, {{x, y, z}});
    return og::indicators(s, q.data(), nullptr)[0];
  };
  EXPECT_TRUE(ok(0.5 + 0.039, 0, 0.02));
  EXPECT_FALSE(ok(0.5 + 0.041, 0, 0.02));
  EXPECT_TRUE(ok(0.5, 0, 0.02 + 0.039));
  EXPECT_FALSE(ok(0.5, 0, 0.02 + 0.041));    // height counts: a lifted cube is not on its goal
  EXPECT_TRUE(ok(0.5 + 0.03, 0.02, 0.02));   // √(0.03² + 0.02²) = 0.0361
  EXPECT_FALSE(ok(0.5 + 0.03, 0.03, 0.02));  // 0.0424
  // float32 input agrees with double input on the same values
  const auto qd = manip_qpos(Category::CubeSingle, {{0.52, 0.01, 0.03}});
  std::vector<float> qf(qd.begin(), qd.end());
  EXPECT_EQ(og::indicators(s, qf.data(), nullptr), og::indicators(s, qd.data(), nullptr));
}

TEST(OgbenchSuccess, SceneIndicatorsInOrderCubeButtonsDrawerWindow) {
  const og::TaskSpec s =
      og::task_spec(Category::Scene, 3);  // goal cube (0.4,0.15), b (1,1), drawer −0.16, window 0
  auto q = manip_qpos(Category::Scene, {{0.4, 0.15, 0.02}}, -0.16 + 0.039, 0.041);
  const std::int64_t buttons[2] = {1, 0};
  EXPECT_EQ(og::indicators(s, q.data(), buttons), (std::vector<bool>{true, true, false, true, false}));
  EXPECT_EQ(og::reward(og::indicators(s, q.data(), buttons)), -2);
  q[og::kSceneWindowQpos] =
      -0.039;  // |−0.039 − 0| ≤ 0.04 (outside the joint range, but the test is a distance)
  const std::int64_t goal_buttons[2] = {1, 1};
  EXPECT_TRUE(og::success(og::indicators(s, q.data(), goal_buttons)));
  EXPECT_THROW(og::indicators(s, q.data(), nullptr), std::invalid_argument);
}

TEST(OgbenchSuccess, MazeUsesAgentXyAndSoccerUsesBallXy) {
  const og::TaskSpec ant = og::task_spec(Category::AntMazeMedium, 1);  // goal (20, 20), tol 0.5
  std::vector<double> q(15, 0.0);
  q[0] = 20.3;
  q[1] = 19.7;  // distance 0.424
  EXPECT_TRUE(og::indicators(ant, q.data(), nullptr)[0]);
  q[0] = 20.5;  // distance 0.5 exactly (representable): inclusive
  q[1] = 20.0;
  EXPECT_TRUE(og::indicators(ant, q.data(), nullptr)[0]);
  q[0] = 20.5001;
  EXPECT_FALSE(og::indicators(ant, q.data(), nullptr)[0]);
  const og::TaskSpec point = og::task_spec(Category::PointMazeMedium, 1);  // tol 1.0
  const double pq[2] = {20.6, 20.6};                                       // distance 0.85
  EXPECT_TRUE(og::indicators(point, pq, nullptr)[0]);

  const og::TaskSpec soccer = og::task_spec(Category::AntSoccerArena, 4);  // ball goal (0, 20)
  std::vector<double> sq(22, 0.0);
  sq[0] = 0.0;  // the ant on the goal does not count
  sq[1] = 20.0;
  sq[15] = 5.0;
  EXPECT_FALSE(og::indicators(soccer, sq.data(), nullptr)[0]);
  sq[15] = 0.1;
  sq[16] = 20.2;
  EXPECT_TRUE(og::indicators(soccer, sq.data(), nullptr)[0]);
}
