// Wiring tests of the algorithm plugins on the bandit: component swapping by overrides, the shipped
// ablation pipelines, FQL's gradient isolation, bit-exact resume from state(), config errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "learning/learning_util.hpp"

namespace dipole::learning {
namespace {

const std::string kDipoleBase = R"(
[trainer]
batch_size = 64
seed = 5
threads = 1

[dataset]
type = "bandit"
size = 5000

[algorithm]
type = "dipole"

[critic]
type = "iql"
hidden_dims = [32, 32]

[denoiser]
type = "flow_mlp"
hidden_dims = [32, 32]

[weighting]
type = "dipole_sigmoid"

[sampler]
type = "best_of_n"
num_candidates = 4

[sampler.inner]
type = "guided_euler"
steps = 4
)";

std::map<std::string, double> as_map(const Metrics& metrics) {
  std::map<std::string, double> out;
  for (const auto& [name, value] : metrics) out[name] = value;
  return out;
}

void expect_finite(const Metrics& metrics, const std::string& what) {
  ASSERT_FALSE(metrics.empty()) << what;
  for (const auto& [name, value] : metrics)
    EXPECT_TRUE(std::isfinite(value)) << what << ": " << name << " = " << value;
}

void expect_valid_actions(Algorithm& algorithm, std::int64_t contexts, const ActOptions& options = {}) {
  auto gen = at::detail::createCPUGenerator(9);
  auto obs = at::eye(contexts, at::kFloat).repeat({3, 1});
  auto actions = algorithm.act(obs, options, gen);
  ASSERT_EQ(actions.sizes(), (at::IntArrayRef{3 * contexts, 1}));
  EXPECT_TRUE(at::isfinite(actions).all().item<bool>());
  EXPECT_LE(actions.abs().max().item<double>(), 1.0);
}

std::string config_path(const std::string& name) {
  return std::string(DIPOLE_SOURCE_DIR) + "/configs/" + name;
}

TEST(AlgorithmPipelines, DipoleRunsWithEveryWeighting) {
  // Component swapping by overrides (`--set weighting.type=...`): a few updates, finite metrics
  // (docs/algorithms.md, "DIPOLE").
  const std::vector<std::vector<std::string>> cases = {
      {"weighting.type=dipole_sigmoid", "weighting.beta=3", "weighting.shift=1"},
      {"weighting.type=dipole_sigmoid", "weighting.shift_mode=quantile"},
      {"weighting.type=exponential", "weighting.neg=exponential"},
      {"weighting.type=exponential", "weighting.neg=uniform"},
      {"weighting.type=uniform", "weighting.rows=2"},
      {"weighting.type=indicator", "weighting.mode=rows"},
  };
  for (const auto& overrides : cases) {
    dipole::Run run = make_run(kDipoleBase, "swap.toml", overrides);
    const auto metrics = train(run, 5);
    expect_finite(metrics, overrides.front());
    const auto m = as_map(metrics);
    for (const char* name :
         {"loss/pos", "loss/neg", "loss/pos_unweighted", "loss/neg_unweighted", "grad_norm/denoiser",
          "critic/q_mean", "value/v_mean", "grad_norm/q", "grad_norm/v"})
      EXPECT_EQ(m.count(name), 1U) << overrides.front() << ": missing " << name;
    if (overrides.front() == "weighting.type=dipole_sigmoid") {
      for (const char* name : {"weight/pos_mean", "weight/neg_mean", "weight/frac_pos_gt_half",
                               "weight/ess_pos", "weight/ess_neg", "adv/q50", "adv/frac_pos", "shift"})
        EXPECT_EQ(m.count(name), 1U) << "missing " << name;
      EXPECT_NEAR(m.at("weight/pos_mean") + m.at("weight/neg_mean"), 1.0, 1e-6);
    }
    expect_valid_actions(*run.algorithm, 2);
  }
}

TEST(AlgorithmPipelines, DipoleRejectsAOneRowWeighting) {
  EXPECT_THROW(make_run(kDipoleBase, "bad.toml", {"weighting.type=exponential", "weighting.neg=none"}),
               ConfigError);
}

TEST(AlgorithmPipelines, DipoleVariantsRun) {
  for (const auto& overrides :
       std::vector<std::vector<std::string>>{{"algorithm.shared_network=true"},
                                             {"algorithm.share_noise=false"},
                                             {"algorithm.t_sampling=grid", "algorithm.time_grid=8"},
                                             {"critic.type=bandit_oracle"}}) {
    std::vector<std::string> all = overrides;
    dipole::Run run = overrides.front() == "critic.type=bandit_oracle"
                          ? make_run(R"(
[trainer]
batch_size = 64
threads = 1
[dataset]
type = "bandit"
size = 5000
[algorithm]
type = "dipole"
[critic]
type = "bandit_oracle"
[denoiser]
type = "flow_mlp"
hidden_dims = [32, 32]
[weighting]
type = "dipole_sigmoid"
[sampler]
type = "best_of_n"
num_candidates = 4
[sampler.inner]
type = "guided_euler"
steps = 4
)",
                                     "oracle.toml")
                          : make_run(kDipoleBase, "variant.toml", all);
    expect_finite(train(run, 5), overrides.front());
    expect_valid_actions(*run.algorithm, 2);
  }
}

