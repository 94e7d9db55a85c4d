// OGBench manipulation (plugins/manipspace) with plugins/ogbench: play episodes from the generator
// (§6.2) written by the `ogbench` recorder and read back by the `ogbench` dataset (§5): the file
// layout accepts our rows, the loader drops each episode's last row, and the single-task rewards
// relabelled from the stored qpos lie in {−1, 0} with mask = (reward ≠ 0).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <dipole/core/registry.hpp>
#include <dipole/dataset.hpp>
#include <dipole/recorder.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "play_generator.hpp"

namespace dipole::manipspace {
namespace {

namespace fs = std::filesystem;

/// Row t = s_t: the recorder takes s_0 from the initial fields and s_t (t ≥ 1) from step t − 1.
EpisodeRecord to_record(const PlayEpisode& e) {
  const std::int64_t rows = e.rows, od = e.obs_dim, sd = e.nq + e.nv + e.num_buttons;
  const auto state_row = [&](std::int64_t r) {
    auto s = at::empty({sd}, at::kDouble);
    double* out = s.data_ptr<double>();
    for (int i = 0; i < e.nq; ++i) *out++ = e.qpos[static_cast<std::size_t>(r * e.nq + i)];
    for (int i = 0; i < e.nv; ++i) *out++ = e.qvel[static_cast<std::size_t>(r * e.nv + i)];
    for (int i = 0; i < e.num_buttons; ++i)
      *out++ = static_cast<double>(e.button_states[static_cast<std::size_t>(r * e.num_buttons + i)]);
    return s;
  };
  const auto obs = at::from_blob(const_cast<float*>(e.observations.data()), {rows, od}, at::kFloat).clone();
  EpisodeRecord rec;
  rec.initial_observation = obs[0].clone();
  rec.initial_state = state_row(0);
  rec.actions = at::from_blob(const_cast<float*>(e.actions.data()), {rows, 5}, at::kFloat).clone();
  rec.observations = at::empty({rows, od}, at::kFloat);
  rec.states = at::empty({rows, sd}, at::kDouble);
  for (std::int64_t t = 0; t < rows; ++t) {  // step t leads to s_{t+1}; the last outcome is not stored
    const std::int64_t next = std::min(t + 1, rows - 1);
    rec.observations[t].copy_(obs[next]);
    rec.states[t].copy_(state_row(next));
  }
  rec.rewards = at::zeros({rows}, at::kFloat);
  rec.terminated = at::zeros({rows}, at::kBool);
  rec.truncated = at::zeros({rows}, at::kBool);
  rec.truncated[rows - 1] = true;
  rec.successes = at::zeros({rows}, at::kBool);
  return rec;
}

TEST(ManipspaceFiles, GeneratedPlayEpisodesRoundTripThroughTheOgbenchRecorderAndDataset) {
  const fs::path dir = fs::temp_directory_path() / ("dipole_manipspace_files_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  static const Registry registry = Registry::with_default_plugins();
  BuildContext ctx;
  std::vector<PlayEpisode> generated;
  {
    Params params("recorder", "ogbench");
    params.set("dataset", std::string("cube-single-play-v0"));
    params.set("directory", dir.string());
    params.set("val_episodes", std::int64_t{1});
    params.set("checkpoint_every", std::int64_t{0});
    ctx.section = "recorder";
    auto recorder =
        std::dynamic_pointer_cast<Recorder>(registry.create(Kind::Recorder, "ogbench", params, ctx));
    ASSERT_TRUE(recorder);
    DataCollectionEnv data(SceneLayout::cubes(1));
    std::mt19937_64 rng(8);
    PlayOptions options;
    options.steps = 101;
    for (std::int64_t i = 0; i < 3; ++i) {
      generated.push_back(generate_play_episode(data, static_cast<std::uint64_t>(50 + i), options, rng));
      recorder->write(i, to_record(generated.back()));
    }
    recorder->finish();
  }
  ASSERT_TRUE(fs::exists(dir / "cube-single-play-v0.npz"));
  ASSERT_TRUE(fs::exists(dir / "cube-single-play-v0-val.npz"));
  for (const std::string split : {"train", "val"}) {
    Params params("dataset", "ogbench");
    params.set("dataset", std::string("cube-single-play-singletask-task1-v0"));
    params.set("directory", dir.string());
    params.set("split", split);
    params.set("reward_timing", std::string("pre"));
    params.set("clip_actions", 0.0);
    params.set("max_rows", std::int64_t{0});
    ctx.section = "dataset";
    auto dataset = std::dynamic_pointer_cast<Dataset>(registry.create(Kind::Dataset, "ogbench", params, ctx));
    ASSERT_TRUE(dataset);
    const std::int64_t episodes = split == "train" ? 2 : 1;
    EXPECT_EQ(dataset->size(), 100 * episodes) << split;  // 101 rows → 100 transitions each
    EXPECT_EQ(dataset->spec().obs_dim, 28);
    const Batch b = dataset->episode(0);
    ASSERT_EQ(b.rewards.size(0), 100);
    const auto r = b.rewards.to(at::kDouble);
    EXPECT_TRUE(((r == 0) | (r == -1)).all().item<bool>()) << split;
    EXPECT_TRUE(at::equal(b.masks.to(at::kDouble), (r != 0).to(at::kDouble))) << split;
    EXPECT_TRUE(at::allclose(b.observations.narrow(0, 1, 99), b.next_observations.narrow(0, 0, 99)));
    // the stored rows are ours: train = episodes 0, 1; val = episode 2
    const PlayEpisode& e = generated.at(split == "train" ? 0U : 2U);
    const auto ours = at::from_blob(const_cast<float*>(e.observations.data()), {101, 28}, at::kFloat);
    const auto our_actions = at::from_blob(const_cast<float*>(e.actions.data()), {101, 5}, at::kFloat);
    EXPECT_TRUE(at::equal(b.observations.to(at::kFloat), ours.narrow(0, 0, 100))) << split;
    EXPECT_TRUE(at::equal(b.next_observations.to(at::kFloat), ours.narrow(0, 1, 100))) << split;
    EXPECT_TRUE(at::equal(b.actions.to(at::kFloat), our_actions.narrow(0, 0, 100))) << split;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dipole::manipspace
#endif
