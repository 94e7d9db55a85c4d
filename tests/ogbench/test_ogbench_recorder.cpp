// The `ogbench` recorder on synthetic EpisodeRecords: rows per (docs/ogbench.md, "Manipulation: datasets")
// and "Generator loop" (row t = s_t, a_t; the outcome of the last step not stored), read back by the
// `ogbench` dataset (regular-mode transitions, rewards from the stored qpos), the written npz (keys in the
// docs' order, dtypes, shapes, DEFLATE), the validation split, extending existing files, the partial file of
// an interrupted collection, and the errors. Last, `dipole collect` with the `ogbench` environment into the
// recorder and back.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <dipole/core/config.hpp>
#include <dipole/core/registry.hpp>
#include <dipole/dataset.hpp>
#include <dipole/recorder.hpp>
#include <dipole/sdk/npz.hpp>

#include "ogbench_tasks.hpp"
#include "support/run_command.hpp"

namespace og = dipole::ogbench;
namespace fs = std::filesystem;
namespace npz = dipole::npz;
using dipole::EpisodeRecord;
using dipole::Kind;

namespace {

/// Observation entry k of state s_t of episode e is 1000·e + 10·t + k / 100 (every row identifiable);
/// the states hold qpos entry k = e + t + k / 100 (cube-single: except the cube's xyz), qvel entry
/// k = −(e + t) − k / 100 and, for scene/puzzle, button b = (e + t + b) mod 2. Action entry j of step
/// t is (t + j) mod 3 − 1. `goal` lists the states s_t (by t) where the cube sits on the task's goal.
EpisodeRecord synthetic_episode(og::Category c, int e, int steps, const std::set<int>& goal = {}) {
  const og::CategoryInfo& info = og::info(c);
  const og::TaskSpec task = og::task_spec(c, info.default_task);
  const int s_dim = info.nq + info.nv + info.num_buttons;
  // States s_0 … s_T (T + 1 of them); the record holds s_0 as the initial state, s_1 … s_T as states.
  at::Tensor obs = at::empty({steps + 1, info.obs_dim}, at::kFloat);
  at::Tensor state = at::empty({steps + 1, s_dim}, at::kDouble);
  for (int t = 0; t <= steps; ++t) {
    for (int k = 0; k < info.obs_dim; ++k) obs[t][k] = 1000.0 * e + 10.0 * t + k / 100.0;
    for (int k = 0; k < info.nq; ++k) state[t][k] = e + t + k / 100.0;
    if (info.family == og::Family::Cube)
      for (int k = 0; k < 3; ++k)
        state[t][og::kCubeQposBegin + k] =
            goal.count(t) ? task.cube_goal[0][static_cast<std::size_t>(k)] : 5.0;
    for (int k = 0; k < info.nv; ++k) state[t][info.nq + k] = -(e + t) - k / 100.0;
    for (int b = 0; b < info.num_buttons; ++b) state[t][info.nq + info.nv + b] = (e + t + b) % 2;
  }
  EpisodeRecord r;
  r.initial_observation = obs[0].clone();
  r.initial_state = state[0].clone();
  r.observations = obs.slice(0, 1).clone();
  r.states = state.slice(0, 1).clone();
  r.actions = at::empty({steps, info.act_dim}, at::kFloat);
  for (int t = 0; t < steps; ++t)
    for (int j = 0; j < info.act_dim; ++j) r.actions[t][j] = static_cast<float>((t + j) % 3 - 1);
  r.rewards = at::zeros({steps}, at::kFloat);
  r.terminated = at::zeros({steps}, at::kBool);
  r.truncated = at::zeros({steps}, at::kBool);
  r.truncated[steps - 1] = true;
  r.successes = at::zeros({steps}, at::kBool);
  return r;
}

float obs_id(int e, int t, int k) {
  return static_cast<float>(1000.0 * e + 10.0 * t + k / 100.0);
}

/// The compression method of the first member of a ZIP file (local header "PK\3\4", method at
/// offset 8): 8 = DEFLATE, 0 = stored; −1 if the file does not start with a local header.
int compression_method(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[10] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  if (header[0] != 'P' || header[1] != 'K' || header[2] != 3 || header[3] != 4) return -1;
  return header[8] | (header[9] << 8);
}

using Result = dipole::test::CommandResult;
using dipole::test::dipole_cli;

class OgbenchRecorder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_ogbench_recorder_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    registry_.load_library(std::string(DIPOLE_BINARY_DIR) + "/lib/dipole/plugins/libdipole_ogbench.so");
  }
  void TearDown() override { fs::remove_all(dir_); }

  template <class T>
  std::shared_ptr<T> make(Kind kind, const std::string& section, const std::string& body) {
    auto pipeline = dipole::config::Pipeline::parse(
        "[" + section + "]\ntype = \"ogbench\"\ndirectory = \"" + dir_.string() + "\"\n" + body, "test.toml");
    auto params = pipeline.validate(section, "ogbench", registry_.info(kind, "ogbench").schema);
    dipole::BuildContext ctx;
    ctx.section = section;
    return std::dynamic_pointer_cast<T>(registry_.create(kind, "ogbench", params, ctx));
  }
  std::shared_ptr<dipole::Recorder> recorder(const std::string& body = "") {
    return make<dipole::Recorder>(Kind::Recorder, "recorder", "dataset = \"cube-single-play-v0\"\n" + body);
  }
  std::shared_ptr<dipole::Recorder> recorder_named(const std::string& name) {
    return make<dipole::Recorder>(Kind::Recorder, "recorder", "dataset = \"" + name + "\"\n");
  }
  std::shared_ptr<dipole::Dataset> dataset(const std::string& body = "") {
    return make<dipole::Dataset>(
        Kind::Dataset, "dataset",
        "dataset = \"cube-single-play-singletask-task2-v0\"\nclip_actions = 0\n" + body);
  }
  std::string file(const std::string& suffix = "") const {
    return (dir_ / ("cube-single-play-v0" + suffix + ".npz")).string();
  }
  /// The episode ids (observation entry 0 of each episode's first row / 1000) of a written file.
  std::vector<int> episode_ids(const std::string& path) const {
    const at::Tensor obs = npz::to_tensor(npz::read_npz_member(path, "observations"));
    const at::Tensor term = npz::to_tensor(npz::read_npz_member(path, "terminals"));
    std::vector<int> ids;
    for (std::int64_t i = 0; i < term.size(0); ++i)
      if (i == 0 || term[i - 1].item<bool>()) ids.push_back(static_cast<int>(obs[i][0].item<float>() / 1000));
    return ids;
  }
  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const dipole::Error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
  dipole::Registry registry_;
};

}  // namespace