TEST(AlgorithmPipelines, ShippedBanditPipelinesAndAblationsBuildAndRun) {
  for (const char* name :
       {"bandit_flow_bc.toml", "bandit_dipole.toml", "bandit_cfgrl.toml", "bandit_fql.toml",
        "dipole_exponential.toml", "dipole_no_rs.toml", "dipole_shared_network.toml", "dipole_beta0.toml"}) {
    SCOPED_TRACE(name);
    dipole::Run run =
        test::build_run(registry(), config::Pipeline::load(config_path(name), {"trainer.threads=1"}));
    ASSERT_TRUE(run.make_environment) << "the bandit pipelines evaluate on the bandit environment";
    expect_finite(train(run, 3), name);
    expect_valid_actions(*run.algorithm, 2);
    // One evaluation episode through the environment interface.
    auto env = run.make_environment();
    auto gen = at::detail::createCPUGenerator(4);
    const auto obs = env->reset(7);
    const auto action = run.algorithm->act(obs.unsqueeze(0), ActOptions{}, gen);
    const auto step = env->step(action[0]);
    EXPECT_TRUE(step.terminated);
    EXPECT_LE(step.reward, 1.0);
  }
  // The no-rs ablation changes the acting defaults only.
  dipole::Run no_rs = test::build_run(registry(), config::Pipeline::load(config_path("dipole_no_rs.toml")));
  EXPECT_EQ(no_rs.algorithm->act_defaults().num_candidates.value_or(-1), 1);
}

TEST(AlgorithmPipelines, CfgrlOgbenchVariantRuns) {
  dipole::Run run = test::build_run(
      registry(),
      config::Pipeline::load(
          config_path("bandit_cfgrl.toml"),
          {"trainer.threads=1", "trainer.batch_size=64", "algorithm.variant=ogbench", "weighting.mode=labels",
           "weighting.strict=false", "critic.advantage_critic=online", "sampler.steps=16"}));
  const auto m = as_map(train(run, 5));
  EXPECT_EQ(m.count("label/frac_pos"), 1U);
  EXPECT_EQ(m.count("label/frac_null"), 1U);
  expect_valid_actions(*run.algorithm, 2);
  // exorl needs two weight rows; ogbench needs labels.
  EXPECT_THROW(test::build_run(registry(), config::Pipeline::load(config_path("bandit_cfgrl.toml"),
                                                                  {"weighting.mode=labels"})),
               ConfigError);
}

TEST(AlgorithmPipelines, FqlActorLossLeavesNoCriticGradient) {
  // docs/algorithms.md, "Gradient isolation": after the actor backward the critic's gradients are exactly
  // zero; the critic still receives its own loss's gradient.
  dipole::Run run = test::build_run(
      registry(),
      config::Pipeline::load(config_path("bandit_fql.toml"), {"trainer.threads=1", "trainer.batch_size=64"}));
  auto data_gen = at::detail::createCPUGenerator(1);
  auto algo_gen = at::detail::createCPUGenerator(2);
  for (int step = 0; step < 3; ++step) {
    const auto m = as_map(run.algorithm->update(run.dataset->sample(64, data_gen), algo_gen, true));
    ASSERT_EQ(m.count("isolation/critic_grad_norm_after_actor"), 1U);
    EXPECT_EQ(m.at("isolation/critic_grad_norm_after_actor"), 0.0);
    EXPECT_GT(m.at("grad_norm/q"), 0.0);
    EXPECT_GT(m.at("grad_norm/bc_flow"), 0.0);
    EXPECT_GT(m.at("grad_norm/one_step_policy"), 0.0);
  }
}

