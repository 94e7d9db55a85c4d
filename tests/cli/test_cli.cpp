// End to end through the `dipole` executable: listing plugins, config errors with positions,
// train → resume → eval, and the bring-your-own-data npz path with its validation errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "dipole/api_version.hpp"
#include "dipole/sdk/npz.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;

using Result = dipole::test::CommandResult;
using dipole::test::dipole_cli;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

const char* kBandit =
    "[trainer]\nsteps = 40\nbatch_size = 32\nlog_interval = 10\ncheckpoint_interval = 10\n"
    "[dataset]\ntype = \"bandit\"\nsize = 2000\n"
    "[environment]\ntype = \"bandit\"\n"
    "[eval]\nepisodes = 8\n"
    "[algorithm]\ntype = \"flow_bc\"\n"
    "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [32, 32]\n"
    "[sampler]\ntype = \"euler\"\nsteps = 4\n";

TEST_F(Cli, PluginsListsTypesWithDocumentedKeys) {
  const Result r = dipole_cli("plugins --kind dataset");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("npz_transitions"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("action_clip_eps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(required)"), std::string::npos) << r.output;
}

TEST_F(Cli, PluginsListsEveryLibraryWithNameVersionAndSdkVersion) {
  const Result r = dipole_cli("plugins --brief");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string sdk = "SDK " + std::to_string(dipole::kPluginApiVersion);
  EXPECT_NE(r.output.find("libraries (this runtime: " + sdk + "):"), std::string::npos) << r.output;
  for (const char* library : {"dipole_npz_transitions", "dipole_weightings", "dipole_samplers"}) {
    const auto line = r.output.find(std::string("  ") + library + " ");
    ASSERT_NE(line, std::string::npos) << library << "\n" << r.output;
    const std::string text = r.output.substr(line, r.output.find('\n', line) - line);
    EXPECT_NE(text.find(" " + sdk + " "), std::string::npos) << text;
    EXPECT_NE(text.find(std::string("/lib") + library + ".so"), std::string::npos) << text;
    EXPECT_EQ(text.find("unversioned"), std::string::npos) << text;
  }
  const Result one = dipole_cli("plugins npz_transitions");
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_NE(one.output.find("from dipole_npz_transitions "), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("(" + sdk + ")"), std::string::npos) << one.output;
}

TEST_F(Cli, PluginsShowsTheSectionsATypeBuilds) {
  // docs/architecture.md, "Slots": the sections a user must write, with their kind and requirements.
  Result r = dipole_cli("plugins dipole");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* line :
       {"[critic] critic requiring advantage = 1", "[denoiser] denoiser requiring members = 2",
        "[weighting] weighting requiring rows = 2", "[sampler] sampler:"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  r = dipole_cli("plugins best_of_n");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[<this section>.inner] sampler"), std::string::npos) << r.output;
  r = dipole_cli("plugins exponential");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("provides (with the defaults): rows = 1"), std::string::npos) << r.output;
}

TEST_F(Cli, PluginsShowsOptionalKeysAsOptional) {
  // docs/architecture.md, "One declaration per key": an optional key has no default and is not required.
  const Result r = dipole_cli("plugins flow_mlp");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* name : {"time_features", "hidden_dims", "activation"}) {
    const auto line = r.output.find(std::string("    ") + name + " ");
    ASSERT_NE(line, std::string::npos) << name << "\n" << r.output;
    const std::string text = r.output.substr(line, r.output.find('\n', line) - line);
    EXPECT_NE(text.find("(optional)"), std::string::npos) << text;
  }
}

TEST_F(Cli, HelpOnEverySubcommand) {
  for (const char* command : {"plugins", "config", "train", "eval"}) {
    const Result r = dipole_cli(std::string(command) + " --help");
    EXPECT_EQ(r.code, 0) << command;
    EXPECT_NE(r.output.find("usage: dipole " + std::string(command)), std::string::npos) << r.output;
  }
  EXPECT_EQ(dipole_cli("frobnicate").code, 2);
}