TEST_F(OgbenchRecorder, RoundTripThroughTheDatasetGivesTheExpectedTransitions) {
  // Three episodes of T = 4, 5, 6 steps → 4 + 5 + 6 = 15 rows, 3 + 4 + 5 = 12 transitions.
  const std::vector<int> steps = {4, 5, 6};
  const std::vector<std::set<int>> goal = {{2}, {0, 4}, {5}};  // cube on the goal in these states s_t
  auto rec = recorder();
  EXPECT_EQ(rec->existing_episodes(), 0);
  for (int e = 0; e < 3; ++e)
    rec->write(e, synthetic_episode(og::Category::CubeSingle, e, steps[e], goal[e]));
  rec->finish();
  EXPECT_FALSE(fs::exists(file("-val")));
  EXPECT_FALSE(fs::exists(file("-partial")));

  auto d = dataset();
  ASSERT_EQ(d->num_episodes(), 3);
  ASSERT_EQ(d->size(), 12);
  for (int e = 0; e < 3; ++e) {
    SCOPED_TRACE(e);
    const dipole::Batch b = d->episode(e);
    ASSERT_EQ(b.observations.size(0), steps[e] - 1);
    for (int t = 0; t + 1 < steps[e]; ++t) {
      // Row t holds s_t and a_t; s′ is the stored s_{t+1}; terminal on the last kept row.
      EXPECT_FLOAT_EQ(b.observations[t][0].item<float>(), obs_id(e, t, 0)) << t;
      EXPECT_FLOAT_EQ(b.observations[t][27].item<float>(), obs_id(e, t, 27)) << t;
      EXPECT_FLOAT_EQ(b.next_observations[t][3].item<float>(), obs_id(e, t + 1, 3)) << t;
      for (int j = 0; j < 5; ++j)
        EXPECT_EQ(b.actions[t][j].item<float>(), static_cast<float>((t + j) % 3 - 1));
      EXPECT_EQ(b.terminals[t].item<float>(), t == steps[e] - 2 ? 1.0f : 0.0f) << t;
      // pre timing: reward r(s_t) from the stored qpos of s_t (cube-single: 0 on the goal, else −1).
      EXPECT_EQ(b.rewards[t].item<float>(), goal[e].count(t) ? 0.0f : -1.0f) << t;
      EXPECT_EQ(b.masks[t].item<float>(), goal[e].count(t) ? 0.0f : 1.0f) << t;
    }
  }
  // Episode 0's goal state s_2 is row 2; episode 2's s_5 is its last stored row (dropped by the
  // loader, but the s′ of its last transition: post timing sees it).
  auto post = dataset("reward_timing = \"post\"\n");
  const dipole::Batch last = post->episode(2);
  EXPECT_EQ(last.rewards[4].item<float>(), 0.0f);
  EXPECT_EQ(last.rewards[3].item<float>(), -1.0f);
  // The state after the last step (s_T) is not stored: 15 rows in the file.
  EXPECT_EQ(npz::read_npz_member(file(), "qpos").shape, (std::vector<std::int64_t>{15, 21}));
}

