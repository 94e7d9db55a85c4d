// Files of dipole_ogbench_generate read back through the `ogbench` dataset plugin
// (plugins/benchmarks/ogbench): our observations and actions unchanged, 100 transitions per 101-row episode,
// rewards in {−1, 0} and mask = (reward ≠ 0), train = the first episodes, val = the last.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <dipole/core/registry.hpp>
#include <dipole/dataset.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "generator_loop.hpp"

namespace dipole::manipspace::oracles {
namespace {

namespace fs = std::filesystem;

TEST(GeneratedFiles, PlayEpisodesRoundTripThroughTheOgbenchDataset) {
  const fs::path dir = fs::temp_directory_path() / ("dipole_oracles_files_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string command = std::string(DIPOLE_OGBENCH_GENERATE) + " --directory " + dir.string() +
                              " --dataset cube-single-play-v0 --episodes 2 --val-episodes 1 --steps 101 "
                              "--seed 8 --threads 1 > " +
                              dir.string() + ".log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  ASSERT_TRUE(fs::exists(dir / "cube-single-play-v0.npz"));
  ASSERT_TRUE(fs::exists(dir / "cube-single-play-v0-val.npz"));
  GenerateConfig config;
  config.steps = 101;
  config.seed = 8;
  PlayEnv env(config.category);
  static const Registry registry = Registry::with_default_plugins();
  BuildContext ctx;
  ctx.section = "dataset";
  for (const std::string split : {"train", "val"}) {
    Params params("dataset", "ogbench");
    params.set("dataset", std::string("cube-single-play-singletask-task1-v0"));
    params.set("directory", dir.string());
    params.set("split", split);
    params.set("reward_timing", std::string("pre"));
    params.set("clip_actions", 0.0);
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
    const PlayEpisode e = play_episode(env, config, split == "train" ? 0 : 2);
    const auto ours = at::from_blob(const_cast<float*>(e.observations.data()), {102, 28}, at::kFloat);
    const auto our_actions = at::from_blob(const_cast<float*>(e.actions.data()), {101, 5}, at::kFloat);
    EXPECT_TRUE(at::equal(b.observations.to(at::kFloat), ours.narrow(0, 0, 100))) << split;
    EXPECT_TRUE(at::equal(b.next_observations.to(at::kFloat), ours.narrow(0, 1, 100))) << split;
    EXPECT_TRUE(at::equal(b.actions.to(at::kFloat), our_actions.narrow(0, 0, 100))) << split;
  }
  fs::remove_all(dir);
  fs::remove(dir.string() + ".log");
}

}  // namespace
}  // namespace dipole::manipspace::oracles
#endif
