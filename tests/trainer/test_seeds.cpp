// Several seeds of one pipeline trained together (trainer.seeds, docs/seeds.md): each seed's run
// directory equals that of the seed trained alone, resumes like one, and bad seed lists are errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "dipole/core/checkpoint.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/seed_parallel.hpp"
#include "dipole/core/trainer.hpp"
#include "dipole/sdk/npz.hpp"
#include "support/build_run.hpp"
#include "support/run_files.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;
using test::fresh_dir;
using test::options;
using test::without_comments;
using test::without_time;

const std::string kDipole = std::string(DIPOLE_SOURCE_DIR) + "/configs/bandit_dipole.toml";
// A small DIPOLE: critic with target network, two flow policies, best-of-N acting with evaluations.
const std::vector<std::string> kSmall = {"trainer.steps=24",
                                         "trainer.log_interval=4",
                                         "trainer.checkpoint_interval=8",
                                         "trainer.eval_interval=12",
                                         "trainer.batch_size=32",
                                         "critic.hidden_dims=[16, 16]",
                                         "denoiser.hidden_dims=[16, 16]",
                                         "eval.episodes=40",
                                         "eval.parallel=20",
                                         "eval.omegas=[1.0]",
                                         "sampler.num_candidates=4"};

std::vector<std::string> with(std::vector<std::string> overrides, const std::vector<std::string>& more) {
  overrides.insert(overrides.end(), more.begin(), more.end());
  return overrides;
}

/// The runs of `file` (default: the small DIPOLE) with `overrides`, as `dipole train` builds them.
std::vector<dipole::Run> seed_runs(const std::vector<std::string>& overrides,
                                   const std::string& file = kDipole) {
  auto pipeline = config::Pipeline::load(file, overrides);
  app::apply_process_settings(pipeline);
  return build_seed_runs(Registry::with_default_plugins(), std::move(pipeline));
}

void expect_same_run(const fs::path& a, const fs::path& b) {
  for (const char* name : {"metrics.csv", "metrics.jsonl", "eval.csv", "eval.jsonl"}) {
    ASSERT_TRUE(fs::exists(a / name)) << a / name;
    EXPECT_EQ(without_time(a / name), without_time(b / name)) << name;
  }
  EXPECT_EQ(without_comments(a / "pipeline.resolved.toml"), without_comments(b / "pipeline.resolved.toml"));
  EXPECT_EQ(read_text((a / "plugins.toml").string()), read_text((b / "plugins.toml").string()));
  const TrainingState x = load_checkpoint((a / "checkpoints" / "latest.npz").string());
  const TrainingState y = load_checkpoint((b / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(x.step, y.step);
  ASSERT_EQ(x.algorithm.size(), y.algorithm.size());
  for (const auto& [key, tensor] : x.algorithm) {
    ASSERT_TRUE(y.algorithm.count(key)) << key;
    const at::Tensor p = tensor.contiguous(), q = y.algorithm.at(key).contiguous();
    ASSERT_EQ(p.sizes(), q.sizes()) << key;
    EXPECT_EQ(std::memcmp(p.data_ptr(), q.data_ptr(), p.nbytes()), 0) << "state entry differs: " << key;
  }
  EXPECT_TRUE(at::equal(x.data_generator, y.data_generator));
  EXPECT_TRUE(at::equal(x.algorithm_generator, y.algorithm_generator));
}

TEST(Seeds, EachSeedEqualsTheSameSeedTrainedAlone) {
  const fs::path dir = fresh_dir("together");
  std::vector<dipole::Run> runs = seed_runs(with(kSmall, {"trainer.seeds=[3, 5, 8]"}));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1].trainer.seed, 5u);
  EXPECT_FALSE(runs[1].trainer.seeds.has_value());
  const auto results = train_seeds(runs, options(dir / "group"), /*threads=*/2);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.steps_done, 24);

  // Different seeds learned different things (the comparison below could fail).
  EXPECT_NE(without_time(dir / "group" / "seed3" / "metrics.csv"),
            without_time(dir / "group" / "seed5" / "metrics.csv"));
  for (const int seed : {3, 8}) {
    auto alone = seed_runs(with(kSmall, {"trainer.seed=" + std::to_string(seed)}));
    ASSERT_EQ(alone.size(), 1u);
    train(alone.front(), options(dir / ("alone" + std::to_string(seed))));
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_same_run(dir / "group" / ("seed" + std::to_string(seed)), dir / ("alone" + std::to_string(seed)));
  }
  fs::remove_all(dir);
}

