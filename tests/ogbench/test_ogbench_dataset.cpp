// The `ogbench` dataset plugin on small synthetic files written with core's npz writer: single-task
// rewards and masks on rows where the objects (or the agent / ball) sit exactly on the task goal, for
// every category and both reward timings; regular-mode transitions (docs/ogbench.md, "Manipulation:
// datasets"); action clipping; errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <dipole/core/config.hpp>
#include <dipole/core/registry.hpp>
#include <dipole/dataset.hpp>
#include <dipole/sdk/npz.hpp>

#include "ogbench_tasks.hpp"

namespace og = dipole::ogbench;
namespace fs = std::filesystem;
using dipole::npz::Array;
using dipole::npz::DType;
using og::Category;

namespace {

constexpr int kEpisodes = 3, kLength = 5, kRows = kEpisodes * kLength;  // rows 0-4 | 5-9 | 10-14
// Rows whose state is exactly the goal: mid-episode (2, 11), an episode's dropped last row (4) and an
// episode's first row (5).
const std::set<int> kGoalRows = {2, 4, 5, 11};
const std::vector<int> kKeptRows = {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13};

template <class T>
Array make_array(DType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
  Array a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

/// qpos and button states of the initial (off-goal) or goal state of a task.
void task_state(const og::TaskSpec& s, bool at_goal, std::vector<float>& qpos,
                std::vector<std::int64_t>& buttons) {
  const og::CategoryInfo& c = og::info(s.category);
  qpos.assign(static_cast<std::size_t>(c.nq), 0.0f);
  const auto& cubes = at_goal ? s.cube_goal : s.cube_init;
  for (std::size_t i = 0; i < cubes.size(); ++i)
    for (std::size_t k = 0; k < 3; ++k)
      qpos[og::kCubeQposBegin + og::kCubeQposStride * i + k] = static_cast<float>(cubes[i][k]);
  if (c.family == og::Family::Scene) {
    qpos[og::kSceneDrawerQpos] = static_cast<float>(at_goal ? s.drawer_goal : s.drawer_init);
    qpos[og::kSceneWindowQpos] = static_cast<float>(at_goal ? s.window_goal : s.window_init);
  }
  if (c.family == og::Family::Maze) {
    const og::Vec2& xy = at_goal ? s.goal_xy : s.agent_init_xy;
    qpos[0] = static_cast<float>(xy[0]);
    qpos[1] = static_cast<float>(xy[1]);
  }
  if (c.family == og::Family::Soccer) {
    qpos[0] = static_cast<float>(s.agent_init_xy[0]);
    qpos[1] = static_cast<float>(s.agent_init_xy[1]);
    const og::Vec2& ball = at_goal ? s.goal_xy : s.ball_init_xy;
    qpos[og::kAntSoccerBallQposBegin] = static_cast<float>(ball[0]);
    qpos[og::kAntSoccerBallQposBegin + 1] = static_cast<float>(ball[1]);
  }
  buttons = at_goal ? s.button_goal : s.button_init;
}

/// A 3-episode × 5-row file in OGBench's layout: observation entry k of row t is 100·t + k (so a row
/// can be identified after loading), actions cycle through −1, 0, 1, the state is the task goal on
/// kGoalRows and the initial state elsewhere.
std::map<std::string, Array> synthetic(Category c, int task) {
  const og::CategoryInfo& info = og::info(c);
  const og::TaskSpec spec = og::task_spec(c, task);
  std::vector<float> obs, act, qpos, qvel(static_cast<std::size_t>(kRows * info.nv), 0.0f), row_q;
  std::vector<std::uint8_t> term;
  std::vector<std::int64_t> buttons, row_b;
  for (int t = 0; t < kRows; ++t) {
    for (int k = 0; k < info.obs_dim; ++k) obs.push_back(static_cast<float>(100 * t + k));
    for (int k = 0; k < info.act_dim; ++k) act.push_back(static_cast<float>((t + k) % 3 - 1));
    term.push_back(t % kLength == kLength - 1 ? 1 : 0);
    task_state(spec, kGoalRows.count(t) > 0, row_q, row_b);
    qpos.insert(qpos.end(), row_q.begin(), row_q.end());
    buttons.insert(buttons.end(), row_b.begin(), row_b.end());
  }
  std::map<std::string, Array> file;
  file["observations"] = make_array(DType::Float32, {kRows, info.obs_dim}, obs);
  file["actions"] = make_array(DType::Float32, {kRows, info.act_dim}, act);
  file["terminals"] = make_array(DType::Bool, {kRows}, term);
  file["qpos"] = make_array(DType::Float32, {kRows, info.nq}, qpos);
  file["qvel"] = make_array(DType::Float32, {kRows, info.nv}, qvel);
  if (info.num_buttons > 0)
    file["button_states"] = make_array(DType::Int64, {kRows, info.num_buttons}, buttons);
  return file;
}

/// The reward of the (noise-free) initial state, counted by hand from the task tables (docs/ogbench.md,
/// "Manipulation: reset, success, reward") for each category's default task; locomotion starts are cells away
/// from the goal: −1.
int initial_reward(Category c) {
  switch (c) {
    case Category::CubeSingle:
      return -1;  // task2
    case Category::CubeDouble:
      return -2;  // task2: both cubes off
    case Category::CubeTriple:
      return -3;  // task2: three cubes off
    case Category::Scene:
      return -2;  // task2: drawer and window
    case Category::Puzzle3x3:
      return -5;  // task4: 010 101 010 → 111 111 111
    case Category::Puzzle4x4:
      return -8;  // task4: 1001 ×4 → all 0
    case Category::Puzzle4x6:
      return -12;  // task4: 010101 101010 010101 101010 → 100001 000000 000000 100001
    default:
      return -1;
  }
}

std::string dataset_name(Category c) {
  const og::CategoryInfo& info = og::info(c);
  return std::string(info.name) + "-" + info.dataset_types[0] + "-singletask-v0";
}

class OgbenchDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dipole_test_ogbench_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    registry_.load_library(std::string(DIPOLE_BINARY_DIR) + "/lib/dipole/plugins/libdipole_ogbench.so");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& stem, const std::map<std::string, Array>& file, bool val = false) {
    dipole::npz::write_npz((dir_ / (stem + (val ? "-val.npz" : ".npz"))).string(), file, true);
  }

