// Values that used to be accepted silently (docs/reliability.md, "Limits of the readers"): each is
// now an error naming the input, through the `dipole` executable.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "dipole/sdk/npz.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
using dipole::test::dipole_cli;
using dipole::test::run_command;

class CliValues : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("dipole_cli_values_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
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
    "[trainer]\nsteps = 10\nbatch_size = 16\n[dataset]\ntype = \"bandit\"\nsize = 500\n"
    "[environment]\ntype = \"bandit\"\n[eval]\nepisodes = 4\n[algorithm]\ntype = \"flow_bc\"\n"
    "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16]\n[sampler]\ntype = \"euler\"\nsteps = 2\n";

TEST_F(CliValues, TerminalsAndMasksMustBeZeroOrOne) {
  const std::int64_t n = 64;
  const std::string file = write("npz.toml",
                                 "[trainer]\nsteps = 2\nbatch_size = 8\n[dataset]\ntype = "
                                 "\"npz_transitions\"\npath = \"" +
                                     (dir_ / "data.npz").string() +
                                     "\"\n[algorithm]\ntype = \"flow_bc\"\n[denoiser]\ntype = "
                                     "\"flow_mlp\"\nhidden_dims = [8]\n[sampler]\ntype = \"euler\"\n");
  for (const double bad : {2.0, -1.0, 0.5}) {
    at::Tensor terminals = at::zeros({n});
    terminals[n - 1] = 1.0;
    terminals[5] = bad;
    dipole::npz::write_npz((dir_ / "data.npz").string(),
                           {{"observations", dipole::npz::from_tensor(at::randn({n, 3}))},
                            {"actions", dipole::npz::from_tensor(at::zeros({n, 2}))},
                            {"rewards", dipole::npz::from_tensor(at::zeros({n}))},
                            {"terminals", dipole::npz::from_tensor(terminals)},
                            {"masks", dipole::npz::from_tensor(1.0 - terminals)}},
                           false);
    const auto r = dipole_cli("train " + file + " --quiet --out " + (dir_ / "run").string());
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("'terminals' row 5 is"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("expected 0 or 1"), std::string::npos) << r.output;
  }
  at::Tensor terminals = at::zeros({n});
  terminals[n - 1] = 1.0;
  at::Tensor masks = 1.0 - terminals;
  masks[7] = 5.0;
  dipole::npz::write_npz((dir_ / "data.npz").string(),
                         {{"observations", dipole::npz::from_tensor(at::randn({n, 3}))},
                          {"actions", dipole::npz::from_tensor(at::zeros({n, 2}))},
                          {"rewards", dipole::npz::from_tensor(at::zeros({n}))},
                          {"terminals", dipole::npz::from_tensor(terminals)},
                          {"masks", dipole::npz::from_tensor(masks)}},
                         false);
  const auto r = dipole_cli("train " + file + " --quiet --out " + (dir_ / "run").string());
  EXPECT_NE(r.output.find("'masks' row 7 is 5, expected 0 or 1"), std::string::npos) << r.output;
}

TEST_F(CliValues, RangesOfPipelineAndCommandLineValues) {
  const std::string file = write("bandit.toml", kBandit);
  auto r = dipole_cli("config " + file + " --set trainer.threads=1000");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("threads = 1000 is out of range [0, 256]"), std::string::npos) << r.output;
  r = dipole_cli("config " + file + " --set denoiser.hidden_dims=[9223372036854775807]");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("hidden_dims[0] = 9223372036854775807 is out of range"), std::string::npos)
      << r.output;
  r = dipole_cli("config " + file + " --set trainer.steps=nan");
  EXPECT_EQ(r.code, 1) << r.output;

  const std::string run = (dir_ / "run").string();
  r = dipole_cli("train " + file + " --quiet --out " + run);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* omega : {"nan", "inf", "-inf", "1,nan"}) {
    r = dipole_cli("eval " + run + " --omega " + omega + " --episodes 2");
    EXPECT_EQ(r.code, 1) << omega;
    EXPECT_NE(r.output.find("is not a finite number"), std::string::npos) << r.output;
  }
  r = dipole_cli("eval " + run + " --num-candidates 0 --episodes 2");
  EXPECT_NE(r.output.find("--num-candidates: '0' is not an integer in [1, 1000000000]"), std::string::npos)
      << r.output;
  r = dipole_cli("eval " + run + " --episodes 0");
  EXPECT_NE(r.output.find("--episodes: 0 is outside [1, 1000000]"), std::string::npos) << r.output;

  // A checkpoint whose step is -5.
  const std::string checkpoint = (fs::path(run) / "checkpoints" / "latest.npz").string();
  auto arrays = dipole::npz::read_npz(checkpoint);
  arrays["step"] = dipole::npz::from_tensor(at::scalar_tensor(-5, at::kLong));
  dipole::npz::write_npz(checkpoint, arrays, false);
  r = dipole_cli("eval " + run + " --episodes 2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("step -5 is negative"), std::string::npos) << r.output;
}

TEST_F(CliValues, NonexistentPluginDirectoryIsAnError) {
  const auto r =
      run_command("DIPOLE_PLUGIN_PATH=/nonexistent/plugins " + std::string(DIPOLE_CLI) + " plugins");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("plugin directory '/nonexistent/plugins' (from DIPOLE_PLUGIN_PATH) does not exist"),
            std::string::npos)
      << r.output;
}

}  // namespace