TEST(Seeds, AnOnlinePhaseIsPerSeedToo) {
  // FQL offline → online: each seed's replay buffer, exploration environment and counters are its own.
  const fs::path dir = fresh_dir("online");
  const std::string fql = std::string(DIPOLE_SOURCE_DIR) + "/configs/finetune_bandit_fql.toml";
  const std::vector<std::string> small = {"trainer.steps=12",
                                          "trainer.log_interval=4",
                                          "trainer.eval_interval=8",
                                          "online.steps=12",
                                          "online.eval_interval=8",
                                          "eval.episodes=10",
                                          "eval.parallel=10",
                                          "critic.hidden_dims=[16, 16]",
                                          "denoiser.hidden_dims=[16, 16]",
                                          "one_step_policy.hidden_dims=[16, 16]",
                                          "trainer.batch_size=16"};
  std::vector<dipole::Run> group = seed_runs(with(small, {"trainer.seeds=[1, 2]"}), fql);
  const auto results = train_seeds(group, options(dir / "group"), 2);
  EXPECT_EQ(results[1].steps_done, 24);
  auto alone = seed_runs(with(small, {"trainer.seed=2"}), fql);
  train(alone.front(), options(dir / "alone"));
  expect_same_run(dir / "group" / "seed2", dir / "alone");
  EXPECT_NE(without_time(dir / "group" / "seed1" / "metrics.csv"),
            without_time(dir / "alone" / "metrics.csv"));
  fs::remove_all(dir);
}

/// Every algorithm's bandit pipeline: seed 1 of a group of two, trained on two threads, equals seed 1
/// trained alone (a plugin with state shared between instances would fail here).
class EveryAlgorithm : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryAlgorithm, SeedOfAGroupEqualsTheSeedAlone) {
  const fs::path dir = fresh_dir("every_" + GetParam());
  const std::string file = std::string(DIPOLE_SOURCE_DIR) + "/configs/bandit_" + GetParam() + ".toml";
  const std::vector<std::string> small = {"trainer.steps=6",       "trainer.log_interval=3",
                                          "trainer.batch_size=32", "trainer.eval_interval=3",
                                          "eval.episodes=20",      "eval.parallel=20"};
  std::vector<dipole::Run> group = seed_runs(with(small, {"trainer.seeds=[0, 1]"}), file);
  train_seeds(group, options(dir / "group"), 2);
  std::vector<dipole::Run> alone = seed_runs(with(small, {"trainer.seed=1"}), file);
  train(alone.front(), options(dir / "alone"));
  expect_same_run(dir / "group" / "seed1", dir / "alone");
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, EveryAlgorithm,
                         ::testing::Values("dipole", "cfgrl", "fql", "flow_bc", "iql", "ifql", "idql",
                                           "rebrac"),
                         [](const auto& info) { return info.param; });

TEST(Seeds, AnInterruptedGroupResumesAndASeedResumesAlone) {
  const fs::path dir = fresh_dir("resume");
  const auto group = with(kSmall, {"trainer.seeds=[0, 1]"});
  {
    std::vector<dipole::Run> whole = seed_runs(group);
    train_seeds(whole, options(dir / "whole"), 2);
  }
  {
    std::vector<dipole::Run> first = seed_runs(group);
    const auto r = train_seeds(first, options(dir / "split", 10), 2);  // stops between checkpoints
    EXPECT_EQ(r[0].steps_done, 10);
    EXPECT_EQ(r[1].steps_done, 10);
  }
  {
    // Seed 1 resumes alone, from the pipeline its directory recorded.
    auto pipeline = config::Pipeline::load((dir / "split" / "seed1" / "pipeline.resolved.toml").string());
    dipole::Run alone = test::build_run(Registry::with_default_plugins(), std::move(pipeline));
    const TrainResult r = train(alone, options(dir / "split" / "seed1"));
    EXPECT_EQ(r.resumed_from, 10);
    EXPECT_EQ(r.steps_done, 24);
  }
  {
    // The group resumes: seed 0 from step 10, seed 1 is already done.
    std::vector<dipole::Run> second = seed_runs(group);
    const auto r = train_seeds(second, options(dir / "split"), 2);
    EXPECT_EQ(r[0].resumed_from, 10);
    EXPECT_EQ(r[1].resumed_from, 24);
    EXPECT_EQ(r[0].steps_done, 24);
  }
  for (const char* seed : {"seed0", "seed1"}) {
    SCOPED_TRACE(seed);
    expect_same_run(dir / "whole" / seed, dir / "split" / seed);
  }
  fs::remove_all(dir);
}