  std::shared_ptr<dipole::Dataset> load(const std::string& name, const std::string& extra = "") {
    auto pipeline = dipole::config::Pipeline::parse("[dataset]\ntype = \"ogbench\"\ndataset = \"" + name +
                                                        "\"\ndirectory = \"" + dir_.string() + "\"\n" + extra,
                                                    "test.toml");
    auto params =
        pipeline.validate("dataset", "ogbench", registry_.info(dipole::Kind::Dataset, "ogbench").schema);
    dipole::BuildContext ctx;
    ctx.section = "dataset";
    return std::dynamic_pointer_cast<dipole::Dataset>(
        registry_.create(dipole::Kind::Dataset, "ogbench", params, ctx));
  }

  /// Every transition in stored order (episodes concatenated).
  static dipole::Batch all(const dipole::Dataset& d) {
    std::vector<dipole::Batch> parts;
    for (std::int64_t e = 0; e < d.num_episodes(); ++e) parts.push_back(d.episode(e));
    auto cat = [&](at::Tensor dipole::Batch::*field) {
      std::vector<at::Tensor> ts;
      for (const auto& p : parts) ts.push_back(p.*field);
      return at::cat(ts);
    };
    dipole::Batch b;
    b.observations = cat(&dipole::Batch::observations);
    b.next_observations = cat(&dipole::Batch::next_observations);
    b.actions = cat(&dipole::Batch::actions);
    b.rewards = cat(&dipole::Batch::rewards);
    b.masks = cat(&dipole::Batch::masks);
    b.terminals = cat(&dipole::Batch::terminals);
    return b;
  }

