// The optimised paths and the plain reference compute the same numbers (issue 5: "keep numerics
// unchanged"): the DIPOLE update of the benchmark pipeline configs/bench/dipole.toml through the plugin
// pipeline equals the reference plain function (tests/support/reference/plain_dipole.cpp, which
// `dipole bench overhead` times against it) from the same parameters, batches and noise; the pipeline
// takes the reference's parameters through its public load_state(). best_of_n with one candidate
// (which skips the critic) returns exactly the inner sampler's actions.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "dipole/core/config.hpp"
#include "dipole/core/pipeline.hpp"
#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"
#include "plain_dipole.hpp"
#include "support/build_run.hpp"

namespace {

using dipole::StateDict;
using dipole::test::PlainDipole;

const dipole::Registry& registry() {
  static const dipole::Registry r = dipole::Registry::with_default_plugins();
  return r;
}

/// 500 synthetic transitions, obs 5, act 3, an episode end every 100 rows.
class PlainUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("dipole_test_perf_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".npz");
    auto gen = at::detail::createCPUGenerator(11);
    const auto f = at::TensorOptions().dtype(at::kFloat);
    const std::int64_t rows = 500;
    dipole::npz::write_npz(
        path_.string(),
        {{"observations", dipole::npz::from_tensor(at::randn({rows, 5}, gen, f))},
         {"actions", dipole::npz::from_tensor(at::rand({rows, 3}, gen, f) * 1.8 - 0.9)},
         {"rewards", dipole::npz::from_tensor(at::randn({rows}, gen, f))},
         {"terminals", dipole::npz::from_tensor((at::arange(rows) % 100 == 99).to(at::kFloat))}},
        false);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

  /// The benchmark's pipeline configs/bench/dipole.toml at a small scale (the sizes of shape()).
  dipole::Run bench_run() const {
    return dipole::test::build_run(
        registry(),
        dipole::config::Pipeline::load(
            std::string(DIPOLE_SOURCE_DIR) + "/configs/bench/dipole.toml",
            {"dataset.path=\"" + path_.string() + "\"", "trainer.batch_size=64", "trainer.seed=4",
             "trainer.threads=1", "critic.hidden_dims=[32, 32]", "denoiser.hidden_dims=[32, 32]"}));
  }
  static PlainDipole::Shape shape() { return {5, 3, {32, 32}}; }

  /// DIPOLE at a small scale with `sampler`: best_of_n(guided_euler) or guided_euler.
  dipole::Run run(const std::string& sampler) const {
    std::string text =
        "[trainer]\nbatch_size = 64\nseed = 4\nthreads = 1\n[dataset]\ntype = \"npz_transitions\"\npath = "
        "\"" +
        path_.string() +
        "\"\n[algorithm]\ntype = \"dipole\"\n[critic]\ntype = \"iql\"\nhidden_dims = [32, 32]\n"
        "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [32, 32]\n[weighting]\ntype = "
        "\"dipole_sigmoid\"\n";
    if (sampler == "best_of_n")
      text += "[sampler]\ntype = \"best_of_n\"\n[sampler.inner]\ntype = \"guided_euler\"\n";
    else
      text += "[sampler]\ntype = \"guided_euler\"\n";
    return dipole::test::build_run(registry(), dipole::config::Pipeline::parse(text, "<perf test>", {}));
  }

  std::filesystem::path path_;
};

/// max over elements of |a − b| / max(1, |b|), over every key of `expected` (which `actual` must have).
double max_relative_difference(const StateDict& actual, const StateDict& expected, std::size_t* compared) {
  double worst = 0;
  *compared = 0;
  for (const auto& [key, value] : expected) {
    const auto it = actual.find(key);
    EXPECT_NE(it, actual.end()) << "plain state lacks " << key;
    if (it == actual.end()) continue;
    EXPECT_EQ(it->second.sizes(), value.sizes()) << key;
    const auto a = it->second.to(at::kDouble), b = value.to(at::kDouble);
    const double d = ((a - b).abs() / b.abs().clamp_min(1.0)).max().item<double>();
    worst = std::max(worst, d);
    ++*compared;
  }
  return worst;
}

StateDict restricted_to(const StateDict& full, const StateDict& keys) {
  StateDict out;
  for (const auto& [key, value] : keys) out[key] = full.at(key);
  return out;
}

TEST_F(PlainUpdateTest, PlainFunctionEqualsPipelineUpdate) {
  dipole::Run r = bench_run();
  PlainDipole plain(shape(), PlainDipole::Config{}, /*seed=*/7);
  const StateDict own = r.algorithm->state();
  r.algorithm->load_state(plain.state());
  const StateDict initial = r.algorithm->state();
  // The reference's state covers every key of the pipeline's (the weighting has none here), and the
  // pipeline took its parameters: it no longer holds its own initialisation.
  EXPECT_NO_THROW(dipole::test::require_same_keys(initial, plain.state()));
  std::size_t compared = 0;
  EXPECT_EQ(max_relative_difference(initial, plain.state(), &compared), 0.0);
  EXPECT_EQ(compared, initial.size());
  EXPECT_GT(max_relative_difference(own, initial, &compared), 1e-3);

  auto data_gen = at::detail::createCPUGenerator(21);
  auto gen_a = at::detail::createCPUGenerator(22), gen_b = at::detail::createCPUGenerator(22);
  for (int i = 0; i < 5; ++i) {
    const dipole::Batch b = r.dataset->sample(64, data_gen);
    r.algorithm->update(b, gen_a, false);
    plain.update(b, gen_b);
  }
  const StateDict after = r.algorithm->state();
  const double difference = max_relative_difference(plain.state(), after, &compared);
  EXPECT_EQ(compared, after.size());
  EXPECT_LE(difference, 1e-6) << "plain and pipeline updates differ";
  // The updates moved the parameters by much more than the tolerance (the comparison can fail).
  const double moved = max_relative_difference(restricted_to(initial, after), after, &compared);
  EXPECT_GT(moved, 1e-4);
  // Five Adam steps were taken by each optimiser.
  EXPECT_EQ(after.at("critic.q_adam.step").item<std::int64_t>(), 5);
  EXPECT_EQ(plain.state().at("denoiser.adam.step").item<std::int64_t>(), 5);
}

TEST_F(PlainUpdateTest, ComparisonDetectsADifferentUpdate) {
  // β = 0 instead of 3 (weights ½ instead of σ(±3A)): the denoiser must come out different.
  dipole::Run r = bench_run();
  PlainDipole::Config other;
  other.beta = 0.0;
  PlainDipole plain(shape(), other, /*seed=*/7);
  r.algorithm->load_state(plain.state());
  auto data_gen = at::detail::createCPUGenerator(21);
  auto gen_a = at::detail::createCPUGenerator(22), gen_b = at::detail::createCPUGenerator(22);
  for (int i = 0; i < 3; ++i) {
    const dipole::Batch b = r.dataset->sample(64, data_gen);
    r.algorithm->update(b, gen_a, false);
    plain.update(b, gen_b);
  }
  std::size_t compared = 0;
  StateDict denoiser_only;
  for (const auto& [key, value] : r.algorithm->state())
    if (key.rfind("denoiser.net.", 0) == 0) denoiser_only[key] = value;
  EXPECT_GT(max_relative_difference(plain.state(), denoiser_only, &compared), 1e-6);
  // The critic does not depend on β: it still agrees.
  StateDict critic_only;
  for (const auto& [key, value] : r.algorithm->state())
    if (key.rfind("critic.", 0) == 0) critic_only[key] = value;
  EXPECT_LE(max_relative_difference(plain.state(), critic_only, &compared), 1e-6);
}

TEST_F(PlainUpdateTest, KeysThePipelineLacksOrTheReferenceLacksAreNamed) {
  dipole::Run r = bench_run();
  PlainDipole plain(shape(), PlainDipole::Config{}, 7);
  StateDict pipeline = r.algorithm->state(), reference = plain.state();
  pipeline["critic.extra"] = at::zeros({1});
  reference.erase("denoiser.adam.step");
  try {
    dipole::test::require_same_keys(pipeline, reference);
    FAIL() << "no error";
  } catch (const dipole::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("only in the pipeline's: critic.extra denoiser.adam.step"), std::string::npos)
        << message;
    EXPECT_NE(message.find("only in the reference's: -"), std::string::npos) << message;
  }
}

TEST_F(PlainUpdateTest, BestOfOneEqualsInnerSampler) {
  // Same seed → same parameters in both runs; best_of_n(N_c = 1) skips the critic and must return the
  // inner guided_euler's actions bit for bit (same noise draw).
  dipole::Run with_rs = run("best_of_n"), plain_euler = run("guided_euler");
  auto gen = at::detail::createCPUGenerator(5);
  const auto obs = at::randn({7, 5}, gen, at::kFloat);
  dipole::ActOptions options;
  options.omega = 1.5;
  options.steps = 6;
  options.num_candidates = 1;
  auto g1 = at::detail::createCPUGenerator(9), g2 = at::detail::createCPUGenerator(9);
  const auto a = with_rs.algorithm->act(obs, options, g1);
  options.num_candidates.reset();
  const auto b = plain_euler.algorithm->act(obs, options, g2);
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(at::equal(a, b));
  // With 8 candidates the result differs (rejection picks other rows).
  options.num_candidates = 8;
  auto g3 = at::detail::createCPUGenerator(9);
  EXPECT_FALSE(at::equal(with_rs.algorithm->act(obs, options, g3), b));
}

}  // namespace
