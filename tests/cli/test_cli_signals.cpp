// SIGINT/SIGTERM through the `dipole` executable (docs/reliability.md, "Signals"): train and eval stop
// promptly, write what is complete and exit with 130; a rerun resumes.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/spawn.hpp"

namespace {

namespace fs = std::filesystem;
using dipole::test::Spawned;

class CliSignals : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_cli_signals_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string pipeline(std::int64_t steps) {
    const std::string file = (dir_ / "bandit.toml").string();
    std::ofstream(file)
        << "[trainer]\nsteps = " << steps
        << "\nbatch_size = 32\nlog_interval = 10\ncheckpoint_interval = 0\n"
           "[dataset]\ntype = \"bandit\"\nsize = 2000\n[environment]\ntype = \"bandit\"\n"
           "[eval]\nepisodes = 8\n[algorithm]\ntype = \"flow_bc\"\n"
           "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16]\n[sampler]\ntype = \"euler\"\nsteps = 2\n";
    return file;
  }
  fs::path dir_;
};

const std::string kCli = DIPOLE_CLI;

TEST_F(CliSignals, TrainStopsOnSigtermWithACheckpointAndResumes) {
  const std::string run = (dir_ / "run").string();
  Spawned train(kCli + " train " + pipeline(100000000) + " --out " + run);
  ASSERT_TRUE(train.wait_for("[train] step 20/", 300)) << train.output();
  train.signal(SIGTERM);
  ASSERT_EQ(train.wait(120), 130) << train.output();
  EXPECT_NE(train.output().find("interrupted after"), std::string::npos) << train.output();
  EXPECT_TRUE(fs::exists(fs::path(run) / "checkpoints" / "latest.npz"));
  Spawned again(kCli + " train " + pipeline(100000000) + " --out " + run + " --stop-after 1");
  EXPECT_EQ(again.wait(300), 0) << again.output();
  EXPECT_NE(again.output().find("resuming"), std::string::npos) << again.output();
}

TEST_F(CliSignals, SeedsTrainedTogetherStopWithEveryCheckpointAndResume) {
  const std::string run = (dir_ / "group").string();
  const std::string seeds = " --set 'trainer.seeds=[4, 9]' --set trainer.threads=2";
  Spawned train(kCli + " train " + pipeline(100000000) + seeds + " --out " + run);
  ASSERT_TRUE(train.wait_for("[train 2 seeds] step 20/", 300)) << train.output();
  train.signal(SIGTERM);
  ASSERT_EQ(train.wait(120), 130) << train.output();
  for (const char* seed : {"seed4", "seed9"}) {
    EXPECT_TRUE(fs::exists(fs::path(run) / seed / "checkpoints" / "latest.npz")) << seed;
    EXPECT_NE(train.output().find(std::string("seed ") + (seed + 4) + ": interrupted after"),
              std::string::npos)
        << train.output();
  }
  Spawned again(kCli + " train " + pipeline(100000000) + seeds + " --out " + run + " --stop-after 1");
  EXPECT_EQ(again.wait(300), 0) << again.output();
  EXPECT_NE(again.output().find("[seed 4] [train] resuming"), std::string::npos) << again.output();
  EXPECT_NE(again.output().find("[seed 9] [train] resuming"), std::string::npos) << again.output();
}

TEST_F(CliSignals, EvalStopsOnSigintWritingTheFinishedSettings) {
  const std::string run = (dir_ / "run").string();
  Spawned train(kCli + " train " + pipeline(10) + " --quiet --out " + run);
  ASSERT_EQ(train.wait(300), 0) << train.output();
  Spawned eval(kCli + " eval " + run + " --omega 0,1 --episodes 1000000");
  ASSERT_TRUE(eval.wait_for("evaluating", 300)) << eval.output();
  eval.signal(SIGINT);
  ASSERT_EQ(eval.wait(120), 130) << eval.output();
  EXPECT_NE(eval.output().find("interrupted"), std::string::npos) << eval.output();
  std::ifstream csv(fs::path(run) / "eval_sweep.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("step,omega,", 0), 0u) << header;
}

TEST_F(CliSignals, ASignalOutsideALoopExitsWith130) {
  // `dipole config` polls nothing: the signal ends it at once (here, while it waits on a FIFO).
  const std::string fifo = (dir_ / "fifo.toml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Spawned config(kCli + " config " + fifo);
  // Opening the writer end succeeds once `dipole config` has opened the FIFO (its handlers are
  // installed by then); it then waits for the pipeline text.
  int writer = -1;
  for (int i = 0; i < 6000 && writer < 0; ++i) {
    writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer < 0) ::usleep(10000);
  }
  ASSERT_GE(writer, 0) << config.output();
  config.signal(SIGINT);
  EXPECT_EQ(config.wait(60), 130) << config.output();
  ::close(writer);
}

}  // namespace
