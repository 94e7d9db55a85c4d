// OGBench single-task definitions, written once and shared by the `ogbench` dataset plugin (reward
// relabelling of the official files) and the manipulation environments (success of the live state).
//
// Pure C++ (no MuJoCo, no ATen): the categories with their dimensions and episode limits, parsing of
// dataset and environment names, the five task tables of each category and the success indicators
// computed from (qpos, button states).
//
// Sources: docs/ogbench.md ("Manipulation environments": dimensions and default tasks; "Manipulation:
// scene model and physics": qpos layout; "Manipulation: reset, success, reward": task tables,
// success checks, reward) and, for the locomotion categories,
// seohongpark/ogbench `ogbench/locomaze/maze.py` (maze maps, task cells, goal tolerance) [src]; the
// cube-triple and puzzle-4x4/4x6 tables from copies of ogbench's `manipspace/envs/{cube,puzzle}_env.py`
// whose cube-single/double and puzzle-3x3 tables equal the spec's [src, copy].
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dipole::ogbench {

/// How a category's success is checked.
enum class Family {
  Cube,    ///< cube-N: each cube within kSuccessTolerance (3-D) of its goal
  Scene,   ///< one cube, two buttons, drawer, window: 5 indicators
  Puzzle,  ///< lights-out buttons: one indicator per button
  Maze,    ///< point/ant/humanoid maze: the agent's xy within the goal tolerance of the goal
  Soccer,  ///< antsoccer: the ball's xy within the goal tolerance of the goal
};

enum class Category {
  CubeSingle,
  CubeDouble,
  CubeTriple,
  Scene,
  Puzzle3x3,
  Puzzle4x4,
  Puzzle4x6,
  PointMazeMedium,
  PointMazeLarge,
  PointMazeGiant,
  PointMazeTeleport,
  AntMazeMedium,
  AntMazeLarge,
  AntMazeGiant,
  AntMazeTeleport,
  HumanoidMazeMedium,
  HumanoidMazeLarge,
  HumanoidMazeGiant,
  AntSoccerArena,
  AntSoccerMedium,
};

/// Fixed facts of one category (environment family without the task).
struct CategoryInfo {
  Category category;
  const char* name;  ///< prefix of every env/dataset name: "cube-single", "humanoidmaze-medium"
  Family family;
  int obs_dim;
  int act_dim;
  int nq;                 ///< width of the stored `qpos` rows
  int nv;                 ///< width of the stored `qvel` rows
  int max_episode_steps;  ///< evaluation time limit of the single-task env
  int default_task;       ///< task used when a name has no `taskN`
  int num_cubes;          ///< cubes in the scene (cube-N, scene)
  int num_buttons;        ///< 2 (scene), rows·cols (puzzle), else 0; also the width of `button_states`
  std::vector<std::string> dataset_types;  ///< official dataset kinds: "play", "noisy", "navigate", ...
};

/// Every category, in the order of the enum.
const std::vector<CategoryInfo>& categories();
const CategoryInfo& info(Category category);

inline constexpr int kNumTasks = 5;
/// Cube distance (3-D, metres) and drawer/window joint distance for success (docs/ogbench.md, "Manipulation:
/// reset, success, reward").
inline constexpr double kSuccessTolerance = 0.04;

// qpos layout of the manipulation envs (docs/ogbench.md, "Manipulation: scene model and physics").
inline constexpr int kCubeQposBegin = 14;  ///< cube i occupies qpos[14 + 7i .. 20 + 7i] (x y z qw qx qy qz)
inline constexpr int kCubeQposStride = 7;
inline constexpr int kSceneButtonQposBegin = 21;  ///< scene button slides at 21, 22
inline constexpr int kSceneDrawerQpos = 23;
inline constexpr int kSceneWindowQpos = 24;
inline constexpr int kPuzzleButtonQposBegin = 14;   ///< puzzle button k slide at 14 + k
inline constexpr int kAntSoccerBallQposBegin = 15;  ///< antsoccer: the ball's free joint after the ant's 15

/// What a dataset or environment name says. Grammar (as in OGBench's registry):
///   dataset:      <category>-<dataset_type>-singletask[-task<N>]-<version>
///   environment:  <category>-singletask[-task<N>]-<version>
/// e.g. "cube-single-play-singletask-task3-v0" → category cube-single, dataset type "play", task 3,
/// env id "cube-single-singletask-task3-v0", files "cube-single-play-v0.npz" / "-val.npz".
struct ParsedName {
  Category category = Category::CubeSingle;
  std::string dataset_type;  ///< "" for an environment name
  int task = 0;              ///< 1..5 (the category's default when the name has no taskN)
  bool task_given = false;   ///< the name contains taskN
  std::string version;       ///< "v0"
  std::string env_id;        ///< "<category>-singletask-task<N>-<version>" (task always explicit)
  std::string dataset_stem;  ///< "<category>-<dataset_type>-<version>" ("" for an environment name)
};

/// Parses a single-task dataset or environment name. Throws dipole::ConfigError naming the name and
/// what was expected (unknown category, missing "singletask", task outside 1..5, unknown dataset
/// type, missing version).
ParsedName parse_name(std::string_view name);
/// Same, but the name must contain a dataset type (a dataset name, not an environment id).
ParsedName parse_dataset_name(std::string_view name);

using Vec3 = std::array<double, 3>;
using Vec2 = std::array<double, 2>;

/// One single-task definition: the initial state the env resets to (before its reset noise) and the
/// goal the success indicators compare against (docs/ogbench.md, "Manipulation: reset, success, reward");
/// locomotion: maze.py task_infos.
struct TaskSpec {
  Category category = Category::CubeSingle;
  int task = 0;      ///< 1..5
  std::string name;  ///< OGBench's task name: "horizontal", "double_pnp1", "open", "task4", ...
  // cube-N and scene
  std::vector<Vec3> cube_init, cube_goal;  ///< one per cube; goal orientation is identity, never checked
  // scene and puzzle: 0/1 per button (scene: b0 locks the drawer, b1 the window)
  std::vector<std::int64_t> button_init, button_goal;
  // scene: drawer 0 closed, −0.16 open; window 0 closed, 0.2 open
  double drawer_init = 0, drawer_goal = 0, window_init = 0, window_goal = 0;
  // maze / soccer (world xy, metres)
  Vec2 agent_init_xy{0, 0};   ///< where the agent starts (before reset noise)
  Vec2 ball_init_xy{0, 0};    ///< antsoccer: where the ball starts
  Vec2 goal_xy{0, 0};         ///< where the agent (maze) or the ball (soccer) must go
  double goal_tolerance = 0;  ///< success radius in xy
};

/// The task table entry; throws dipole::ConfigError if `task` is outside 1..5.
TaskSpec task_spec(Category category, int task);
inline TaskSpec task_spec(const ParsedName& name) {
  return task_spec(name.category, name.task);
}

/// Number of success indicators n: cubes (cube-N), 5 (scene), buttons (puzzle), 1 (maze, soccer).
int num_indicators(const TaskSpec& spec);

/// Success indicators (docs/ogbench.md, "Manipulation: reset, success, reward") for one state. `qpos` points
/// at nq values (info(category).nq); `buttons` at num_buttons states (ignored, may be null, for families
/// without buttons). Float input is widened to double before subtracting the goal, as numpy does for float32
/// − float64.
std::vector<bool> indicators(const TaskSpec& spec, const double* qpos, const std::int64_t* buttons);
std::vector<bool> indicators(const TaskSpec& spec, const float* qpos, const std::int64_t* buttons);

/// Single-task reward r(s) = (number of true indicators) − n, in {−n, …, 0} (docs/ogbench.md, "Manipulation:
/// reset, success, reward").
int reward(const std::vector<bool>& indicators);
/// Every indicator holds.
bool success(const std::vector<bool>& indicators);
/// The dataset mask (docs/ogbench.md, "Manipulation: datasets"): 0 when the state is a success (all
/// indicators), else 1.
inline double mask(const std::vector<bool>& indicators) {
  return success(indicators) ? 0.0 : 1.0;
}

}  // namespace dipole::ogbench