  std::string error_of(const std::string& name, const std::string& extra = "") {
    try {
      load(name, extra);
    } catch (const dipole::Error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
  dipole::Registry registry_;
};

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

TEST_F(OgbenchDataset, RewardsAndMasksOnGoalRowsForEveryCategoryAndTiming) {
  for (const og::CategoryInfo& info : og::categories()) {
    SCOPED_TRACE(info.name);
    const std::string name = dataset_name(info.category);
    write(og::parse_name(name).dataset_stem, synthetic(info.category, info.default_task));
    const float off = static_cast<float>(initial_reward(info.category));
    for (const char* timing : {"pre", "post"}) {
      SCOPED_TRACE(timing);
      const bool post = std::string(timing) == "post";
      auto d = load(name, std::string("reward_timing = \"") + timing + "\"\n");
      ASSERT_EQ(d->size(), static_cast<std::int64_t>(kKeptRows.size()));
      EXPECT_EQ(d->spec().obs_dim, info.obs_dim);
      EXPECT_EQ(d->spec().action_dim, info.act_dim);
      const dipole::Batch b = all(*d);
      const auto rewards = to_vector(b.rewards), masks = to_vector(b.masks);
      for (std::size_t i = 0; i < kKeptRows.size(); ++i) {
        // pre: the state of row t; post: the state of row t + 1 (for t = 3, the dropped row 4).
        const int state_row = kKeptRows[i] + (post ? 1 : 0);
        const bool goal = kGoalRows.count(state_row) > 0;
        EXPECT_EQ(rewards[i], goal ? 0.0f : off) << "transition from row " << kKeptRows[i];
        EXPECT_EQ(masks[i], goal ? 0.0f : 1.0f) << "transition from row " << kKeptRows[i];
      }
    }
  }
}

TEST_F(OgbenchDataset, NonDefaultTaskFromTheName) {
  // scene task3 (rearrange_medium): initial state fails cube, button 1, drawer, window → −4.
  write("scene-play-v0", synthetic(Category::Scene, 3));
  const auto rewards = to_vector(all(*load("scene-play-singletask-task3-v0")).rewards);
  for (std::size_t i = 0; i < kKeptRows.size(); ++i)
    EXPECT_EQ(rewards[i], kGoalRows.count(kKeptRows[i]) ? 0.0f : -4.0f) << kKeptRows[i];
  // With the default task (task2: cube (0.35, −0.05), buttons (0, 0), drawer 0, window 0), the task3
  // goal state (cube (0.4, 0.15); buttons (1, 1); drawer −0.16; window 0) fails cube, 2 buttons, drawer.
  const auto task2 = to_vector(all(*load("scene-play-singletask-v0")).rewards);
  EXPECT_EQ(task2[2], -4.0f);
}

TEST_F(OgbenchDataset, RegularModeTransitionsNeverCrossAnEpisodeEnd) {
  write("cube-double-play-v0", synthetic(Category::CubeDouble, 2));
  auto d = load("cube-double-play-singletask-v0");
  EXPECT_EQ(d->num_episodes(), kEpisodes);
  const dipole::Batch b = all(*d);
  const auto obs = b.observations.select(1, 0), next = b.next_observations.select(1, 0);
  const auto terminals = to_vector(b.terminals);
  for (std::size_t i = 0; i < kKeptRows.size(); ++i) {
    const int row = static_cast<int>(obs[static_cast<std::int64_t>(i)].item<float>()) / 100;
    const int next_row = static_cast<int>(next[static_cast<std::int64_t>(i)].item<float>()) / 100;
    EXPECT_EQ(row, kKeptRows[i]);
    EXPECT_EQ(next_row, row + 1);
    EXPECT_EQ(row / kLength, next_row / kLength)
        << "transition " << row << " → " << next_row << " crosses episodes";
    EXPECT_EQ(terminals[i], row % kLength == kLength - 2 ? 1.0f : 0.0f)
        << row;  // last kept row of an episode
  }
  // Whole rows: entry k of the observation of row t is 100 t + k.
  EXPECT_EQ(b.observations[5][36].item<float>(), 100.0f * 6 + 36);
  // Sampling draws stored transitions.
  at::Generator gen = at::detail::createCPUGenerator(7);
  const dipole::Batch s = d->sample(64, gen);
  EXPECT_TRUE(
      at::equal(s.next_observations.select(1, 0) - s.observations.select(1, 0), at::full({64}, 100.0f)));
  EXPECT_TRUE(s.observations.is_contiguous());
}

TEST_F(OgbenchDataset, ActionsClippedAsFqlDoes) {
  write("cube-single-play-v0", synthetic(Category::CubeSingle, 2));
  const auto clipped = all(*load("cube-single-play-singletask-v0")).actions;
  EXPECT_FLOAT_EQ(clipped.max().item<float>(), static_cast<float>(1.0 - 1e-5));
  EXPECT_FLOAT_EQ(clipped.min().item<float>(), static_cast<float>(-1.0 + 1e-5));
  EXPECT_EQ(clipped[1][0].item<float>(), 0.0f);  // row 1, entry 0: (1 + 0) % 3 − 1 = 0 is untouched
  const auto raw = all(*load("cube-single-play-singletask-v0", "clip_actions = 0.0\n")).actions;
  EXPECT_EQ(raw.max().item<float>(), 1.0f);
  EXPECT_EQ(raw.min().item<float>(), -1.0f);
  const auto wide = all(*load("cube-single-play-singletask-v0", "clip_actions = 0.1\n")).actions;
  EXPECT_FLOAT_EQ(wide.max().item<float>(), 0.9f);
}

TEST_F(OgbenchDataset, ValidationSplitMaxRowsAndHome) {
  write("puzzle-3x3-play-v0", synthetic(Category::Puzzle3x3, 4));
  auto file = synthetic(Category::Puzzle3x3, 4);
  write("puzzle-3x3-play-v0", file, /*val=*/true);
  EXPECT_EQ(load("puzzle-3x3-play-singletask-v0", "split = \"val\"\n")->size(), 12);
  // max_rows keeps whole episodes: 12 rows → episodes 0 and 1 → 8 transitions.
  auto part = load("puzzle-3x3-play-singletask-v0", "max_rows = 12\n");
  EXPECT_EQ(part->size(), 8);
  EXPECT_EQ(part->num_episodes(), 2);
  EXPECT_NE(error_of("puzzle-3x3-play-singletask-v0", "max_rows = 3\n").find("no whole episode"),
            std::string::npos);
  // "~" is $HOME.
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", dir_.c_str(), 1);
  auto pipeline = dipole::config::Pipeline::parse(
      "[dataset]\ntype = \"ogbench\"\ndataset = \"puzzle-3x3-play-singletask-v0\"\ndirectory = \"~\"\n",
      "t.toml");
  auto params =
      pipeline.validate("dataset", "ogbench", registry_.info(dipole::Kind::Dataset, "ogbench").schema);
  EXPECT_EQ(std::dynamic_pointer_cast<dipole::Dataset>(
                registry_.create(dipole::Kind::Dataset, "ogbench", params, dipole::BuildContext{}))
                ->size(),
            12);
  if (old_home) ::setenv("HOME", saved.c_str(), 1);
}

TEST_F(OgbenchDataset, MissingFileNamesBothPathsTheUrlAndGenerate) {
  const std::string msg = error_of("cube-single-play-singletask-task1-v0");
  EXPECT_NE(msg.find((dir_ / "cube-single-play-v0.npz").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find((dir_ / "cube-single-play-v0-val.npz").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("https://rail.eecs.berkeley.edu/datasets/ogbench/cube-single-play-v0.npz"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("dipole generate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dataset.directory"), std::string::npos) << msg;
}

TEST_F(OgbenchDataset, CorruptFilesAreDataErrorsNamingTheProblem) {
  const std::string name = "cube-single-play-singletask-v0", stem = "cube-single-play-v0";
  auto expect_error = [&](std::map<std::string, Array> file, const std::string& needle) {
    write(stem, file);
    const std::string msg = error_of(name);
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
    EXPECT_NE(msg.find(stem + ".npz"), std::string::npos) << msg;
  };
  auto missing = synthetic(Category::CubeSingle, 2);
  missing.erase("qpos");
  expect_error(missing, "missing array 'qpos'");

  auto narrow = synthetic(Category::CubeSingle, 2);
  narrow["qpos"] = make_array(DType::Float32, {kRows, 20}, std::vector<float>(kRows * 20, 0.0f));
  expect_error(narrow, "'qpos' has shape (15, 20), expected (15, 21)");

  auto short_actions = synthetic(Category::CubeSingle, 2);
  short_actions["actions"] =
      make_array(DType::Float32, {kRows - 1, 5}, std::vector<float>((kRows - 1) * 5, 0.0f));
  expect_error(short_actions, "'actions' has shape (14, 5), expected (15, 5)");

  auto nan = synthetic(Category::CubeSingle, 2);
  std::vector<float> obs(kRows * 28, 0.0f);
  obs[3 * 28 + 7] = std::numeric_limits<float>::quiet_NaN();
  nan["observations"] = make_array(DType::Float32, {kRows, 28}, obs);
  expect_error(nan, "'observations' has a non-finite value (nan) at row 3, column 7");

  auto ints = synthetic(Category::CubeSingle, 2);
  ints["observations"] = make_array(DType::Int64, {kRows, 28}, std::vector<std::int64_t>(kRows * 28, 0));
  expect_error(ints, "'observations' has dtype int64, expected float32");

  auto open_end = synthetic(Category::CubeSingle, 2);
  std::vector<std::uint8_t> term(kRows, 0);
  term[4] = term[9] = 1;  // the last episode never ends
  open_end["terminals"] = make_array(DType::Bool, {kRows}, term);
  expect_error(open_end, "the last row (14) is not terminal");

  auto doubled = synthetic(Category::CubeSingle, 2);
  term.assign(kRows, 0);
  term[4] = term[5] = term[14] = 1;
  doubled["terminals"] = make_array(DType::Bool, {kRows}, term);
  expect_error(doubled, "rows 4 and 5 are both terminal");

  auto wide = synthetic(Category::CubeSingle, 2);
  std::vector<float> act(kRows * 5, 0.0f);
  act[6 * 5 + 2] = 1.5f;
  wide["actions"] = make_array(DType::Float32, {kRows, 5}, act);
  expect_error(wide, "'actions' row 6 lies outside [-1, 1]");

  // terminals of any dtype, but exactly 0 or 1: float 0.5 and 1e30 (a float-to-int overflow before
  // ogbench_format.cpp compared them as floats) and int 2 are refused, float 0/1 accepted
  for (const auto& [value, shown] :
       std::vector<std::pair<float, std::string>>{{0.5f, "0.5"}, {1e30f, "1e+30"}}) {
    auto odd = synthetic(Category::CubeSingle, 2);
    std::vector<float> t(kRows, 0.0f);
    t[4] = t[9] = t[14] = 1.0f;
    t[7] = value;
    odd["terminals"] = make_array(DType::Float32, {kRows}, t);
    expect_error(odd, "'terminals' row 7 is " + shown + ", expected 0 or 1");
  }
  auto two = synthetic(Category::CubeSingle, 2);
  std::vector<std::int64_t> t64(kRows, 0);
  t64[4] = t64[9] = t64[14] = 1;
  t64[3] = 2;
  two["terminals"] = make_array(DType::Int64, {kRows}, t64);
  expect_error(two, "'terminals' row 3 is 2, expected 0 or 1");
  auto float_terminals = synthetic(Category::CubeSingle, 2);
  std::vector<float> t32(kRows, 0.0f);
  t32[4] = t32[9] = t32[14] = 1.0f;
  float_terminals["terminals"] = make_array(DType::Float32, {kRows}, t32);
  write(stem, float_terminals);
  EXPECT_EQ(load(name)->num_episodes(), kEpisodes);

  // scene and puzzle need integer button states
  auto scene = synthetic(Category::Scene, 2);
  scene["button_states"] = make_array(DType::Float32, {kRows, 2}, std::vector<float>(kRows * 2, 0.0f));
  write("scene-play-v0", scene);
  EXPECT_NE(error_of("scene-play-singletask-v0").find("'button_states' has dtype float32, expected int64"),
            std::string::npos);
  // ... of 0 or 1 (buttons are on or off)
  scene = synthetic(Category::Scene, 2);
  std::vector<std::int64_t> b(kRows * 2, 0);
  b[3 * 2 + 1] = 2;
  scene["button_states"] = make_array(DType::Int64, {kRows, 2}, b);
  write("scene-play-v0", scene);
  EXPECT_NE(
      error_of("scene-play-singletask-v0").find("'button_states' row 3, column 1 is 2, expected 0 or 1"),
      std::string::npos)
      << error_of("scene-play-singletask-v0");
  scene.erase("button_states");
  write("scene-play-v0", scene);
  EXPECT_NE(error_of("scene-play-singletask-v0").find("missing array 'button_states'"), std::string::npos);
}

TEST_F(OgbenchDataset, BadNamesAreConfigErrorsAtTheKey) {
  const std::string msg = error_of("cube-single-play-singletask-task9-v0");
  EXPECT_NE(msg.find("test.toml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dataset.dataset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tasks are 1..5"), std::string::npos) << msg;
  EXPECT_NE(error_of("cube-single-singletask-task1-v0").find("environment id, not a dataset name"),
            std::string::npos);
}
