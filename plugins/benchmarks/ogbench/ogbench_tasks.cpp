#include "ogbench_tasks.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "dipole/errors.hpp"

namespace dipole::ogbench {

namespace {

std::vector<std::string> manipulation_types() {
  return {"play", "noisy"};
}

}  // namespace

const std::vector<CategoryInfo>& categories() {
  // Manipulation rows: (docs/ogbench.md, "Manipulation environments"). Locomotion rows [src:
  // ogbench/locomaze/{point,ant,humanoid}.py observation code, maze.py default tasks]: point obs = qpos (2);
  // ant obs = qpos ‖ qvel (15 + 14); humanoid obs 69 (xy, 21 joint angles, head height, 4 extremities, torso
  // z axis, com velocity, qvel); antsoccer = ant + the ball's free joint (qpos 22, qvel 20, obs 42). The
  // locomotion time limits are those of OGBench's registrations [src: ogbench locomaze/__init__.py, v1.2.1].
  static const std::vector<CategoryInfo> table = {
      {Category::CubeSingle, "cube-single", Family::Cube, 28, 5, 21, 20, 200, 2, 1, 0, manipulation_types()},
      {Category::CubeDouble, "cube-double", Family::Cube, 37, 5, 28, 26, 500, 2, 2, 0, manipulation_types()},
      {Category::CubeTriple, "cube-triple", Family::Cube, 46, 5, 35, 32, 1000, 2, 3, 0, manipulation_types()},
      {Category::Scene, "scene", Family::Scene, 40, 5, 25, 24, 750, 2, 1, 2, manipulation_types()},
      {Category::Puzzle3x3, "puzzle-3x3", Family::Puzzle, 55, 5, 23, 23, 500, 4, 0, 9, manipulation_types()},
      {Category::Puzzle4x4, "puzzle-4x4", Family::Puzzle, 83, 5, 30, 30, 500, 4, 0, 16, manipulation_types()},
      {Category::Puzzle4x6, "puzzle-4x6", Family::Puzzle, 115, 5, 38, 38, 1000, 4, 0, 24,
       manipulation_types()},
      {Category::PointMazeMedium,
       "pointmaze-medium",
       Family::Maze,
       2,
       2,
       2,
       2,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::PointMazeLarge,
       "pointmaze-large",
       Family::Maze,
       2,
       2,
       2,
       2,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::PointMazeGiant,
       "pointmaze-giant",
       Family::Maze,
       2,
       2,
       2,
       2,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::PointMazeTeleport,
       "pointmaze-teleport",
       Family::Maze,
       2,
       2,
       2,
       2,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::AntMazeMedium,
       "antmaze-medium",
       Family::Maze,
       29,
       8,
       15,
       14,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch", "explore"}},
      {Category::AntMazeLarge,
       "antmaze-large",
       Family::Maze,
       29,
       8,
       15,
       14,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch", "explore"}},
      {Category::AntMazeGiant,
       "antmaze-giant",
       Family::Maze,
       29,
       8,
       15,
       14,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::AntMazeTeleport,
       "antmaze-teleport",
       Family::Maze,
       29,
       8,
       15,
       14,
       1000,
       1,
       0,
       0,
       {"navigate", "stitch", "explore"}},
      {Category::HumanoidMazeMedium,
       "humanoidmaze-medium",
       Family::Maze,
       69,
       21,
       28,
       27,
       2000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::HumanoidMazeLarge,
       "humanoidmaze-large",
       Family::Maze,
       69,
       21,
       28,
       27,
       2000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::HumanoidMazeGiant,
       "humanoidmaze-giant",
       Family::Maze,
       69,
       21,
       28,
       27,
       4000,
       1,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::AntSoccerArena,
       "antsoccer-arena",
       Family::Soccer,
       42,
       8,
       22,
       20,
       1000,
       4,
       0,
       0,
       {"navigate", "stitch"}},
      {Category::AntSoccerMedium,
       "antsoccer-medium",
       Family::Soccer,
       42,
       8,
       22,
       20,
       1000,
       4,
       0,
       0,
       {"navigate", "stitch"}},
  };
  return table;
}

const CategoryInfo& info(Category category) {
  const auto& table = categories();
  const auto index = static_cast<std::size_t>(category);
  if (index >= table.size() || table[index].category != category)
    throw std::logic_error("ogbench: category table out of order");
  return table[index];
}

// ---- names ---------------------------------------------------------------------------------------

namespace {

std::vector<std::string> split_dashes(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dash = text.find('-', start);
    parts.emplace_back(
        text.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  return parts;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string category_list() {
  std::string names;
  for (const auto& c : categories()) names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

ParsedName parse_name(std::string_view name) {
  const std::string quoted = "OGBench name '" + std::string(name) + "'";
  const std::string grammar =
      "expected <category>[-<dataset type>]-singletask[-task<1..5>]-v<N>, e.g. "
      "'cube-single-play-singletask-task1-v0' (dataset) or 'cube-single-singletask-task1-v0' (environment)";
  const CategoryInfo* category = nullptr;
  for (const auto& c : categories()) {
    const std::string prefix = std::string(c.name) + "-";
    if (name.substr(0, prefix.size()) == prefix &&
        (category == nullptr || std::string_view(c.name).size() > std::string_view(category->name).size()))
      category = &c;
  }
  if (category == nullptr)
    throw ConfigError(quoted + ": unknown category; known categories: " + category_list() + "; " + grammar);

  ParsedName out;
  out.category = category->category;
  const std::vector<std::string> parts =
      split_dashes(name.substr(std::string_view(category->name).size() + 1));
  // parts = [dataset_type] "singletask" [taskN] vK
  if (parts.empty() || parts.back().size() < 2 || parts.back()[0] != 'v' ||
      !all_digits(parts.back().substr(1)))
    throw ConfigError(quoted + ": does not end with a version such as '-v0'; " + grammar);
  out.version = parts.back();
  std::size_t i = 0;
  if (i < parts.size() - 1 && parts[i] != "singletask") out.dataset_type = parts[i++];
  if (i >= parts.size() - 1 || parts[i] != "singletask")
    throw ConfigError(quoted +
                      ": not a single-task name (no '-singletask'); single-task rewards need a fixed task; " +
                      grammar);
  ++i;
  if (i < parts.size() - 1) {
    const std::string& t = parts[i];
    if (t.size() < 5 || t.compare(0, 4, "task") != 0 || !all_digits(t.substr(4)))
      throw ConfigError(quoted + ": '" + t + "' is not 'task<1..5>'; " + grammar);
    out.task = std::atoi(t.c_str() + 4);
    out.task_given = true;
    if (out.task < 1 || out.task > kNumTasks)
      throw ConfigError(quoted + ": task " + t.substr(4) + " does not exist; tasks are 1..5");
    ++i;
  } else {
    out.task = category->default_task;
  }
  if (i != parts.size() - 1)
    throw ConfigError(quoted + ": unexpected '" + parts[i] + "' after the task; " + grammar);
  if (!out.dataset_type.empty()) {
    bool known = false;
    for (const auto& t : category->dataset_types) known = known || t == out.dataset_type;
    if (!known)
      throw ConfigError(quoted + ": unknown dataset type '" + out.dataset_type + "' for " + category->name +
                        " (known: " + join(category->dataset_types) + ")");
  }
  const std::string cat = category->name;
  out.env_id = cat + "-singletask-task" + std::to_string(out.task) + "-" + out.version;
  if (!out.dataset_type.empty()) out.dataset_stem = cat + "-" + out.dataset_type + "-" + out.version;
  return out;
}

ParsedName parse_dataset_name(std::string_view name) {
  ParsedName parsed = parse_name(name);
  if (parsed.dataset_type.empty()) {
    const auto& c = info(parsed.category);
    throw ConfigError("OGBench name '" + std::string(name) +
                      "' is an environment id, not a dataset name: insert the dataset type after '" + c.name +
                      "' (one of " + join(c.dataset_types) + "), e.g. '" + c.name + "-" + c.dataset_types[0] +
                      "-singletask-task" + std::to_string(parsed.task) + "-" + parsed.version + "'");
  }
  return parsed;
}

// ---- task tables ---------------------------------------------------------------------------------

namespace {

TaskSpec cube_task(Category category, int task, const char* name, std::vector<Vec3> init,
                   std::vector<Vec3> goal) {
  TaskSpec s;
  s.category = category;
  s.task = task;
  s.name = name;
  s.cube_init = std::move(init);
  s.cube_goal = std::move(goal);
  return s;
}

TaskSpec cube_single(int task) {
  const Category c = Category::CubeSingle;
  switch (task) {
    case 1:
      return cube_task(c, 1, "horizontal", {{0.425, 0.1, 0.02}}, {{0.425, -0.1, 0.02}});
    case 2:
      return cube_task(c, 2, "vertical1", {{0.35, 0.0, 0.02}}, {{0.50, 0.0, 0.02}});
    case 3:
      return cube_task(c, 3, "vertical2", {{0.50, 0.0, 0.02}}, {{0.35, 0.0, 0.02}});
    case 4:
      return cube_task(c, 4, "diagonal1", {{0.35, -0.2, 0.02}}, {{0.50, 0.2, 0.02}});
    default:
      return cube_task(c, 5, "diagonal2", {{0.35, 0.2, 0.02}}, {{0.50, -0.2, 0.02}});
  }
}

TaskSpec cube_double(int task) {
  const Category c = Category::CubeDouble;
  switch (task) {
    case 1:
      return cube_task(c, 1, "single_pnp", {{0.425, 0.0, 0.02}, {0.425, -0.1, 0.02}},
                       {{0.425, 0.0, 0.02}, {0.425, 0.1, 0.02}});
    case 2:
      return cube_task(c, 2, "double_pnp1", {{0.35, -0.1, 0.02}, {0.50, -0.1, 0.02}},
                       {{0.35, 0.1, 0.02}, {0.50, 0.1, 0.02}});
    case 3:
      return cube_task(c, 3, "double_pnp2", {{0.35, 0.0, 0.02}, {0.50, 0.0, 0.02}},
                       {{0.425, -0.2, 0.02}, {0.425, 0.2, 0.02}});
    case 4:
      return cube_task(c, 4, "swap", {{0.425, -0.1, 0.02}, {0.425, 0.1, 0.02}},
                       {{0.425, 0.1, 0.02}, {0.425, -0.1, 0.02}});
    default:
      return cube_task(c, 5, "stack", {{0.425, -0.2, 0.02}, {0.425, 0.2, 0.02}},
                       {{0.425, 0.0, 0.02}, {0.425, 0.0, 0.06}});
  }
}

TaskSpec cube_triple(int task) {
  const Category c = Category::CubeTriple;
  switch (task) {
    case 1:
      return cube_task(c, 1, "single_pnp", {{0.35, -0.1, 0.02}, {0.35, 0.1, 0.02}, {0.50, -0.1, 0.02}},
                       {{0.35, -0.1, 0.02}, {0.35, 0.1, 0.02}, {0.50, 0.1, 0.02}});
    case 2:
      return cube_task(c, 2, "triple_pnp", {{0.35, -0.2, 0.02}, {0.35, 0.0, 0.02}, {0.35, 0.2, 0.02}},
                       {{0.50, 0.0, 0.02}, {0.50, 0.2, 0.02}, {0.50, -0.2, 0.02}});
    case 3:
      return cube_task(c, 3, "cycle", {{0.35, 0.0, 0.02}, {0.50, -0.1, 0.02}, {0.50, 0.1, 0.02}},
                       {{0.50, -0.1, 0.02}, {0.50, 0.1, 0.02}, {0.35, 0.0, 0.02}});
    case 4:
      return cube_task(c, 4, "pnp_from_stack", {{0.425, 0.2, 0.02}, {0.425, 0.2, 0.06}, {0.425, 0.2, 0.10}},
                       {{0.35, -0.1, 0.02}, {0.50, -0.2, 0.02}, {0.50, 0.0, 0.02}});
    default:
      return cube_task(c, 5, "stack", {{0.35, -0.1, 0.02}, {0.50, -0.2, 0.02}, {0.50, 0.0, 0.02}},
                       {{0.425, 0.2, 0.02}, {0.425, 0.2, 0.06}, {0.425, 0.2, 0.10}});
  }
}

struct SceneState {
  Vec3 cube;
  std::int64_t b0, b1;
  double drawer, window;
};

TaskSpec scene_task(int task, const char* name, SceneState init, SceneState goal) {
  TaskSpec s;
  s.category = Category::Scene;
  s.task = task;
  s.name = name;
  s.cube_init = {init.cube};
  s.cube_goal = {goal.cube};
  s.button_init = {init.b0, init.b1};
  s.button_goal = {goal.b0, goal.b1};
  s.drawer_init = init.drawer;
  s.drawer_goal = goal.drawer;
  s.window_init = init.window;
  s.window_goal = goal.window;
  return s;
}

TaskSpec scene(int task) {
  switch (task) {
    case 1:
      return scene_task(1, "open", {{0.35, 0.05, 0.02}, 1, 1, 0.0, 0.0},
                        {{0.35, 0.05, 0.02}, 1, 1, -0.16, 0.2});
    case 2:
      return scene_task(2, "unlock_and_lock", {{0.35, -0.05, 0.02}, 0, 0, -0.16, 0.2},
                        {{0.35, -0.05, 0.02}, 0, 0, 0.0, 0.0});
    case 3:
      return scene_task(3, "rearrange_medium", {{0.4, -0.05, 0.02}, 1, 0, 0.0, 0.2},
                        {{0.4, 0.15, 0.02}, 1, 1, -0.16, 0.0});
    case 4:
      return scene_task(4, "put_in_drawer", {{0.35, 0.05, 0.02}, 0, 0, 0.0, 0.0},
                        {{0.33, -0.356, 0.065986}, 1, 0, 0.0, 0.0});
    default:
      return scene_task(5, "rearrange_hard", {{0.35, 0.15, 0.02}, 0, 0, 0.0, 0.0},
                        {{0.33, -0.356, 0.065986}, 0, 0, 0.0, 0.2});
  }
}

// "110 101 011" → {1,1,0,1,0,1,0,1,1}: row-major, index C·row + col.
std::vector<std::int64_t> lights(const char* pattern) {
  std::vector<std::int64_t> states;
  for (const char* p = pattern; *p; ++p)
    if (*p == '0' || *p == '1') states.push_back(*p - '0');
  return states;
}

TaskSpec puzzle(Category category, int task) {
  // (init, goal) per task, rows separated by spaces, row-major (docs/ogbench.md, "Manipulation: reset,
  // success, reward"); 4x4/4x6: puzzle_env.py, copy.
  static const char* const p3x3[kNumTasks][2] = {
      {"000 000 000", "110 101 011"}, {"111 111 111", "011 111 111"}, {"010 111 010", "101 010 101"},
      {"010 101 010", "111 111 111"}, {"111 111 111", "101 101 101"},
  };
  static const char* const p4x4[kNumTasks][2] = {
      {"0000 0000 0000 0000", "1111 1111 1111 1111"}, {"1111 1111 1111 1111", "1111 1001 1001 1111"},
      {"1000 0000 0000 0001", "0101 1010 0101 1010"}, {"1001 1001 1001 1001", "0000 0000 0000 0000"},
      {"0101 0010 0001 1000", "0000 0000 0000 0000"},
  };
  static const char* const p4x6[kNumTasks][2] = {
      {"110111 001010 010100 111011", "000000 000000 000000 000000"},
      {"111111 111111 111111 111111", "000000 000000 000000 000000"},
      {"000000 000000 000000 000000", "111110 110101 101011 011111"},
      {"010101 101010 010101 101010", "100001 000000 000000 100001"},
      {"000000 000000 000000 000000", "100001 011110 011110 100001"},
  };
  const char* const(*table)[2] = category == Category::Puzzle4x4   ? p4x4
                                 : category == Category::Puzzle4x6 ? p4x6
                                                                   : p3x3;
  TaskSpec s;
  s.category = category;
  s.task = task;
  s.name = "task" + std::to_string(task);
  s.button_init = lights(table[task - 1][0]);
  s.button_goal = lights(table[task - 1][1]);
  return s;
}

// Maze cells (i = row, j = column) to world xy: x = 4j − 4, y = 4i − 4 (maze_unit 4, offsets 4)
// [src: maze.py ij_to_xy].
Vec2 cell_xy(int i, int j) {
  return {4.0 * j - 4.0, 4.0 * i - 4.0};
}

struct Cell {
  int i, j;
};

TaskSpec maze(Category category, int task) {
  // (init cell, goal cell) per task [src: maze.py MazeEnv.set_tasks].
  static const Cell medium[kNumTasks][2] = {
      {{1, 1}, {6, 6}}, {{6, 1}, {1, 6}}, {{5, 3}, {4, 2}}, {{6, 5}, {6, 1}}, {{2, 6}, {1, 1}}};
  static const Cell large[kNumTasks][2] = {
      {{1, 1}, {7, 10}}, {{5, 4}, {7, 1}}, {{7, 4}, {1, 10}}, {{3, 8}, {5, 4}}, {{1, 1}, {5, 4}}};
  static const Cell giant[kNumTasks][2] = {
      {{1, 1}, {10, 14}}, {{1, 14}, {10, 1}}, {{8, 14}, {1, 1}}, {{8, 3}, {5, 12}}, {{5, 9}, {3, 8}}};
  static const Cell teleport[kNumTasks][2] = {
      {{1, 10}, {7, 1}}, {{1, 1}, {7, 10}}, {{5, 6}, {7, 10}}, {{7, 1}, {7, 10}}, {{5, 6}, {7, 1}}};
  const Cell(*cells)[2] = medium;
  switch (category) {
    case Category::PointMazeLarge:
    case Category::AntMazeLarge:
    case Category::HumanoidMazeLarge:
      cells = large;
      break;
    case Category::PointMazeGiant:
    case Category::AntMazeGiant:
    case Category::HumanoidMazeGiant:
      cells = giant;
      break;
    case Category::PointMazeTeleport:
    case Category::AntMazeTeleport:
      cells = teleport;
      break;
    default:
      break;
  }
  const bool point = category == Category::PointMazeMedium || category == Category::PointMazeLarge ||
                     category == Category::PointMazeGiant || category == Category::PointMazeTeleport;
  TaskSpec s;
  s.category = category;
  s.task = task;
  s.name = "task" + std::to_string(task);
  s.agent_init_xy = cell_xy(cells[task - 1][0].i, cells[task - 1][0].j);
  s.goal_xy = cell_xy(cells[task - 1][1].i, cells[task - 1][1].j);
  s.goal_tolerance = point ? 1.0 : 0.5;  // [src: maze.py _goal_tol]
  return s;
}

TaskSpec soccer(Category category, int task) {
  // (agent cell, ball cell, goal cell) per task [src: maze.py BallEnv.set_tasks].
  static const Cell arena[kNumTasks][3] = {{{1, 6}, {2, 3}, {5, 2}},
                                           {{2, 2}, {5, 5}, {2, 2}},
                                           {{6, 1}, {2, 3}, {6, 6}},
                                           {{6, 6}, {1, 1}, {6, 1}},
                                           {{4, 6}, {6, 2}, {1, 6}}};
  static const Cell medium[kNumTasks][3] = {{{1, 1}, {3, 4}, {6, 6}},
                                            {{6, 1}, {6, 5}, {1, 1}},
                                            {{5, 3}, {4, 2}, {6, 5}},
                                            {{6, 5}, {1, 1}, {5, 3}},
                                            {{1, 6}, {6, 1}, {1, 6}}};
  const Cell(*cells)[3] = category == Category::AntSoccerArena ? arena : medium;
  TaskSpec s;
  s.category = category;
  s.task = task;
  s.name = "task" + std::to_string(task);
  s.agent_init_xy = cell_xy(cells[task - 1][0].i, cells[task - 1][0].j);
  s.ball_init_xy = cell_xy(cells[task - 1][1].i, cells[task - 1][1].j);
  s.goal_xy = cell_xy(cells[task - 1][2].i, cells[task - 1][2].j);
  s.goal_tolerance = 0.5;
  return s;
}

}  // namespace

TaskSpec task_spec(Category category, int task) {
  const CategoryInfo& c = info(category);
  if (task < 1 || task > kNumTasks)
    throw ConfigError(std::string("OGBench ") + c.name + ": task " + std::to_string(task) +
                      " does not exist; tasks are 1..5");
  switch (category) {
    case Category::CubeSingle:
      return cube_single(task);
    case Category::CubeDouble:
      return cube_double(task);
    case Category::CubeTriple:
      return cube_triple(task);
    case Category::Scene:
      return scene(task);
    case Category::Puzzle3x3:
    case Category::Puzzle4x4:
    case Category::Puzzle4x6:
      return puzzle(category, task);
    default:
      break;
  }
  return c.family == Family::Soccer ? soccer(category, task) : maze(category, task);
}

int num_indicators(const TaskSpec& spec) {
  switch (info(spec.category).family) {
    case Family::Cube:
      return static_cast<int>(spec.cube_goal.size());
    case Family::Scene:
      return static_cast<int>(spec.cube_goal.size() + spec.button_goal.size()) + 2;
    case Family::Puzzle:
      return static_cast<int>(spec.button_goal.size());
    case Family::Maze:
    case Family::Soccer:
      return 1;
  }
  return 0;
}

// ---- success -------------------------------------------------------------------------------------

namespace {

// numpy's float32 − float64 widens to float64; norm = sqrt of the sequential sum of squares.
template <class T>
double distance(const T* x, const double* goal, int n) {
  double sum = 0;
  for (int k = 0; k < n; ++k) {
    const double d = static_cast<double>(x[k]) - goal[k];
    sum += d * d;
  }
  return std::sqrt(sum);
}

template <class T>
std::vector<bool> compute(const TaskSpec& spec, const T* qpos, const std::int64_t* buttons) {
  const CategoryInfo& c = info(spec.category);
  if (qpos == nullptr) throw std::invalid_argument("ogbench::indicators: qpos is null");
  if (c.num_buttons > 0 && buttons == nullptr)
    throw std::invalid_argument(std::string("ogbench::indicators: ") + c.name + " needs button states");
  std::vector<bool> out;
  out.reserve(static_cast<std::size_t>(num_indicators(spec)));
  if (c.family == Family::Cube || c.family == Family::Scene) {
    for (std::size_t i = 0; i < spec.cube_goal.size(); ++i) {
      const T* cube = qpos + kCubeQposBegin + kCubeQposStride * static_cast<int>(i);
      out.push_back(distance(cube, spec.cube_goal[i].data(), 3) <= kSuccessTolerance);
    }
  }
  if (c.family == Family::Scene || c.family == Family::Puzzle) {
    for (std::size_t k = 0; k < spec.button_goal.size(); ++k)
      out.push_back(buttons[k] == spec.button_goal[k]);
  }
  if (c.family == Family::Scene) {
    out.push_back(std::abs(static_cast<double>(qpos[kSceneDrawerQpos]) - spec.drawer_goal) <=
                  kSuccessTolerance);
    out.push_back(std::abs(static_cast<double>(qpos[kSceneWindowQpos]) - spec.window_goal) <=
                  kSuccessTolerance);
  }
  if (c.family == Family::Maze || c.family == Family::Soccer) {
    const T* xy = qpos + (c.family == Family::Soccer ? kAntSoccerBallQposBegin : 0);
    out.push_back(distance(xy, spec.goal_xy.data(), 2) <= spec.goal_tolerance);
  }
  return out;
}

}  // namespace

std::vector<bool> indicators(const TaskSpec& spec, const double* qpos, const std::int64_t* buttons) {
  return compute(spec, qpos, buttons);
}

std::vector<bool> indicators(const TaskSpec& spec, const float* qpos, const std::int64_t* buttons) {
  return compute(spec, qpos, buttons);
}

int reward(const std::vector<bool>& indicators) {
  int r = 0;
  for (bool ok : indicators) r -= ok ? 0 : 1;
  return r;
}

bool success(const std::vector<bool>& indicators) {
  for (bool ok : indicators)
    if (!ok) return false;
  return true;
}

}  // namespace dipole::ogbench