/// Train k steps, snapshot (state, generators), train k more; a fresh run restored from the snapshot
/// must end in exactly the same state.
void expect_bit_exact_resume(const std::string& config, const std::vector<std::string>& overrides) {
  SCOPED_TRACE(config);
  auto build = [&] {
    return test::build_run(registry(), config::Pipeline::load(config_path(config), overrides));
  };
  const std::int64_t batch = 32;
  dipole::Run first = build();
  auto data_gen = at::detail::createCPUGenerator(11);
  auto algo_gen = at::detail::createCPUGenerator(12);
  for (int i = 0; i < 3; ++i)
    first.algorithm->update(first.dataset->sample(batch, data_gen), algo_gen, false);
  const StateDict snapshot = first.algorithm->state();
  const auto data_state = data_gen.get_state();
  const auto algo_state = algo_gen.get_state();
  for (int i = 0; i < 3; ++i)
    first.algorithm->update(first.dataset->sample(batch, data_gen), algo_gen, i == 2);
  const StateDict expected = first.algorithm->state();

  dipole::Run second = build();
  second.algorithm->load_state(snapshot);
  auto data_gen2 = at::detail::createCPUGenerator(0);
  auto algo_gen2 = at::detail::createCPUGenerator(0);
  data_gen2.set_state(data_state);
  algo_gen2.set_state(algo_state);
  for (int i = 0; i < 3; ++i)
    second.algorithm->update(second.dataset->sample(batch, data_gen2), algo_gen2, i == 2);
  const StateDict actual = second.algorithm->state();

  ASSERT_EQ(expected.size(), actual.size());
  std::set<std::string> prefixes;
  for (const auto& [key, value] : expected) {
    ASSERT_EQ(actual.count(key), 1U) << key;
    EXPECT_TRUE(at::equal(value, actual.at(key))) << key;
    prefixes.insert(key.substr(0, key.find('.')));
  }
  EXPECT_GT(expected.size(), 4U);
  // Acting after the resume is identical too.
  auto g1 = at::detail::createCPUGenerator(3), g2 = at::detail::createCPUGenerator(3);
  const auto obs = at::eye(2, at::kFloat);
  EXPECT_TRUE(at::equal(first.algorithm->act(obs, {}, g1), second.algorithm->act(obs, {}, g2)));
}

TEST(AlgorithmPipelines, StateResumesBitExactly) {
  const std::vector<std::string> small = {"trainer.threads=1"};
  expect_bit_exact_resume("bandit_flow_bc.toml", small);
  expect_bit_exact_resume("bandit_dipole.toml", small);
  expect_bit_exact_resume("dipole_shared_network.toml", small);
  expect_bit_exact_resume("bandit_cfgrl.toml", small);
  expect_bit_exact_resume("bandit_fql.toml", small);
}

TEST(AlgorithmPipelines, StateKeysAreStable) {
  dipole::Run run = test::build_run(registry(), config::Pipeline::load(config_path("bandit_fql.toml")));
  std::set<std::string> prefixes;
  for (const auto& [key, value] : run.algorithm->state()) prefixes.insert(key.substr(0, key.find('.')));
  EXPECT_EQ(prefixes, (std::set<std::string>{"bc_flow", "critic", "one_step_policy"}));
  dipole::Run dipole = test::build_run(registry(), config::Pipeline::load(config_path("bandit_dipole.toml")));
  prefixes.clear();
  for (const auto& [key, value] : dipole.algorithm->state()) prefixes.insert(key.substr(0, key.find('.')));
  EXPECT_EQ(prefixes, (std::set<std::string>{"critic", "denoiser"}));
  // A state missing an entry is refused with DataError naming it.
  auto state = dipole.algorithm->state();
  state.erase(state.begin());
  EXPECT_THROW(dipole.algorithm->load_state(state), DataError);
}

}  // namespace
}  // namespace dipole::learning