TEST_F(Cli, BadPipelineReportsFileLineColumn) {
  const std::string file =
      write("bad.toml", std::string(kBandit) + "hidden_dimz = 3\n");  // last table: [sampler]
  const Result r = dipole_cli("config " + file);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("bad.toml:21:1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown key 'hidden_dimz'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;

  const Result range = dipole_cli("config " + write("ok.toml", kBandit) + " --set trainer.batch_size=0");
  EXPECT_EQ(range.code, 1);
  EXPECT_NE(range.output.find("--set trainer.batch_size=0"), std::string::npos) << range.output;
}

TEST_F(Cli, ConfigPrintsTheResolvedPipelineWithDefaults) {
  const Result r = dipole_cli("config " + write("ok.toml", kBandit) + " --set sampler.steps=6");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("steps = 6"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("noise_scale = 1.0"), std::string::npos) << r.output;  // a default filled in
}

TEST_F(Cli, TrainResumesAndEvalWritesATable) {
  const std::string file = write("bandit.toml", kBandit);
  const std::string out = (dir_ / "run").string();
  Result r = dipole_cli("train " + file + " --quiet --out " + out + " --stop-after 20");
  ASSERT_EQ(r.code, 0) << r.output;
  r = dipole_cli("train " + file + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("trained after 40 steps"), std::string::npos) << r.output;
  for (const char* f :
       {"pipeline.resolved.toml", "metrics.csv", "metrics.jsonl", "eval.csv", "checkpoints/latest.npz"})
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;

  r = dipole_cli("eval " + out + " --omega 0,1 --episodes 8");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| 40 | 0 |"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("| 40 | 1 |"), std::string::npos) << r.output;
  std::ifstream csv(fs::path(out) / "eval_sweep.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 3);
  // Return against ω as a PNG (gnuplot is installed by scripts/setup.sh), with its data beside it.
  EXPECT_TRUE(fs::exists(fs::path(out) / "return_vs_omega.png")) << r.output;
  EXPECT_TRUE(fs::exists(fs::path(out) / "return_vs_omega.png.dat"));
}

TEST_F(Cli, TrainSeedsWritesARunDirectoryPerSeedThatReportAndEvalRead) {
  const std::string file = write("bandit.toml", kBandit);
  const std::string out = (dir_ / "group").string();
  Result r = dipole_cli("train " + file + " --quiet --set 'trainer.seeds=[2, 5]' --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("seed 5: trained after 40 steps; run directory " + out + "/seed5"),
            std::string::npos)
      << r.output;
  for (const char* seed : {"seed2", "seed5"})
    for (const char* f : {"pipeline.resolved.toml", "metrics.csv", "eval.csv", "checkpoints/latest.npz"})
      EXPECT_TRUE(fs::exists(fs::path(out) / seed / f)) << seed << "/" << f;
  EXPECT_FALSE(fs::exists(fs::path(out) / "metrics.csv"));  // the group directory holds only the seeds
  // Each seed's resolved pipeline is a single-seed pipeline with its own seed.
  std::ifstream resolved(fs::path(out) / "seed5" / "pipeline.resolved.toml");
  const std::string text((std::istreambuf_iterator<char>(resolved)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("seed = 5"), std::string::npos) << text;
  EXPECT_EQ(text.find("\nseeds"), std::string::npos) << text;  // in the header comment only

  r = dipole_cli("report " + out + " --out " + (dir_ / "report").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("from 2 runs"), std::string::npos) << r.output;
  r = dipole_cli("eval " + out + "/seed2 --episodes 8");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| 40 |"), std::string::npos) << r.output;
}

TEST_F(Cli, NpzTransitionsTrainsAndRejectsBadData) {
  using dipole::npz::from_tensor;
  const std::int64_t n = 256;
  at::Tensor terminals = at::zeros({n});
  terminals.index_put_({at::arange(9, n, 10)}, 1.0);
  terminals[n - 1] = 1.0;
  std::map<std::string, dipole::npz::Array> arrays = {{"observations", from_tensor(at::randn({n, 3}))},
                                                      {"actions", from_tensor(at::rand({n, 2}) * 2 - 1)},
                                                      {"rewards", from_tensor(at::randn({n}))},
                                                      {"terminals", from_tensor(terminals.to(at::kBool))}};
  dipole::npz::write_npz((dir_ / "data.npz").string(), arrays, true);
  const std::string pipeline =
      "[trainer]\nsteps = 10\nbatch_size = 16\n[dataset]\ntype = \"npz_transitions\"\n"
      "path = \"" +
      (dir_ / "data.npz").string() +
      "\"\n[algorithm]\ntype = \"flow_bc\"\n"
      "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16]\n[sampler]\ntype = \"euler\"\n";
  const std::string file = write("npz.toml", pipeline);
  Result r = dipole_cli("train " + file + " --quiet --out " + (dir_ / "run").string());
  ASSERT_EQ(r.code, 0) << r.output;

  // A NaN reward: the error names the file, the array and the row.
  at::Tensor rewards = at::randn({n});
  rewards[17] = NAN;
  arrays["rewards"] = from_tensor(rewards);
  dipole::npz::write_npz((dir_ / "data.npz").string(), arrays, false);
  r = dipole_cli("train " + file + " --quiet --no-resume --out " + (dir_ / "run2").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("'rewards' has a non-finite value at row 17"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data.npz"), std::string::npos) << r.output;

  // Actions out of bounds and mismatched lengths.
  arrays["rewards"] = from_tensor(at::randn({n}));
  arrays["actions"] = from_tensor(at::full({n, 2}, 1.5));
  dipole::npz::write_npz((dir_ / "data.npz").string(), arrays, false);
  r = dipole_cli("train " + file + " --quiet --no-resume --out " + (dir_ / "run3").string());
  EXPECT_NE(r.output.find("outside [-1, 1]"), std::string::npos) << r.output;
  arrays["actions"] = from_tensor(at::zeros({n - 1, 2}));
  dipole::npz::write_npz((dir_ / "data.npz").string(), arrays, false);
  r = dipole_cli("train " + file + " --quiet --no-resume --out " + (dir_ / "run4").string());
  EXPECT_NE(r.output.find("'actions' has shape [255, 2]"), std::string::npos) << r.output;
  arrays.erase("terminals");
  dipole::npz::write_npz((dir_ / "data.npz").string(), arrays, false);
  r = dipole_cli("train " + file + " --quiet --no-resume --out " + (dir_ / "run5").string());
  EXPECT_NE(r.output.find("missing array 'terminals'"), std::string::npos) << r.output;
}

}  // namespace
