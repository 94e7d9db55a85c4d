// Trainer, checkpoints and resumption on a tiny deterministic pipeline (flow BC on the bandit).
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "dipole/core/checkpoint.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/trainer.hpp"
#include "dipole/sdk/npz.hpp"
#include "support/build_run.hpp"
#include "support/run_files.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;
using test::fresh_dir;
using test::options;
using test::without_time;

const char* kPipeline = R"(
[trainer]
steps = 40
batch_size = 32
seed = 7
log_interval = 5
checkpoint_interval = 10

[dataset]
type = "bandit"
size = 2000

[environment]
type = "bandit"

[eval]
episodes = 16

[algorithm]
type = "flow_bc"

[denoiser]
type = "flow_mlp"
hidden_dims = [32, 32]

[sampler]
type = "euler"
steps = 4
)";

dipole::Run make_run(const std::vector<std::string>& overrides = {}) {
  return test::build_run(Registry::with_default_plugins(),
                         config::Pipeline::parse(kPipeline, "tiny.toml", overrides));
}

void expect_same_state(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, tensor] : a) {
    ASSERT_TRUE(b.count(key)) << key;
    const at::Tensor x = tensor.contiguous(), y = b.at(key).contiguous();
    ASSERT_EQ(x.sizes(), y.sizes()) << key;
    ASSERT_EQ(x.scalar_type(), y.scalar_type()) << key;
    EXPECT_EQ(std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()), 0) << "state entry differs: " << key;
  }
}

