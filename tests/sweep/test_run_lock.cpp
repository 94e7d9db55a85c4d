// The run-directory lock (core/run_lock.hpp): exclusive between processes, re-entrant within one,
// stale files of dead owners taken over with a message, and two `dipole train` on one directory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "dipole/core/files.hpp"
#include "dipole/core/run_lock.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
using dipole::RunLock;
using dipole::RunLockError;

class RunLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_lock_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

/// Forks a child that takes the lock, reports through a pipe, then waits for a byte (or exits at once
/// without releasing anything when `die` is set, as a kill -9 would leave it).
struct LockedChild {
  pid_t pid = -1;
  int to_child = -1;
  LockedChild(const std::string& dir, bool die) {
    int up[2], down[2];
    EXPECT_EQ(::pipe(up), 0);
    EXPECT_EQ(::pipe(down), 0);
    pid = ::fork();
    if (pid == 0) {
      ::close(up[0]);
      ::close(down[1]);
      auto* lock = new RunLock(dir, "test child");  // never destroyed when `die`: the file stays
      char c = 'L';
      if (::write(up[1], &c, 1) != 1) ::_exit(3);
      if (die) ::_exit(0);
      if (::read(down[0], &c, 1) < 0) ::_exit(4);
      delete lock;
      ::_exit(0);
    }
    ::close(up[1]);
    ::close(down[0]);
    char c = 0;
    EXPECT_EQ(::read(up[0], &c, 1), 1);
    ::close(up[0]);
    to_child = down[1];
  }
  int finish() {
    char c = 'Q';
    if (to_child >= 0) {
      (void)::write(to_child, &c, 1);
      ::close(to_child);
      to_child = -1;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~LockedChild() {
    if (to_child >= 0) finish();
  }
};

TEST_F(RunLockTest, WritesOwnerIsReentrantAndRemovesItsFile) {
  {
    RunLock lock(dir_.string(), "dipole train");
    const std::string text = dipole::read_text((dir_ / ".lock").string());
    EXPECT_NE(text.find("pid=" + std::to_string(::getpid())), std::string::npos) << text;
    EXPECT_NE(text.find("host="), std::string::npos) << text;
    EXPECT_NE(text.find("command=dipole train"), std::string::npos) << text;
    {
      RunLock nested((dir_ / ".").string(), "dipole eval");  // same directory, other spelling
    }
    EXPECT_TRUE(fs::exists(dir_ / ".lock"));                   // the outer lock still holds it
    EXPECT_FALSE(RunLock::holder(dir_.string()).has_value());  // held by this process itself
  }
  EXPECT_FALSE(fs::exists(dir_ / ".lock"));
  RunLock again(dir_.string(), "dipole train");
}

TEST_F(RunLockTest, SecondProcessGetsAnErrorNamingDirectoryAndOwner) {
  LockedChild child(dir_.string(), /*die=*/false);
  const auto owner = RunLock::holder(dir_.string());
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->pid, child.pid);
  EXPECT_EQ(owner->command, "test child");
  try {
    RunLock lock(dir_.string(), "dipole train");
    FAIL() << "a second writer got the lock";
  } catch (const RunLockError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(dir_.string()), std::string::npos) << m;
    EXPECT_NE(m.find("in use by pid " + std::to_string(child.pid)), std::string::npos) << m;
  }
  EXPECT_EQ(child.finish(), 0);
  EXPECT_FALSE(RunLock::holder(dir_.string()).has_value());
  RunLock lock(dir_.string(), "dipole train");  // free again
}

TEST_F(RunLockTest, StaleLockOfADeadProcessIsTakenOverWithAMessage) {
  pid_t dead = -1;
  {
    LockedChild child(dir_.string(), /*die=*/true);
    dead = child.pid;
    EXPECT_EQ(child.finish(), 0);
  }
  ASSERT_TRUE(fs::exists(dir_ / ".lock"));  // left behind
  EXPECT_FALSE(RunLock::holder(dir_.string()).has_value());
  ::testing::internal::CaptureStderr();
  { RunLock lock(dir_.string(), "dipole train"); }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("taking over the stale lock"), std::string::npos) << err;
  EXPECT_NE(err.find("pid " + std::to_string(dead)), std::string::npos) << err;
}

TEST_F(RunLockTest, TwoConcurrentTrainsOnOneDirectory) {
  fs::create_directories(dir_);
  const std::string pipeline = (dir_ / "p.toml").string();
  // Long enough that the first is still training while the second starts; stopped with SIGINT below.
  std::ofstream(pipeline) << "[trainer]\nsteps = 10000000\nbatch_size = 16\nlog_interval = 50\n"
                             "[dataset]\ntype = \"bandit\"\nsize = 2000\n"
                             "[environment]\ntype = \"bandit\"\n"
                             "[algorithm]\ntype = \"flow_bc\"\n"
                             "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16]\n"
                             "[sampler]\ntype = \"euler\"\nsteps = 2\n";
  const std::string run = (dir_ / "run").string();
  const std::string first_log = (dir_ / "first.log").string();
  const auto bg = dipole::test::run_command(std::string(DIPOLE_CLI) + " train " + pipeline + " --out " + run +
                                            " > " + first_log + " 2>&1 & echo $!");
  const long first_pid = std::stol(bg.output);
  bool locked = false;
  for (int i = 0; i < 3000 && !locked; ++i) {
    locked = RunLock::holder(run).has_value();
    if (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(locked) << dipole::read_text(first_log);
  EXPECT_EQ(RunLock::holder(run)->pid, first_pid);
  const auto second = dipole::test::dipole_cli("train " + pipeline + " --out " + run + " --quiet");
  EXPECT_EQ(second.code, 1) << second.output;
  EXPECT_NE(
      second.output.find("the run directory '" + run + "' is in use by pid " + std::to_string(first_pid)),
      std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find("(dipole train, since "), std::string::npos) << second.output;
  const auto eval = dipole::test::dipole_cli("eval " + run);
  EXPECT_EQ(eval.code, 1) << eval.output;
  EXPECT_NE(eval.output.find("in use by pid " + std::to_string(first_pid)), std::string::npos) << eval.output;
  // The first one is undisturbed: Ctrl-C stops it with a checkpoint, then the directory is free.
  ::kill(static_cast<pid_t>(first_pid), SIGINT);
  for (int i = 0; i < 6000 && ::kill(static_cast<pid_t>(first_pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(RunLock::holder(run).has_value());
  const std::string log = dipole::read_text(first_log);
  EXPECT_NE(log.find("interrupted after"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(fs::path(run) / ".lock"));
  const auto resume = dipole::test::dipole_cli("train " + pipeline + " --out " + run + " --stop-after 1");
  EXPECT_EQ(resume.code, 0) << resume.output;
  EXPECT_NE(resume.output.find("resuming"), std::string::npos) << resume.output;
}

}  // namespace
