// `dipole bench` runs the benchmark program dipole-bench next to the CLI, driven by pipeline files:
// a small --pipeline runs through train-step (no timing asserted: it prints its ratio line and exits 0),
// also with --seeds (and --seeds rejects 1 and --profile),
// an unknown --algorithm names the files it looked for, and the help says where the program is.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;

using dipole::test::dipole_cli;

TEST(Bench, TrainStepRunsASmallPipelineFile) {
  DIPOLE_SKIP_WITHOUT_CLI();
  const fs::path file =
      fs::temp_directory_path() / ("dipole_bench_cli_" + std::to_string(::getpid()) + ".toml");
  // No dataset path: the benchmark writes its synthetic walker-sized data (obs 24, act 6).
  std::ofstream(file) << "[trainer]\nbatch_size = 16\nseed = 0\n[dataset]\ntype = \"npz_transitions\"\n"
                         "[algorithm]\ntype = \"dipole\"\n[critic]\ntype = \"iql\"\nhidden_dims = [16, 16]\n"
                         "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16, 16]\n[weighting]\n"
                         "type = \"dipole_sigmoid\"\n[sampler]\ntype = \"guided_euler\"\n";
  const auto r = dipole_cli("bench train-step --pipeline " + file.string() + " --seconds 0.2 --rounds 1");
  fs::remove(file);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\nratio = "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("of this machine's float32 matmul GFLOP/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("gflop_per_update (GEMMs counted by the observer)"), std::string::npos) << r.output;
}

TEST(Bench, TrainStepSeedsComparesTogetherWithSeparate) {
  DIPOLE_SKIP_WITHOUT_CLI();
  const fs::path file =
      fs::temp_directory_path() / ("dipole_bench_cli_seeds_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file) << "[trainer]\nbatch_size = 16\nseed = 3\n[dataset]\ntype = \"npz_transitions\"\n"
                         "[algorithm]\ntype = \"dipole\"\n[critic]\ntype = \"iql\"\nhidden_dims = [16, 16]\n"
                         "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16, 16]\n[weighting]\n"
                         "type = \"dipole_sigmoid\"\n[sampler]\ntype = \"guided_euler\"\n";
  const auto r = dipole_cli("bench train-step --pipeline " + file.string() +
                            " --seeds 3 --threads 2 --seconds 0.2 --rounds 2");
  const auto one = dipole_cli("bench train-step --pipeline " + file.string() + " --seeds 1");
  const auto profiled = dipole_cli("bench train-step --pipeline " + file.string() + " --seeds 2 --profile");
  fs::remove(file);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("seeds: 3 (trainer.seed 3..5), 2 thread(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("round 2: together "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\nratio = "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("together / separate aggregate updates/s (3 seeds, 2 threads)"), std::string::npos)
      << r.output;
  EXPECT_EQ(one.code, 1) << one.output;
  EXPECT_NE(one.output.find("--seeds must be at least 2"), std::string::npos) << one.output;
  EXPECT_EQ(profiled.code, 1) << profiled.output;
  EXPECT_NE(profiled.output.find("--profile cannot be combined with --seeds"), std::string::npos)
      << profiled.output;
}

TEST(Bench, UnknownAlgorithmNamesTheFilesLookedFor) {
  DIPOLE_SKIP_WITHOUT_CLI();
  const auto r = dipole_cli("bench train-step --algorithm no_such_algorithm --seconds 0.1 --rounds 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("no benchmark pipeline 'no_such_algorithm'"), std::string::npos) << r.output;
  const std::string source_file =
      (fs::path(DIPOLE_SOURCE_DIR) / "configs" / "bench" / "no_such_algorithm.toml").string();
  EXPECT_NE(r.output.find("\n  " + source_file), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("share/dipole/configs/bench/no_such_algorithm.toml"), std::string::npos)
      << r.output;
}

TEST(Bench, HelpSaysWhereTheProgramIs) {
  DIPOLE_SKIP_WITHOUT_CLI();
  const auto r = dipole_cli("bench --help");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("runs the program dipole-bench next to the dipole executable"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find((fs::path(DIPOLE_CLI).parent_path() / "dipole-bench").string()), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("configs/bench"), std::string::npos) << r.output;
  const auto direct =
      dipole::test::run_command((fs::path(DIPOLE_CLI).parent_path() / "dipole-bench").string() + " --help");
  EXPECT_EQ(direct.code, 0) << direct.output;
  EXPECT_EQ(direct.output, r.output);
}

}  // namespace
