// Trainer, checkpoints and resumption on a tiny deterministic pipeline (flow BC on the bandit).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dipole/core/checkpoint.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/npz.hpp"
#include "dipole/core/trainer.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;

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

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("dipole_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

dipole::Run make_run(const std::vector<std::string>& overrides = {}) {
  return build_run(Registry::with_default_plugins(),
                   config::Pipeline::parse(kPipeline, "tiny.toml", overrides));
}

TrainOptions options(const fs::path& dir, std::int64_t stop_after = -1) {
  TrainOptions o;
  o.out_dir = dir.string();
  o.progress = false;
  o.stop_after = stop_after;
  return o;
}

/// Metric rows without wall-clock columns, which legitimately differ between runs.
std::string metrics_without_time(const fs::path& file) {
  std::ifstream in(file);
  std::string line, out;
  while (std::getline(in, line)) {
    const auto pos = line.find(", \"time/");
    out += (pos == std::string::npos ? line : line.substr(0, pos)) + "\n";
  }
  return out;
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
  EXPECT_EQ(metrics_without_time(whole / "metrics.jsonl"), metrics_without_time(split / "metrics.jsonl"));
  EXPECT_EQ(read_text((whole / "eval.jsonl").string()), read_text((split / "eval.jsonl").string()));
  EXPECT_TRUE(fs::exists(split / "pipeline.resolved.toml"));
  fs::remove_all(whole);
  fs::remove_all(split);
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

TEST(Pipeline, UnusedSectionIsAnErrorWithItsPosition) {
  const std::string text = std::string(kPipeline) + "\n[critc]\ntype = \"iql\"\n";
  try {
    build_run(Registry::with_default_plugins(), config::Pipeline::parse(text, "typo.toml"));
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
