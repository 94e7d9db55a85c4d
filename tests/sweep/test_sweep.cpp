// `dipole sweep` end to end on the bandit pipelines (configs/bandit_*.toml) at a tiny scale: expansion
// (grid, zip, include/exclude, names), validation errors with sweep-file lines, the local executor's
// skip / resume / retry, and a driver killed with SIGKILL mid-sweep then rerun → the same runs and
// bit-identical checkpoints as an uninterrupted sweep.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "dipole/core/files.hpp"
#include "dipole/core/run_lock.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
using dipole::test::CommandResult;
using dipole::test::run_command;

class Sweep : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_sweep_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  /// `dipole <args>` run in the test directory (sweep outputs are relative to it).
  CommandResult cli(const std::string& args, const std::string& cwd = "") {
    return run_command("cd " + (cwd.empty() ? dir_.string() : cwd) + " && " + std::string(DIPOLE_CLI) + " " +
                       args);
  }
  fs::path dir_;
};

const std::string kConfigs = std::string(DIPOLE_SOURCE_DIR) + "/configs/";

/// Two methods on the bandit at a tiny scale, with the evaluation after training.
std::string small_sweep(const std::string& name, int steps, const std::string& extra = "") {
  return "name = \"" + name + "\"\nout = \"out\"\nseeds = [0, 1]\n" + "[methods.flow_bc]\npipeline = \"" +
         kConfigs + "bandit_flow_bc.toml\"\nset = [\"trainer.steps=" + std::to_string(steps) +
         "\", \"trainer.batch_size=32\", \"trainer.log_interval=10\", \"trainer.checkpoint_interval=10\", "
         "\"dataset.size=2000\", \"denoiser.hidden_dims=[32, 32]\", \"eval.episodes=50\", "
         "\"eval.parallel=50\"]\n"
         "[methods.dipole]\npipeline = \"" +
         kConfigs + "bandit_dipole.toml\"\nset = [\"trainer.steps=" + std::to_string(steps) +
         "\", \"trainer.batch_size=32\", \"trainer.log_interval=10\", \"trainer.checkpoint_interval=10\", "
         "\"dataset.size=2000\", \"denoiser.hidden_dims=[32, 32]\", \"critic.hidden_dims=[32, 32]\", "
         "\"sampler.num_candidates=4\", \"sampler.inner.steps=4\", \"eval.episodes=50\", "
         "\"eval.parallel=50\", "
         "\"eval.omegas=[1.0]\"]\n"
         "[eval]\nomegas = [0, 1]\nepisodes = 50\n" +
         extra;
}

std::set<std::string> planned_names(const std::string& output) {
  std::set<std::string> names;
  std::stringstream in(output);
  for (std::string line; std::getline(in, line);) {
    const auto pos = line.find("out/");
    if (pos != std::string::npos && line.find("--set") == std::string::npos)
      names.insert(line.substr(pos + 4, line.find(' ', pos) - pos - 4));
  }
  return names;
}