TEST(Seeds, ANonFiniteLossInOneSeedCheckpointsTheOthersAndNamesTheSeed) {
  const fs::path dir = fresh_dir("nan");
  fs::create_directories(dir);
  // 64 rows, one of them so large that its products overflow: the seed that first samples it fails.
  const std::int64_t n = 64;
  at::Tensor observations = at::ones({n, 3});
  observations[17] = 3e38;
  at::Tensor terminals = at::zeros({n});
  terminals[n - 1] = 1.0;
  const std::string data = (dir / "data.npz").string();
  npz::write_npz(data,
                 {{"observations", npz::from_tensor(observations)},
                  {"actions", npz::from_tensor(at::zeros({n, 2}))},
                  {"rewards", npz::from_tensor(at::zeros({n}))},
                  {"terminals", npz::from_tensor(terminals)}},
                 false);
  const std::string text =
      "[trainer]\nsteps = 200\nbatch_size = 4\ncheckpoint_interval = 1000\nseeds = [0, 1]\n"
      "[dataset]\ntype = \"npz_transitions\"\npath = \"" +
      data +
      "\"\n[algorithm]\ntype = \"flow_bc\"\n[denoiser]\ntype = \"flow_mlp\"\n"
      "hidden_dims = [8]\n[sampler]\ntype = \"euler\"\n";
  auto pipeline = config::Pipeline::parse(text, "nan.toml");
  std::vector<dipole::Run> runs = build_seed_runs(Registry::with_default_plugins(), std::move(pipeline));
  std::string message;
  try {
    train_seeds(runs, options(dir / "group"), 2);
    FAIL() << "trained through a non-finite loss";
  } catch (const NumericError& e) {
    message = e.what();
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(message, m, std::regex(R"(\[seed ([01])\] step ([0-9]+): non-finite)")))
      << message;
  const std::string failed = m[1].str(), other = failed == "0" ? "1" : "0";
  const std::int64_t step = std::stoll(m[2].str());
  // The other seed finished that step and wrote its checkpoint; the failed one has none (its only
  // checkpoint would have come at step 1000).
  const TrainingState saved =
      load_checkpoint((dir / "group" / ("seed" + other) / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(saved.step, step) << message;
  EXPECT_FALSE(fs::exists(dir / "group" / ("seed" + failed) / "checkpoints" / "latest.npz")) << message;
  fs::remove_all(dir);
}

TEST(Seeds, BadSeedListsAreErrorsNamingTheKey) {
  for (const auto& [value, expected] :
       std::vector<std::pair<std::string, std::string>>{{"[]", "trainer.seeds is empty"},
                                                        {"[0, -2]", "trainer.seeds[1] = -2"},
                                                        {"[4, 1, 4]", "lists seed 4 twice"}}) {
    try {
      seed_runs(with(kSmall, {"trainer.seeds=" + value}));
      ADD_FAILURE() << value << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("--set trainer.seeds="), std::string::npos) << e.what();
    }
  }
}

TEST(Seeds, ForEachSeedRunsEveryIndexAndRethrowsTheFirstError) {
  std::vector<int> hits(7, 0);
  for_each_seed(7, 2, [&](std::int64_t i) { hits[static_cast<std::size_t>(i)] += 1; });
  EXPECT_EQ(hits, std::vector<int>(7, 1));
  std::vector<int> ran(5, 0);
  try {
    for_each_seed(5, 2, [&](std::int64_t i) {
      ran[static_cast<std::size_t>(i)] = 1;
      if (i == 1 || i == 3) throw DataError("seed " + std::to_string(i));
    });
    ADD_FAILURE() << "no exception";
  } catch (const DataError& e) {
    EXPECT_STREQ(e.what(), "seed 1");
  }
  EXPECT_EQ(ran, std::vector<int>(5, 1));  // the others still ran
}

}  // namespace
}  // namespace dipole
