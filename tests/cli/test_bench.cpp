// `dipole bench` runs the benchmark program dipole-bench next to the CLI, driven by pipeline files:
// a small --pipeline runs through train-step (no timing asserted: it prints its ratio line and exits 0),
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