TEST_F(OgbenchRecorder, FileHoldsTheSpecKeysDtypesAndShapesInOrderDeflated) {
  auto rec = recorder();
  rec->write(0, synthetic_episode(og::Category::CubeSingle, 0, 3));
  rec->write(1, synthetic_episode(og::Category::CubeSingle, 1, 2));
  rec->finish();
  EXPECT_EQ(npz::list_npz(file()),
            (std::vector<std::string>{"observations", "actions", "terminals", "qpos", "qvel"}));
  const auto arrays = npz::read_npz(file());
  using S = std::vector<std::int64_t>;
  EXPECT_EQ(arrays.at("observations").dtype, npz::DType::Float32);
  EXPECT_EQ(arrays.at("observations").shape, (S{5, 28}));
  EXPECT_EQ(arrays.at("actions").dtype, npz::DType::Float32);
  EXPECT_EQ(arrays.at("actions").shape, (S{5, 5}));
  EXPECT_EQ(arrays.at("terminals").dtype, npz::DType::Bool);
  EXPECT_EQ(arrays.at("terminals").shape, (S{5}));
  EXPECT_EQ(arrays.at("qpos").dtype, npz::DType::Float32);
  EXPECT_EQ(arrays.at("qpos").shape, (S{5, 21}));
  EXPECT_EQ(arrays.at("qvel").dtype, npz::DType::Float32);
  EXPECT_EQ(arrays.at("qvel").shape, (S{5, 20}));
  const at::Tensor term = npz::to_tensor(arrays.at("terminals"));
  EXPECT_TRUE(at::equal(term, at::tensor({0, 0, 1, 0, 1}, at::kLong).to(at::kBool)));
  // Rows 3, 4 = episode 1, s_0 (the reset state) and s_1: qpos[0] = e + t, qvel[1] = −(e + t) − 0.01.
  const at::Tensor qpos = npz::to_tensor(arrays.at("qpos")), qvel = npz::to_tensor(arrays.at("qvel"));
  EXPECT_EQ(qpos[3][0].item<float>(), 1.0f);
  EXPECT_EQ(qpos[4][0].item<float>(), 2.0f);
  EXPECT_EQ(qpos[4][20].item<float>(), static_cast<float>(2.2));
  EXPECT_EQ(qvel[4][1].item<float>(), static_cast<float>(-2.01));
  EXPECT_EQ(compression_method(file()), 8);  // DEFLATE

  // Scene and puzzle add button_states (<i8) last, from the state's trailing entries.
  auto scene = make<dipole::Recorder>(Kind::Recorder, "recorder", "dataset = \"scene-play-v0\"\n");
  scene->write(0, synthetic_episode(og::Category::Scene, 0, 3));
  scene->finish();
  const std::string scene_file = (dir_ / "scene-play-v0.npz").string();
  EXPECT_EQ(npz::list_npz(scene_file), (std::vector<std::string>{"observations", "actions", "terminals",
                                                                 "qpos", "qvel", "button_states"}));
  const npz::Array buttons = npz::read_npz_member(scene_file, "button_states");
  EXPECT_EQ(buttons.dtype, npz::DType::Int64);
  EXPECT_EQ(buttons.shape, (S{3, 2}));
  EXPECT_TRUE(at::equal(npz::to_tensor(buttons), at::tensor({0, 1, 1, 0, 0, 1}, at::kLong).reshape({3, 2})));
}