TEST(Checkpoint, RoundTripIsBitIdentical) {
  const fs::path dir = fresh_dir("roundtrip");
  dipole::Run run = make_run();
  train(run, options(dir, 15));
  const TrainingState saved = load_checkpoint((dir / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(saved.step, 15);
  expect_same_state(run.algorithm->state(), saved.algorithm);

  // A fresh run that loads the checkpoint holds the same state bit for bit, and saves the same bytes.
  dipole::Run other = make_run({"trainer.seed=99"});
  other.algorithm->load_state(saved.algorithm);
  expect_same_state(other.algorithm->state(), saved.algorithm);
  TrainingState again = saved;
  again.algorithm = other.algorithm->state();
  save_checkpoint((dir / "again.npz").string(), again);
  EXPECT_EQ(read_text((dir / "again.npz").string()),
            read_text((dir / "checkpoints" / "latest.npz").string()));
  fs::remove_all(dir);
}

TEST(Checkpoint, MissingAndForeignFilesGiveClearErrors) {
  try {
    load_checkpoint("/nonexistent/latest.npz");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/latest.npz' does not exist"), std::string::npos);
  }
  const fs::path dir = fresh_dir("foreign");
  fs::create_directories(dir);
  npz::write_npz((dir / "x.npz").string(), {{"weights", npz::from_tensor(at::ones({2}))}}, false);
  try {
    load_checkpoint((dir / "x.npz").string());
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("not a Dipole checkpoint"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  const fs::path whole = fresh_dir("whole"), split = fresh_dir("split");
  {
    dipole::Run run = make_run();
    const TrainResult r = train(run, options(whole));
    EXPECT_EQ(r.steps_done, 40);
  }
  {
    dipole::Run first = make_run();
    const TrainResult r = train(first, options(split, 23));  // stops between checkpoints
    EXPECT_EQ(r.steps_done, 23);
  }
  {
    // A new process would rebuild everything from the pipeline; the checkpoint of step 23 is the one
    // written when the run stopped.
    dipole::Run second = make_run();
    const TrainResult r = train(second, options(split));
    EXPECT_EQ(r.resumed_from, 23);
    EXPECT_EQ(r.steps_done, 40);
  }
  const auto a = load_checkpoint((whole / "checkpoints" / "latest.npz").string());
  const auto b = load_checkpoint((split / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(a.step, b.step);
  expect_same_state(a.algorithm, b.algorithm);
  EXPECT_TRUE(at::equal(a.data_generator, b.data_generator));
  EXPECT_TRUE(at::equal(a.algorithm_generator, b.algorithm_generator));
  EXPECT_EQ(without_time(whole / "metrics.jsonl"), without_time(split / "metrics.jsonl"));
  EXPECT_EQ(read_text((whole / "eval.jsonl").string()), read_text((split / "eval.jsonl").string()));
  EXPECT_TRUE(fs::exists(split / "pipeline.resolved.toml"));
  fs::remove_all(whole);
  fs::remove_all(split);
}

/// An environment that requests a stop (as the CLI's signal handler does) at its `at`-th step,
/// counted over every instance sharing `counter`.
class StopAtStep final : public Environment {
 public:
  StopAtStep(std::shared_ptr<Environment> inner, std::shared_ptr<int> counter, int at)
      : inner_(std::move(inner)), counter_(std::move(counter)), at_(at) {}
  Spec spec() const override { return inner_->spec(); }
  at::Tensor reset(std::uint64_t seed) override { return inner_->reset(seed); }
  StepResult step(const at::Tensor& action) override {
    if (++*counter_ == at_) request_stop();
    return inner_->step(action);
  }
  std::int64_t max_episode_steps() const override { return inner_->max_episode_steps(); }

 private:
  std::shared_ptr<Environment> inner_;
  std::shared_ptr<int> counter_;
  int at_;
};

/// Interrupts the `nth` evaluation of `run` in its middle (environment step 5 of it).
void stop_during_evaluation(dipole::Run& run, int nth) {
  auto make = run.make_environment;
  auto counter = std::make_shared<int>(0);
  const int per_eval = 16;  // [eval] episodes of kPipeline, one step each (bandit)
  run.make_environment = [make, counter, nth] {
    return std::make_shared<StopAtStep>(make(), counter, (nth - 1) * per_eval + 5);
  };
}

TEST(Trainer, StopDuringAnEvaluationIsRedoneOnResume) {
  const std::vector<std::string> every_20 = {"trainer.eval_interval=20"};
  const fs::path whole = fresh_dir("eval_whole"), split = fresh_dir("eval_split");
  {
    dipole::Run run = make_run(every_20);
    train(run, options(whole));
  }
  {
    dipole::Run run = make_run(every_20);
    stop_during_evaluation(run, 1);  // the evaluation of step 20
    const TrainResult r = train(run, options(split));
    clear_stop();
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.steps_done, 20);
    EXPECT_FALSE(fs::exists(split / "eval.jsonl") &&
                 read_text((split / "eval.jsonl").string()).find("\"step\": 20") != std::string::npos)
        << "an interrupted evaluation must not be logged";
    EXPECT_EQ(load_checkpoint((split / "checkpoints" / "latest.npz").string()).step, 20);
  }
  {
    dipole::Run run = make_run(every_20);
    stop_during_evaluation(run, 2);  // the final evaluation (the redone one of step 20 is the first)
    const TrainResult r = train(run, options(split));
    clear_stop();
    EXPECT_TRUE(r.interrupted) << "a stop during the final evaluation is not a finished run";
    EXPECT_EQ(r.resumed_from, 20);
    EXPECT_EQ(r.steps_done, 40);
  }
  {
    dipole::Run run = make_run(every_20);
    const TrainResult r = train(run, options(split));
    EXPECT_FALSE(r.interrupted);
    EXPECT_EQ(r.resumed_from, 40);
  }
  // Both evaluations were redone: the logs equal those of the uninterrupted run.
  EXPECT_EQ(read_text((whole / "eval.jsonl").string()), read_text((split / "eval.jsonl").string()));
  EXPECT_EQ(read_text((whole / "eval.csv").string()), read_text((split / "eval.csv").string()));
  EXPECT_EQ(without_time(whole / "metrics.jsonl"), without_time(split / "metrics.jsonl"));
  expect_same_state(load_checkpoint((whole / "checkpoints" / "latest.npz").string()).algorithm,
                    load_checkpoint((split / "checkpoints" / "latest.npz").string()).algorithm);
  fs::remove_all(whole);
  fs::remove_all(split);
}

TEST(Trainer, StopRequestEndsTrainingAfterTheCurrentUpdate) {
  const fs::path dir = fresh_dir("stop");
  dipole::Run run = make_run();
  request_stop();
  const TrainResult r = train(run, options(dir));
  clear_stop();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.steps_done, 0);
  EXPECT_TRUE(fs::exists(dir / "checkpoints" / "latest.npz"));
  fs::remove_all(dir);
}

TEST(Trainer, StaleTempFilesAreRemovedAndDamagedLogsNamed) {
  const fs::path dir = fresh_dir("stale");
  {
    dipole::Run run = make_run();
    train(run, options(dir, 10));
  }
  // Left by killed writers (pid 2^22+1 exceeds Linux's pid_max limit, so no process has it), and
  // one of a live process (ours), which must stay.
  const std::string dead = std::to_string((1 << 22) + 1);
  for (const auto& f :
       {dir / "checkpoints" / ("latest.npz.tmp." + dead),
        dir / "checkpoints" / ("latest.npz.tmp." + dead + ".aB3xYz"), dir / ("metrics.csv.tmp." + dead),
        dir / ("eval.csv.tmp." + std::to_string(::getpid()))})
    std::ofstream(f) << "partial";
  // A row cut short by a kill as the last line is dropped (it belongs to an unfinished step).
  std::ofstream(dir / "metrics.jsonl", std::ios::app) << "{\"step\": 11, \"loss\": 0.";
  {
    dipole::Run run = make_run();
    const TrainResult r = train(run, options(dir, 20));
    EXPECT_EQ(r.resumed_from, 10);
  }
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / ("latest.npz.tmp." + dead)));
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / ("latest.npz.tmp." + dead + ".aB3xYz")));
  EXPECT_FALSE(fs::exists(dir / ("metrics.csv.tmp." + dead)));
  EXPECT_TRUE(fs::exists(dir / ("eval.csv.tmp." + std::to_string(::getpid()))));
  // A damaged row in the middle is an error naming the file and line, not `stoll`.
  std::string text = read_text((dir / "metrics.csv").string());
  text.replace(text.find("\n") + 1, 2, "x5");
  std::ofstream(dir / "metrics.csv", std::ios::trunc) << text;
  try {
    dipole::Run run = make_run();
    train(run, options(dir, 30));
    FAIL() << "resumed over a damaged metrics.csv";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.csv:2: damaged row"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Signals, OutsideAStopScopeASignalExitsWith130) {
  EXPECT_EXIT(
      {
        install_stop_signal_handlers();
        std::raise(SIGTERM);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(130), "interrupted");
  EXPECT_EXIT(
      {
        install_stop_signal_handlers();
        {
          StopScope scope;
          std::raise(SIGINT);  // only requests a stop
        }
        std::_Exit(stop_requested() ? 7 : 0);
      },
      ::testing::ExitedWithCode(7), "");
}

TEST(Trainer, NonFiniteLossStopsNamingTheStepAndTermWithTheCheckpointUntouched) {
  const fs::path dir = fresh_dir("nan");
  fs::create_directories(dir);
  const std::string data = (dir / "data.npz").string();
  auto write_data = [&](double observation_scale) {
    const std::int64_t n = 64;
    at::Tensor terminals = at::zeros({n});
    terminals[n - 1] = 1.0;
    npz::write_npz(data,
                   {{"observations", npz::from_tensor(at::ones({n, 3}) * observation_scale)},
                    {"actions", npz::from_tensor(at::zeros({n, 2}))},
                    {"rewards", npz::from_tensor(at::zeros({n}))},
                    {"terminals", npz::from_tensor(terminals)}},
                   false);
  };
  const std::string pipeline =
      "[trainer]\nsteps = 40\nbatch_size = 8\ncheckpoint_interval = 10\n"
      "[dataset]\ntype = \"npz_transitions\"\npath = \"" +
      data +
      "\"\n[algorithm]\ntype = \"flow_bc\"\n[denoiser]\ntype = \"flow_mlp\"\n"
      "hidden_dims = [8]\n[sampler]\ntype = \"euler\"\n";
  auto run_of = [&] {
    return test::build_run(Registry::with_default_plugins(), config::Pipeline::parse(pipeline, "nan.toml"));
  };
  write_data(1.0);
  {
    dipole::Run run = run_of();
    train(run, options(dir / "run", 10));
  }
  const std::string checkpoint = (dir / "run" / "checkpoints" / "latest.npz").string();
  const std::string before = read_text(checkpoint);
  // Finite data whose products overflow: the first update of the resumed run has a non-finite loss.
  write_data(3e38);
  try {
    dipole::Run run = run_of();
    train(run, options(dir / "run"));
    FAIL() << "trained through a non-finite loss";
  } catch (const NumericError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 11: non-finite flow_bc loss"), std::string::npos) << message;
    EXPECT_NE(message.find("the last checkpoint is " + checkpoint), std::string::npos) << message;
  }
  EXPECT_EQ(read_text(checkpoint), before) << "the checkpoint changed";
  fs::remove_all(dir);
}

TEST(Trainer, RefusesToResumeADifferentPipeline) {
  const fs::path dir = fresh_dir("different");
  {
    dipole::Run run = make_run();
    train(run, options(dir, 5));
  }
  dipole::Run changed = make_run({"denoiser.lr=0.001"});
  try {
    train(changed, options(dir));
    FAIL() << "resumed a different pipeline";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("different pipeline"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Trainer, WritesMetricsAndEvaluation) {
  const fs::path dir = fresh_dir("files");
  dipole::Run run = make_run();
  train(run, options(dir));
  std::ifstream csv(dir / "metrics.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("step,", 0), 0u) << header;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 8);  // 40 steps, a row every 5
  const std::string eval = read_text((dir / "eval.jsonl").string());
  EXPECT_NE(eval.find("\"step\": 40"), std::string::npos) << eval;
  EXPECT_NE(eval.find("eval/return_mean"), std::string::npos) << eval;
  fs::remove_all(dir);
}

TEST(Trainer, RunDirectoryRecordsThePluginBuilds) {
  const fs::path dir = fresh_dir("plugins");
  dipole::Run run = make_run();
  train(run, options(dir));
  const std::string text = read_text((dir / "plugins.toml").string());
  // One [[component]] table per section: its keys up to the next table.
  std::map<std::string, std::map<std::string, std::string>> tables;
  std::istringstream in(text);
  std::string line, section;
  std::map<std::string, std::string> current;
  const auto flush = [&] {
    if (!current.empty()) tables[current["section"]] = current;
    current.clear();
  };
  while (std::getline(in, line)) {
    if (line == "[[component]]") flush();
    const auto eq = line.find(" = ");
    if (eq == std::string::npos || line[0] == '#') continue;
    std::string value = line.substr(eq + 3);
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    current[line.substr(0, eq)] = value;
  }
  flush();
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"dataset", {"bandit", "dipole_bandit"}},
      {"environment", {"bandit", "dipole_bandit"}},
      {"algorithm", {"flow_bc", "dipole_flow_bc"}},
      {"denoiser", {"flow_mlp", "dipole_flow_mlp"}},
      {"sampler", {"euler", "dipole_samplers"}}};
  ASSERT_EQ(tables.size(), expected.size()) << text;
  for (const auto& [name, type_and_library] : expected) {
    ASSERT_TRUE(tables.count(name)) << name << "\n" << text;
    auto& t = tables[name];
    EXPECT_EQ(t["type"], type_and_library.first) << text;
    EXPECT_EQ(t["library_name"], type_and_library.second) << text;
    EXPECT_EQ(t["sdk_version"], std::to_string(kPluginApiVersion)) << text;
    EXPECT_NE(t["library_version"], "unversioned") << text;
    EXPECT_FALSE(t["library_version"].empty()) << text;
    EXPECT_TRUE(fs::exists(t["library"])) << t["library"];
    EXPECT_NE(t["library"].find("lib" + type_and_library.second + ".so"), std::string::npos) << text;
  }
  EXPECT_EQ(tables["sampler"]["kind"], "sampler");
  EXPECT_EQ(tables["denoiser"]["kind"], "denoiser");

  // The checkpoint carries the same record, and comparing it with the builds loaded now finds nothing.
  const TrainingState saved = load_checkpoint((dir / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(saved.plugin_builds, text);
  EXPECT_TRUE(plugin_build_changes(saved.plugin_builds, run.builds).empty());
  // Another library version, another SDK, or a section gone: one line each, naming the section and both
  // builds.
  std::vector<ComponentBuild> other = run.builds;
  for (ComponentBuild& b : other) {
    if (b.section == "denoiser") b.library_version = "9.9.9";
    if (b.section == "sampler") b.sdk_version = 1;
    b.library = "/elsewhere/" + b.library;  // paths are not compared
  }
  other.erase(std::remove_if(other.begin(), other.end(),
                             [](const ComponentBuild& b) { return b.section == "environment"; }),
              other.end());
  const auto changes = plugin_build_changes(saved.plugin_builds, other);
  ASSERT_EQ(changes.size(), 3u) << fmt::format("{}", fmt::join(changes, "\n"));
  const std::string all = fmt::format("{}", fmt::join(changes, "\n"));
  EXPECT_NE(all.find("[denoiser]: written by flow_mlp from dipole_flow_mlp " +
                     tables["denoiser"]["library_version"] + " (SDK " + std::to_string(kPluginApiVersion) +
                     "), now flow_mlp from dipole_flow_mlp 9.9.9"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("[sampler]: written by euler"), std::string::npos) << all;
  EXPECT_NE(all.find("(SDK 1)"), std::string::npos) << all;
  EXPECT_NE(all.find("[environment]: written by bandit from dipole_bandit"), std::string::npos) << all;
  EXPECT_NE(all.find("not built now"), std::string::npos) << all;
  fs::remove_all(dir);
}

TEST(Pipeline, UnusedSectionIsAnErrorWithItsPosition) {
  const std::string text = std::string(kPipeline) + "\n[critc]\ntype = \"iql\"\n";
  try {
    test::build_run(Registry::with_default_plugins(), config::Pipeline::parse(text, "typo.toml"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("typo.toml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("critc"), std::string::npos) << e.what();
  }
}

TEST(Pipeline, UnknownComponentTypeNamesSectionAndKnownTypes) {
  try {
    make_run({"sampler.type=eulr"});
    FAIL();
  } catch (const PluginError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[sampler]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown sampler type 'eulr'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("guided_euler"), std::string::npos) << msg;
  }
}

TEST(Pipeline, BadDeviceIsAConfigError) {
  EXPECT_THROW(make_run({"trainer.device=\"gpu0\""}), ConfigError);
}

}  // namespace
}  // namespace dipole