TEST_F(Sweep, ExpansionGridZipExcludeIncludeAndNames) {
  const std::string file =
      write("s.toml", small_sweep("expand", 20) +
                          "[tasks.bimodal]\nset = ['dataset.problem=\"bimodal\"', "
                          "'environment.problem=\"bimodal\"']\n"
                          "[tasks.unimodal]\nset = ['dataset.problem=\"unimodal\"', "
                          "'environment.problem=\"unimodal\"']\n"
                          "[axes.lr]\nkey = \"denoiser.lr\"\nvalues = [1e-3, 3e-3]\nmethods = [\"flow_bc\"]\n"
                          "[axes.scale]\nkeys = [\"trainer.batch_size\", \"trainer.log_interval\"]\n"
                          "values = [[16, 5], [64, 20]]\nlabels = [\"small\", \"large\"]\n"
                          "[[exclude]]\nmethod = \"flow_bc\"\ntask = \"unimodal\"\nlr = 0.003\n"
                          "[[include]]\nmethod = \"dipole\"\ntask = \"bimodal\"\nseed = 7\n");
  const CommandResult r = cli("sweep plan " + file);
  ASSERT_EQ(r.code, 0) << r.output;
  // Per task: dipole 2 (scale) × 2 seeds, flow_bc 2 (lr) × 2 (scale) × 2 seeds = 12; the exclude row
  // removes 4 of unimodal's; the include row adds one.
  const auto names = planned_names(r.output);
  EXPECT_EQ(names.size(), 21U) << r.output;
  EXPECT_NE(r.output.find("21 runs (2 tasks, 2 methods, 2 seeds, 2 axes)"), std::string::npos) << r.output;
  for (const char* name :
       {"bimodal/flow_bc/lr=0.001,scale=small/seed0", "bimodal/flow_bc/lr=0.003,scale=large/seed1",
        "unimodal/flow_bc/lr=0.001,scale=large/seed1", "unimodal/dipole/scale=small/seed0",
        "bimodal/dipole/seed7"})
    EXPECT_TRUE(names.count(name)) << name << "\n" << r.output;
  EXPECT_FALSE(names.count("unimodal/flow_bc/lr=0.003,scale=small/seed0")) << r.output;
  // The resolved differences: the zip axis sets both keys, the seed key is set last.
  EXPECT_NE(r.output.find("--set trainer.batch_size=64 --set trainer.log_interval=20 --set trainer.seed=1"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--set denoiser.lr=0.003"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "out")) << "plan must not create run directories";
}

TEST_F(Sweep, ValidationErrorsNameTheSweepFileLineAndTheRun) {
  // Strict keys: a typo in the sweep file itself.
  const std::string typo = write("typo.toml", "name = \"t\"\n[methods.a]\npipelin = \"x.toml\"\n");
  CommandResult r = cli("sweep plan " + typo);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("typo.toml:3:1: unknown key 'pipelin'"), std::string::npos) << r.output;

  // A key no component has, set by an axis: named with the run and the axis' line.
  const std::string bad_key =
      write("key.toml", small_sweep("key", 20) +
                            "[axes.beta]\nkey = \"weighting.betta\"\nvalues = [1.0, 3.0]\n"
                            "methods = [\"dipole\"]\n");
  r = cli("sweep run " + bad_key + " --jobs 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("unknown key 'betta'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("default/dipole/beta=1/seed0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("key.toml:13:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 of 6 runs fail validation; nothing was started"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "out"));

  // An out-of-range value in one point of a zip axis: only those runs fail.
  const std::string range =
      write("range.toml",
            small_sweep("range", 20) + "[axes.b]\nkeys = [\"trainer.batch_size\"]\nvalues = [[8], [0]]\n");
  r = cli("sweep plan " + range);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("default/flow_bc/b=0/seed0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("range.toml:13:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 of 8 runs fail validation"), std::string::npos) << r.output;

  // trainer.seeds in a sweep run: the sweep's own `seeds` list is the way.
  const std::string seeds =
      write("seeds.toml", "name = \"s\"\nout = \"out\"\n[methods.flow_bc]\npipeline = \"" + kConfigs +
                              "bandit_flow_bc.toml\"\nset = [\"trainer.seeds=[0, 1]\"]\n");
  r = cli("sweep plan " + seeds);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("trainer.seeds trains several seeds in one run, but a sweep run is one seed"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("seeds.toml:"), std::string::npos) << r.output;

  // Rows naming a value no axis has.
  const std::string row = write("row.toml", small_sweep("row", 20) + "[[exclude]]\nmethod = \"fql\"\n");
  r = cli("sweep plan " + row);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("row.toml:14:1: [[exclude]] method 'fql' is not one of [methods]"),
            std::string::npos)
      << r.output;
}

TEST_F(Sweep, LocalExecutorRunsSkipsAndReports) {
  const std::string file = write("s.toml", small_sweep("local", 40));
  CommandResult r = cli("sweep run " + file + " --executor local --jobs 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("4 of 4 runs done, 0 failed"), std::string::npos) << r.output;
  for (const char* run : {"flow_bc/seed0", "flow_bc/seed1", "dipole/seed0", "dipole/seed1"}) {
    const fs::path d = dir_ / "out" / "default" / run;
    EXPECT_TRUE(fs::exists(d / "sweep.done")) << d;
    EXPECT_TRUE(fs::exists(d / "checkpoints" / "latest.npz")) << d;
    EXPECT_FALSE(fs::exists(d / ".lock")) << d;
    // The sweep's evaluation ran after training: ω ∈ {0, 1}, 50 episodes.
    const std::string csv = dipole::read_text((d / "eval_sweep.csv").string());
    EXPECT_NE(csv.find(",0,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("50,"), std::string::npos) << csv;
    // Threads per run: 2 jobs on this machine's cores.
    EXPECT_NE(dipole::read_text((d / "sweep.log").string()).find("trained after 40 steps"),
              std::string::npos);
  }
  const auto before = fs::last_write_time(dir_ / "out/default/dipole/seed0/checkpoints/latest.npz");
  r = cli("sweep run " + file + " --jobs 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("4 runs, 4 done, 0 to run"), std::string::npos) << r.output;
  EXPECT_EQ(fs::last_write_time(dir_ / "out/default/dipole/seed0/checkpoints/latest.npz"), before);

  r = cli("sweep status " + file);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("done 4, running 0, pending 0, failed 0"), std::string::npos) << r.output;

  r = cli("sweep report " + file);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string report = dipole::read_text((dir_ / "out/report/report.md").string());
  EXPECT_NE(report.find("flow_bc"), std::string::npos) << report;
  EXPECT_NE(report.find("dipole"), std::string::npos) << report;
}

TEST_F(Sweep, ReportKeepsTwoMethodsOfOneAlgorithmTypeApart) {
  // Two methods of the same algorithm type (flow_bc) that differ only in a width: the report's columns
  // are the sweep's method names, its rows the task names (read from the run directories' layout).
  const std::string common =
      "\"trainer.steps=10\", \"trainer.batch_size=32\", \"trainer.log_interval=10\", \"dataset.size=500\", "
      "\"eval.episodes=10\", \"eval.parallel=10\"";
  const std::string file = write(
      "s.toml", "name = \"two\"\nout = \"out\"\nseeds = [0]\n[methods.bc_narrow]\npipeline = \"" + kConfigs +
                    "bandit_flow_bc.toml\"\nset = [" + common + ", \"denoiser.hidden_dims=[16]\"]\n" +
                    "[methods.bc_wide]\npipeline = \"" + kConfigs + "bandit_flow_bc.toml\"\nset = [" +
                    common + ", \"denoiser.hidden_dims=[48]\"]\n[tasks.one_bandit]\nset = []\n");
  CommandResult r = cli("sweep run " + file + " --executor local --jobs 2");
  ASSERT_EQ(r.code, 0) << r.output;
  r = cli("sweep report " + file);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string report = dipole::read_text((dir_ / "out/report/report.md").string());
  EXPECT_NE(report.find("| bc_narrow |"), std::string::npos) << report;
  EXPECT_NE(report.find("| bc_wide |"), std::string::npos) << report;
  EXPECT_NE(report.find("| one_bandit |"), std::string::npos) << report;
  EXPECT_EQ(report.find("| flow_bc |"), std::string::npos) << report;
}

TEST_F(Sweep, FailuresAreRetriedThenReportedWithTheirLogTail) {
  // Validates (the schema is fine) but fails when training starts: the npz file does not exist.
  const std::string file =
      write("s.toml",
            "name = \"fail\"\nout = \"out\"\nseeds = [0]\n"
            "[methods.broken]\npipeline = \"" +
                kConfigs +
                "bandit_flow_bc.toml\"\nset = ['dataset.type=\"npz_transitions\"', "
                "'dataset.path=\"missing.npz\"', 'dataset.size=1', \"trainer.steps=5\"]\n"
                "[executor]\nretries = 1\n");
  // dataset.size is not a key of npz_transitions: validation catches that first.
  CommandResult r = cli("sweep plan " + file);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("unknown key 'size'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("s.toml:4:"), std::string::npos) << r.output;

  const std::string ok = write("ok.toml",
                               "name = \"fail\"\nout = \"out\"\nseeds = [0]\n"
                               "[methods.broken]\npipeline = \"" +
                                   kConfigs +
                                   "bandit_flow_bc.toml\"\nset = ['dataset.type=\"npz_transitions\"', "
                                   "'dataset.path=\"missing.npz\"', \"trainer.steps=5\"]\n"
                                   "[executor]\nretries = 1\n");
  r = cli("sweep run " + ok);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("retry 1 of 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after 2 attempts"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing.npz"), std::string::npos) << r.output;  // the log tail
  r = cli("sweep status " + ok);
  EXPECT_NE(r.output.find("failed 1"), std::string::npos) << r.output;
}

/// Checkpoints and evaluation tables of every run under `root`, by relative path.
std::map<std::string, std::string> outputs(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name == "latest.npz" || name == "eval_sweep.csv" || name == "sweep.done")
      files[fs::relative(e.path(), root).string()] =
          name == "sweep.done" ? "" : dipole::read_text(e.path().string());
  }
  return files;
}

TEST_F(Sweep, DriverKilledMidSweepThenRerunEqualsAnUninterruptedSweep) {
  const std::string file = write("s.toml", small_sweep("kill", 1200));
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  const CommandResult straight = cli("sweep run ../s.toml --jobs 2", (dir_ / "a").string());
  ASSERT_EQ(straight.code, 0) << straight.output;

  // The same sweep, its driver killed with SIGKILL while runs are training, then rerun (twice if the
  // first kill left nothing to resume, which the checks below would reveal).
  const pid_t driver = ::fork();
  if (driver == 0) {
    if (::chdir((dir_ / "b").c_str()) != 0) ::_exit(126);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl(DIPOLE_CLI, DIPOLE_CLI, "sweep", "run", "../s.toml", "--jobs", "2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const fs::path b = dir_ / "b" / "out" / "default";
  bool mid_run = false;
  for (int i = 0; i < 3000 && !mid_run; ++i) {
    for (const char* run : {"flow_bc/seed0", "flow_bc/seed1", "dipole/seed0", "dipole/seed1"})
      mid_run |= fs::exists(b / run / "checkpoints" / "latest.npz") && !fs::exists(b / run / "sweep.done");
    if (!mid_run) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(driver, SIGKILL);
  int status = 0;
  ::waitpid(driver, &status, 0);
  ASSERT_TRUE(mid_run) << "no run had a checkpoint before the kill";
  int done_at_kill = 0;
  for (const char* run : {"flow_bc/seed0", "flow_bc/seed1", "dipole/seed0", "dipole/seed1"})
    done_at_kill += fs::exists(b / run / "sweep.done") ? 1 : 0;
  EXPECT_LT(done_at_kill, 4);

  const CommandResult rerun = cli("sweep run ../s.toml --jobs 2", (dir_ / "b").string());
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("4 of 4 runs done, 0 failed"), std::string::npos) << rerun.output;
  std::string logs;
  for (const char* run : {"flow_bc/seed0", "flow_bc/seed1", "dipole/seed0", "dipole/seed1"})
    logs += dipole::read_text((b / run / "sweep.log").string());
  EXPECT_NE(logs.find("resuming"), std::string::npos) << logs;

  const auto expected = outputs(dir_ / "a" / "out");
  const auto got = outputs(dir_ / "b" / "out");
  ASSERT_EQ(expected.size(), 12U);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [path, content] : expected) {
    ASSERT_TRUE(got.count(path)) << path;
    EXPECT_TRUE(got.at(path) == content) << path << " differs from the uninterrupted sweep";
  }
}

}  // namespace