TEST_F(OgbenchRecorder, ValidationSplitTakesTheLastEpisodes) {
  auto rec = recorder("val_episodes = 2\n");
  for (int e = 0; e < 5; ++e) rec->write(e, synthetic_episode(og::Category::CubeSingle, e, 3));
  rec->finish();
  EXPECT_EQ(episode_ids(file()), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(episode_ids(file("-val")), (std::vector<int>{3, 4}));
  auto val = dataset("split = \"val\"\n");
  EXPECT_EQ(val->num_episodes(), 2);
  EXPECT_FLOAT_EQ(val->episode(1).observations[1][0].item<float>(), obs_id(4, 1, 0));
  EXPECT_EQ(dataset()->size(), 6);
  // Both files together are the collection: a new recorder continues after 5 episodes.
  EXPECT_EQ(recorder("val_episodes = 2\n")->existing_episodes(), 5);
}

TEST_F(OgbenchRecorder, ExtendingAppendsAndResplits) {
  {
    auto rec = recorder("val_episodes = 1\n");
    for (int e = 0; e < 3; ++e) rec->write(e, synthetic_episode(og::Category::CubeSingle, e, 3));
    rec->finish();
  }
  const npz::Array before = npz::read_npz_member(file(), "observations");
  auto rec = recorder("val_episodes = 1\n");
  ASSERT_EQ(rec->existing_episodes(), 3);
  EXPECT_NE(error_of([&] {
              rec->write(2, synthetic_episode(og::Category::CubeSingle, 2, 3));
            }).find("episode 2 is already recorded"),
            std::string::npos);
  rec->write(3, synthetic_episode(og::Category::CubeSingle, 3, 4));
  rec->write(4, synthetic_episode(og::Category::CubeSingle, 4, 3));
  rec->finish();
  // The old validation episode (2) moves into the train file; the last one (4) is the new val.
  EXPECT_EQ(episode_ids(file()), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(episode_ids(file("-val")), (std::vector<int>{4}));
  const npz::Array after = npz::read_npz_member(file(), "observations");
  ASSERT_EQ(after.shape[0], 3 + 3 + 3 + 4);
  EXPECT_TRUE(std::equal(before.data.begin(), before.data.end(), after.data.begin()));
  // Without a split, the stale validation file is folded in and removed.
  auto all = recorder();
  EXPECT_EQ(all->existing_episodes(), 5);
  all->write(5, synthetic_episode(og::Category::CubeSingle, 5, 2));
  all->finish();
  EXPECT_EQ(episode_ids(file()), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_FALSE(fs::exists(file("-val")));
  // A finish() without new episodes rewrites nothing.
  const auto mtime = fs::last_write_time(file());
  auto idle = recorder();
  idle->finish();
  EXPECT_EQ(fs::last_write_time(file()), mtime);
}

TEST_F(OgbenchRecorder, PartialFileKeepsAnInterruptedCollection) {
  {
    auto rec = recorder("checkpoint_every = 2\nval_episodes = 1\n");
    // Out of order (as parallel slots finish): 1 waits for 0, then both are contiguous.
    rec->write(1, synthetic_episode(og::Category::CubeSingle, 1, 3));
    EXPECT_FALSE(fs::exists(file("-partial")));
    rec->write(0, synthetic_episode(og::Category::CubeSingle, 0, 3));
    EXPECT_EQ(episode_ids(file("-partial")), (std::vector<int>{0, 1}));
    EXPECT_EQ(compression_method(file("-partial")), 0);  // stored: rewritten at every checkpoint
    rec->write(2, synthetic_episode(og::Category::CubeSingle, 2, 3));
    // destroyed without finish(): a crash; episode 2 was only in memory.
  }
  EXPECT_FALSE(fs::exists(file()));
  auto rec = recorder("checkpoint_every = 2\nval_episodes = 1\n");
  ASSERT_EQ(rec->existing_episodes(), 2);
  rec->write(2, synthetic_episode(og::Category::CubeSingle, 2, 3));
  rec->finish();
  EXPECT_EQ(episode_ids(file()), (std::vector<int>{0, 1}));
  EXPECT_EQ(episode_ids(file("-val")), (std::vector<int>{2}));
  EXPECT_FALSE(fs::exists(file("-partial")));

  // A gap at finish() (episode 5 recorded, 4 never): the contiguous episodes go to the partial file.
  auto gap = recorder("val_episodes = 1\n");
  gap->write(3, synthetic_episode(og::Category::CubeSingle, 3, 3));
  gap->write(5, synthetic_episode(og::Category::CubeSingle, 5, 3));
  const std::string message = error_of([&] { gap->finish(); });
  EXPECT_NE(message.find(
                "episode 4 was never recorded but episode 5 was; the 4 episodes before the gap are kept in " +
                file("-partial")),
            std::string::npos)
      << message;
  EXPECT_EQ(episode_ids(file("-partial")), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(recorder()->existing_episodes(), 4);
}

TEST_F(OgbenchRecorder, ErrorsNameWhatWasExpected) {
  auto rec = recorder();
  // State width: cube-single needs nq + nv + buttons = 21 + 20 + 0 = 41 (scene's 49 given).
  EpisodeRecord wide = synthetic_episode(og::Category::CubeSingle, 0, 3);
  wide.initial_state = at::zeros({49}, at::kDouble);
  wide.states = at::zeros({3, 49}, at::kDouble);
  const std::string width = error_of([&] { rec->write(0, wide); });
  EXPECT_NE(width.find("21 + 20 + 0 = 41"), std::string::npos) << width;
  EXPECT_NE(width.find("has 49 entries"), std::string::npos) << width;
  EpisodeRecord no_state = synthetic_episode(og::Category::CubeSingle, 0, 3);
  no_state.states = at::Tensor();
  EXPECT_NE(error_of([&] { rec->write(0, no_state); }).find("no simulator state"), std::string::npos);
  EpisodeRecord obs = synthetic_episode(og::Category::CubeSingle, 0, 3);
  obs.initial_observation = at::zeros({37});
  EXPECT_NE(error_of([&] {
              rec->write(0, obs);
            }).find("the observation has 37 entries, but cube-single files hold 28"),
            std::string::npos);
  EpisodeRecord rows = synthetic_episode(og::Category::CubeSingle, 0, 3);
  rows.observations = rows.observations.slice(0, 0, 2);
  EXPECT_NE(
      error_of([&] { rec->write(0, rows); })
          .find("expected actions [3, 5], observations [3, 28] and states [3, 41], got [3, 5], [2, 28] and "
                "[3, 41]"),
      std::string::npos);
  EpisodeRecord act = synthetic_episode(og::Category::CubeSingle, 0, 3);
  act.actions[1][2] = 1.5f;
  EXPECT_NE(error_of([&] { rec->write(0, act); }).find("row 1: action column 2 is 1.5, outside [-1, 1]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              rec->write(0, synthetic_episode(og::Category::CubeSingle, 0, 1));
            }).find("has 1 step(s); an OGBench episode needs at least 2 rows"),
            std::string::npos);
  // Buttons must be 0/1.
  auto scene = make<dipole::Recorder>(Kind::Recorder, "recorder", "dataset = \"scene-play-v0\"\n");
  EpisodeRecord button = synthetic_episode(og::Category::Scene, 0, 3);
  button.states[0][25 + 24 + 1] = 0.5;
  EXPECT_NE(error_of([&] { scene->write(0, button); }).find("row 1: button state 1 is 0.5"),
            std::string::npos);
  // Names: not a stem nor a dataset name; an environment id.
  EXPECT_NE(error_of([&] { recorder_named("cube-single-fancy-v0"); }).find("neither a file stem"),
            std::string::npos);
  EXPECT_NE(error_of([&] { recorder_named("cube-single-singletask-task1-v0"); }).find("recorder.dataset"),
            std::string::npos);
  // A full single-task dataset name writes the same files as its stem.
  auto full = recorder_named("cube-single-play-singletask-task1-v0");
  full->write(0, synthetic_episode(og::Category::CubeSingle, 0, 2));
  full->finish();
  EXPECT_TRUE(fs::exists(file()));
  // Every episode in validation: nothing left to train on (the episodes stay in the partial file).
  auto val = recorder("val_episodes = 2\n");
  val->write(1, synthetic_episode(og::Category::CubeSingle, 1, 2));
  EXPECT_NE(error_of([&] { val->finish(); }).find("val_episodes = 2 leaves no training episode of the 2"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(file("-partial")));
  fs::remove(file("-partial"));
  // Existing files of another layout are refused, naming the file and the key.
  std::map<std::string, npz::Array> arrays = npz::read_npz(file());
  arrays["qpos"] = npz::from_tensor(npz::to_tensor(arrays["qpos"]).to(at::kDouble));
  npz::write_npz(file(), arrays, true);
  const std::string dtype = error_of([&] { recorder(); });
  EXPECT_NE(dtype.find(file() + ": 'qpos' has dtype float64, expected float32"), std::string::npos) << dtype;
  fs::remove(file());
  npz::write_npz(file("-val"), arrays, true);
  EXPECT_NE(error_of([&] { recorder(); }).find("exists without"), std::string::npos);
}

TEST_F(OgbenchRecorder, CollectWithTheOgbenchEnvironmentThenLoad) {
  DIPOLE_SKIP_WITHOUT_CLI();
  // configs/ogbench_collect_random.toml, shortened: 3 episodes of 12 steps, the last one for validation.
  const std::string collect =
      "collect " + std::string(DIPOLE_SOURCE_DIR) +
      "/configs/ogbench_collect_random.toml --set recorder.directory=" + dir_.string() +
      " --set collect.max_steps=12 --set recorder.val_episodes=1 --seed 2";
  const Result r = dipole_cli(collect + " --episodes 3");
  ASSERT_EQ(r.code, 0) << r.output;
  auto train = dataset();
  EXPECT_EQ(train->num_episodes(), 2);
  EXPECT_EQ(train->size(), 2 * 11);
  EXPECT_EQ(dataset("split = \"val\"\n")->size(), 11);
  // The stored qpos rows are the environment's states: the cube starts near task2's initial position
  // (0.35, −0.05, 0.02) (±0.01 reset noise), far from its goal, so every reward is −1.
  const at::Tensor qpos = npz::to_tensor(npz::read_npz_member(file(), "qpos"));
  const og::TaskSpec task = og::task_spec(og::Category::CubeSingle, 2);
  for (int k = 0; k < 2; ++k)
    EXPECT_NEAR(qpos[0][og::kCubeQposBegin + k].item<float>(), task.cube_init[0][static_cast<std::size_t>(k)],
                0.011);
  EXPECT_TRUE(at::equal(train->episode(0).rewards, at::full({11}, -1.0f)));
  // A rerun with more episodes extends the collection (the val episode 2 moves to train).
  const Result more = dipole_cli(collect + " --episodes 4");
  ASSERT_EQ(more.code, 0) << more.output;
  EXPECT_EQ(dataset()->num_episodes(), 3);
}

TEST_F(OgbenchRecorder, OgbenchPipelinesResolveOnARecordedFile) {
  DIPOLE_SKIP_WITHOUT_CLI();
  auto rec = recorder("val_episodes = 1\n");
  for (int e = 0; e < 3; ++e) rec->write(e, synthetic_episode(og::Category::CubeSingle, e, 3));
  rec->finish();
  const std::string configs = std::string(DIPOLE_SOURCE_DIR) + "/configs/";
  const std::map<std::string, std::vector<std::string>> expected = {
      {"dipole",
       {"type = \"dipole\"", "beta = 3.0", "num_candidates = 32", "omega = 1.0", "preset = \"fql\""}},
      {"fql", {"type = \"fql\"", "alpha = 300.0", "type = \"td\"", "[one_step_policy]"}},
      {"flow_bc", {"type = \"flow_bc\"", "type = \"euler\""}},
  };
  for (const auto& [name, snippets] : expected) {
    SCOPED_TRACE(name);
    const Result r = dipole_cli("config " + configs + "ogbench_" + name +
                                ".toml --set dataset.directory=" + dir_.string());
    ASSERT_EQ(r.code, 0) << r.output;
    // The base's data, environment and protocol reach every extender.
    for (const char* s :
         {"dataset = \"cube-single-play-singletask-task1-v0\"", "env = \"cube-single-singletask-task1-v0\"",
          "episodes = 50", "steps = 1000000", "batch_size = 256"})
      EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
    for (const std::string& s : snippets)
      EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  }
}

TEST_F(OgbenchRecorder, FilesDoNotDependOnParallelNorOnSplittingTheCollection) {
  DIPOLE_SKIP_WITHOUT_CLI();
  const auto collect = [&](const std::string& sub, const std::string& extra) {
    const Result r =
        dipole_cli("collect " + std::string(DIPOLE_SOURCE_DIR) +
                   "/configs/ogbench_collect_random.toml --set recorder.directory=" + (dir_ / sub).string() +
                   " --set collect.max_steps=8 --set recorder.val_episodes=1 " + extra);
    ASSERT_EQ(r.code, 0) << r.output;
  };
  const auto bytes = [&](const std::string& sub, const std::string& suffix) {
    std::ifstream in(dir_ / sub / ("cube-single-play-v0" + suffix + ".npz"), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  collect("one", "--episodes 3 --set collect.parallel=1");
  collect("three", "--episodes 3 --set collect.parallel=3");
  collect("split", "--episodes 2 --set collect.parallel=2");  // then continued to 3 episodes
  collect("split", "--episodes 3 --set collect.parallel=2");
  ASSERT_FALSE(bytes("one", "").empty());
  for (const char* suffix : {"", "-val"}) {
    EXPECT_EQ(bytes("one", suffix), bytes("three", suffix)) << suffix;
    EXPECT_EQ(bytes("one", suffix), bytes("split", suffix)) << suffix;
  }
}
