// OGBench end to end through the executables: generate a small cube-single play dataset with the
// plan oracles (official file format), train DIPOLE on task 1's relabelled rewards for a few hundred
// updates, evaluate the checkpoint in the C++ environment on each of the five tasks, and aggregate
// with `dipole report`. A pipeline check, not a learning test (the learning tests are on the bandit).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dipole/app/report.hpp"
#include "dipole/sdk/npz.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
using dipole::test::dipole_cli;
using dipole::test::run_command;

TEST(OgbenchEndToEnd, GenerateTrainEvaluateEveryTaskAndReport) {
#ifndef DIPOLE_HAVE_OGBENCH_GENERATE
  GTEST_SKIP() << "built without MuJoCo: no dipole_ogbench_generate";
#else
  const fs::path dir = fs::temp_directory_path() / ("dipole_ogbench_e2e_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string data = (dir / "data").string();
  // 3 + 1 episodes of 60 rows (the official files: 1000 + 100 of 1001).
  auto r = run_command(std::string(DIPOLE_BINARY_DIR) +
                       "/bin/dipole_ogbench_generate --dataset cube-single-play-v0 "
                       "--directory " +
                       data + " --episodes 3 --val-episodes 1 --steps 60 --seed 5 --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto terminals = dipole::npz::read_npz_member(data + "/cube-single-play-v0.npz", "terminals");
  ASSERT_EQ(terminals.shape, (std::vector<std::int64_t>{180}));
  for (std::int64_t row = 0; row < 180; ++row)
    EXPECT_EQ(terminals.data[static_cast<std::size_t>(row)], row % 60 == 59 ? 1 : 0) << row;

  const std::string run = (dir / "run").string();
  const std::string small =
      " --set trainer.steps=200 --set trainer.batch_size=32 --set trainer.log_interval=100"
      " --set trainer.eval_interval=0 --set trainer.checkpoint_interval=100 --set eval.episodes=4"
      " --set eval.parallel=4 --set dataset.directory=" +
      data +
      " --set denoiser.hidden_dims=[32,32] --set critic.hidden_dims=[32,32] --set sampler.num_candidates=4";
  r = dipole_cli("train " + std::string(DIPOLE_SOURCE_DIR) + "/configs/ogbench_dipole.toml --out " + run +
                 small);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run + "/checkpoints/latest.npz")) << r.output;

  for (int task = 1; task <= 5; ++task) {
    const std::string env = "cube-single-singletask-task" + std::to_string(task) + "-v0";
    const std::string csv = (dir / ("task" + std::to_string(task) + ".csv")).string();
    r = dipole_cli("eval " + run + " --omega 0,1 --num-candidates 1 --episodes 4 --csv " + csv +
                   " --set environment.env=" + env);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto table = dipole::report::read_csv(csv);
    ASSERT_EQ(table.rows.size(), 2U) << env;
    for (const auto& row : table.rows) {
      const double success = std::stod(row[static_cast<std::size_t>(table.column("success_rate"))]);
      const double length = std::stod(row[static_cast<std::size_t>(table.column("length_mean"))]);
      const double ret = std::stod(row[static_cast<std::size_t>(table.column("return_mean"))]);
      EXPECT_GE(success, 0.0) << env;
      EXPECT_LE(success, 1.0) << env;
      EXPECT_GT(length, 0.0) << env;
      EXPECT_LE(length, 200.0) << env;  // cube-single's time limit
      // cube-single rewards are 0 (on the goal) or −1 per step: the return is −(steps off goal).
      EXPECT_LE(ret, 0.0) << env;
      EXPECT_GE(ret, -length - 1e-9) << env;
    }
  }
  r = dipole_cli("report " + run + " --out " + (dir / "report").string() +
                 " --rows dataset.dataset --metric success_rate --scale 100 --source final");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("cube-single-play-singletask-task1-v0"), std::string::npos) << r.output;
  fs::remove_all(dir);
#endif
}

}  // namespace
