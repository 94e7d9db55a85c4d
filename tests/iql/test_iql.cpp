// Algorithm `iql` (docs/algorithms.md, "IQL"): every loss term against a hand computation on a fixed
// batch, acting at evaluation vs exploration, bit-identical resume through a checkpoint file, and the
// known answer T1 (the AWR Gaussian mean is the clipped-exponential weighted mean of the data actions).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "dipole/core/checkpoint.hpp"
#include "dipole/sdk/nn.hpp"
#include "learning/learning_util.hpp"

namespace dipole::learning {
namespace {

std::string pipeline(const std::string& algorithm_keys, const std::string& critic_type = "iql",
                     std::int64_t contexts = 2, const std::string& problem = "mixed") {
  const std::string critic =
      critic_type == "iql"
          ? "type = \"iql\"\nhidden_dims = [16, 16]\nadvantage_critic = \"online\"\nlr = 1e-3\n"
          : "type = \"bandit_oracle\"\nproblem = \"" + problem +
                "\"\ncontexts = " + std::to_string(contexts) + "\n";
  return "[trainer]\nbatch_size = 256\nseed = 3\nthreads = 1\n\n[dataset]\ntype = \"bandit\"\nsize = 50000\n"
         "problem = \"" +
         problem + "\"\ncontexts = " + std::to_string(contexts) + "\n\n[algorithm]\ntype = \"iql\"\n" +
         algorithm_keys + "\n[critic]\n" + critic +
         "\n[actor]\ntype = \"flow_mlp\"\nhidden_dims = [16, 16]\noutput_scale = 0.01\nlr = 1e-3\n";
}

std::map<std::string, double> as_map(const Metrics& metrics) {
  std::map<std::string, double> out;
  for (const auto& [name, value] : metrics) out[name] = value;
  return out;
}

EnsembleMlp network(const StateDict& state, const std::string& prefix, std::int64_t members, std::int64_t in,
                    NetworkRole role) {
  MlpConfig config = mlp_preset("fql", role);
  config.hidden_dims = {16, 16};
  auto gen = at::detail::createCPUGenerator(0);
  EnsembleMlp net(members, in, 1, config, gen);
  net.load_state(state, prefix);
  return net;
}

/// A fixed batch of 4 rows with two contexts; rows 1 and 3 are non-terminal so y uses V(s′).
Batch fixed_batch() {
  Batch b;
  b.observations = at::tensor({1.f, 0.f, 0.f, 1.f, 1.f, 0.f, 0.f, 1.f}).view({4, 2});
  b.next_observations = at::tensor({0.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 0.f}).view({4, 2});
  b.actions = at::tensor({-0.5f, 0.3f, 0.9f, -0.8f}).view({4, 1});
  b.rewards = at::tensor({0.2f, -1.0f, 0.7f, 0.1f});
  b.masks = at::tensor({0.f, 1.f, 0.f, 1.f});
  b.terminals = at::tensor({1.f, 0.f, 1.f, 0.f});
  return b;
}

// Each term of L = L_V + L_Q + L_π recomputed from the pre-update networks, element by element in
// double precision: L_V = mean |τ − 1[u<0]|·u², u = min_j Q̄_j − V; y = r + γ·m·V(s′);
// L_Q = mean Σ_j (Q_j − y)²; A = min_j Q_j − V (online); w = min(exp(βA), 100);
// L_π = −mean w·log N(a; μ, 1) with log N = −½(a − μ)² − ½ log 2π.
TEST(Iql, LossTermsEqualHandComputation) {
  // β = 40 makes some weights reach the clip at 100 (checked below), so the clip is exercised.
  dipole::Run run = make_run(pipeline("alpha = 40.0\n"), "iql-loss");
  const StateDict before = run.algorithm->state();
  const Batch batch = fixed_batch();
  auto gen = at::detail::createCPUGenerator(1);
  const auto metrics = as_map(run.algorithm->update(batch, gen, true));

  const auto q = network(before, "critic.q.", 2, 3, NetworkRole::Critic);
  const auto q_target = network(before, "critic.q_target.", 2, 3, NetworkRole::Critic);
  const auto v = network(before, "critic.v.", 1, 2, NetworkRole::Critic);
  const auto actor = network(before, "actor.net.", 1, 2, NetworkRole::Actor);
  at::NoGradGuard no_grad;
  const auto sa = at::cat({batch.observations, batch.actions}, 1);
  const auto qv = q.forward(sa).squeeze(-1).to(at::kDouble);         // [2, 4]
  const auto qt = q_target.forward(sa).squeeze(-1).to(at::kDouble);  // [2, 4]
  const auto vs = v.forward(batch.observations).view({-1}).to(at::kDouble);
  const auto vn = v.forward(batch.next_observations).view({-1}).to(at::kDouble);
  const auto mu = actor.forward(batch.observations).view({-1}).to(at::kDouble);
  const double tau = 0.9, gamma = 0.99, beta = 40.0;
  double lv = 0, lq = 0, lpi = 0, adv = 0;
  int clipped = 0;
  for (int i = 0; i < 4; ++i) {
    const double u = std::min(qt[0][i].item<double>(), qt[1][i].item<double>()) - vs[i].item<double>();
    lv += (u < 0 ? 1 - tau : tau) * u * u / 4;
    const double y =
        batch.rewards[i].item<double>() + gamma * batch.masks[i].item<double>() * vn[i].item<double>();
    lq += (std::pow(qv[0][i].item<double>() - y, 2) + std::pow(qv[1][i].item<double>() - y, 2)) / 4;
    const double a = std::min(qv[0][i].item<double>(), qv[1][i].item<double>()) - vs[i].item<double>();
    adv += a / 4;
    double w = std::exp(beta * a);
    if (w >= 100) {
      w = 100;
      ++clipped;
    }
    const double d = batch.actions[i][0].item<double>() - mu[i].item<double>();
    lpi += -w * (-0.5 * d * d - 0.5 * std::log(2 * M_PI)) / 4;
  }
  EXPECT_NEAR(metrics.at("value/loss"), lv, 1e-6 * (1 + std::abs(lv)));
  EXPECT_NEAR(metrics.at("critic/loss"), lq, 1e-6 * (1 + std::abs(lq)));
  EXPECT_NEAR(metrics.at("actor/adv"), adv, 1e-6);
  EXPECT_NEAR(metrics.at("loss/actor"), lpi, 1e-5 * (1 + std::abs(lpi)));
  EXPECT_NEAR(metrics.at("actor/weight_clipped_fraction"), clipped / 4.0, 1e-12);
  EXPECT_NEAR(metrics.at("actor/std"), 1.0, 1e-12);
  std::printf("L_V %.6f  L_Q %.6f  L_pi %.6f  clipped weights %d of 4\n", lv, lq, lpi, clipped);
}

// The learned log-std enters log π as −Σ_d ℓ_d − ½((a − μ)/σ)²; after one step it has moved.
TEST(Iql, LearnedStdLogDensityAndUpdate) {
  dipole::Run run = make_run(pipeline("alpha = 1.0\nstd = \"learned\"\nlog_std_lr = 0.1\n"), "iql-std");
  const Batch batch = fixed_batch();
  auto gen = at::detail::createCPUGenerator(1);
  const auto m1 = as_map(run.algorithm->update(batch, gen, true));
  EXPECT_NEAR(m1.at("actor/std"), 1.0, 1e-12);  // ℓ = 0 before the first step
  const double log_std = run.algorithm->state().at("log_std").item<double>();
  EXPECT_GT(std::abs(log_std), 0.05);  // Adam's first step moves ℓ by ≈ lr
  EXPECT_NEAR(std::abs(log_std), 0.1, 1e-3);
  const auto m2 = as_map(run.algorithm->update(batch, gen, true));
  EXPECT_NEAR(m2.at("actor/std"), std::exp(log_std), 1e-6);
  // bc_log_prob = mean −½((a − μ)/σ)² − ℓ − ½ log 2π: with mse = mean (a − μ)² and one dimension.
  const double sigma = std::exp(log_std);
  EXPECT_NEAR(m2.at("actor/bc_log_prob"),
              -0.5 * m2.at("actor/mse") / (sigma * sigma) - log_std - 0.5 * std::log(2 * M_PI), 1e-5);
}

// Acting (spec of docs/algorithms.md): evaluation = clip(μ(s)) deterministic; exploration = clip(μ + ξ),
// ξ ~ N(0, 1); at μ ≈ 0 that clips P(|ξ| > 1) = 0.3173 of the coordinates.
TEST(Iql, EvaluateIsTheMeanExploreAddsUnitNoise) {
  dipole::Run run = make_run(pipeline("alpha = 1.0\n"), "iql-act");
  const auto obs = context_observations(0, 2, 100000);
  ActOptions evaluate, explore;
  explore.mode = ActMode::Explore;
  auto g1 = at::detail::createCPUGenerator(7), g2 = at::detail::createCPUGenerator(8);
  const auto a1 = run.algorithm->act(obs.narrow(0, 0, 8), evaluate, g1);
  const auto a2 = run.algorithm->act(obs.narrow(0, 0, 8), evaluate, g2);
  EXPECT_TRUE(at::equal(a1, a2));  // no noise drawn: generator-independent
  const auto actor = network(run.algorithm->state(), "actor.net.", 1, 2, NetworkRole::Actor);
  const double mu = actor.forward(obs.narrow(0, 0, 1)).item<double>();
  EXPECT_NEAR(a1[0][0].item<double>(), mu, 1e-7);
  EXPECT_LT(std::abs(mu), 0.05);  // mean head initialised with scale 0.01
  const auto e = run.algorithm->act(obs, explore, g1);
  const double clipped = e.abs().ge(1.0).to(at::kDouble).mean().item<double>();
  const double expected =
      0.5 * std::erfc((1 - mu) / std::sqrt(2.0)) + 0.5 * std::erfc((1 + mu) / std::sqrt(2.0));
  EXPECT_NEAR(clipped, expected, 0.005);
  EXPECT_NEAR(expected, 0.3173, 0.002);
  const auto inside = e.masked_select(e.abs().lt(1.0));
  EXPECT_NEAR(inside.mean().item<double>(), mu, 0.01);
  std::printf("explore: clipped fraction %.4f (Gaussian tail %.4f)\n", clipped, expected);
}

// 10 updates, a checkpoint file (state + both generators), 10 more; a fresh run restored from the
// file and stepped 10 times must hold bit-identical tensors.
TEST(Iql, CheckpointResumeIsBitIdentical) {
  for (const std::string keys : {"alpha = 3.0\n", "alpha = 3.0\nstd = \"learned\"\nmean_clip = 5.0\n",
                                 "alpha = 0.5\nactor_loss = \"ddpgbc\"\nstd = \"learned\"\n"}) {
    dipole::Run a = make_run(pipeline(keys), "iql-resume");
    auto data_gen = at::detail::createCPUGenerator(11), algo_gen = at::detail::createCPUGenerator(12);
    for (int i = 0; i < 10; ++i) a.algorithm->update(a.dataset->sample(64, data_gen), algo_gen, false);
    const auto path = std::filesystem::temp_directory_path() / "dipole_test_iql_resume.npz";
    TrainingState saved;
    saved.step = 10;
    saved.algorithm = a.algorithm->state();
    saved.data_generator = data_gen.get_state();
    saved.algorithm_generator = algo_gen.get_state();
    save_checkpoint(path.string(), saved);
    for (int i = 0; i < 10; ++i) a.algorithm->update(a.dataset->sample(64, data_gen), algo_gen, false);

    dipole::Run b = make_run(pipeline(keys), "iql-resume");
    const TrainingState loaded = load_checkpoint(path.string());
    std::filesystem::remove(path);
    b.algorithm->load_state(loaded.algorithm);
    auto data_b = at::detail::createCPUGenerator(0), algo_b = at::detail::createCPUGenerator(0);
    data_b.set_state(loaded.data_generator);
    algo_b.set_state(loaded.algorithm_generator);
    for (int i = 0; i < 10; ++i) b.algorithm->update(b.dataset->sample(64, data_b), algo_b, false);
    const StateDict sa = a.algorithm->state(), sb = b.algorithm->state();
    ASSERT_EQ(sa.size(), sb.size()) << keys;
    for (const auto& [key, value] : sa) EXPECT_TRUE(at::equal(value, sb.at(key))) << keys << key;
    ActOptions explore;
    explore.mode = ActMode::Explore;
    auto ga = at::detail::createCPUGenerator(5), gb = at::detail::createCPUGenerator(5);
    const auto obs = context_observations(1, 2, 16);
    EXPECT_TRUE(at::equal(a.algorithm->act(obs, explore, ga), b.algorithm->act(obs, explore, gb))) << keys;
  }
}

/// m* = Σ w a / Σ w and σ*² = Σ w (a − m*)² / Σ w over `n` dataset rows of the (single) context,
/// w = min(exp(β·A), 100) with the oracle advantage A = r − V_τ.
struct WeightedMoments {
  double mean = 0, stddev = 0;
};
WeightedMoments weighted_moments(Run& run, double beta, double tau, std::int64_t n) {
  auto gen = at::detail::createCPUGenerator(99);
  const Batch b = run.dataset->sample(n, gen);
  const auto bandit = bandit::make_contexts("unimodal", 1)[0];
  const auto grid = bandit::make_grid(4000);
  const double v = bandit::expectile_value(bandit, grid, tau);
  const auto a = b.actions.view({-1}).to(at::kDouble);
  const auto w = (beta * (b.rewards.to(at::kDouble) - v)).exp().clamp_max(100.0);
  WeightedMoments out;
  out.mean = ((w * a).sum() / w.sum()).item<double>();
  out.stddev = std::sqrt(((w * (a - out.mean).pow(2)).sum() / w.sum()).item<double>());
  return out;
}

/// Mean and std of the actor's Gaussian in the single context: μ from Evaluate, σ from the state.
WeightedMoments actor_moments(Run& run) {
  auto gen = at::detail::createCPUGenerator(1);
  const double mu = run.algorithm->act(context_observations(0, 1, 1), ActOptions{}, gen).item<double>();
  return {mu, std::exp(run.algorithm->state().at("log_std").item<double>())};
}

// T1, oracle critic (A = r − V_τ analytic, unimodal context: μ = N(0, 0.35²) on [−1, 1], r = a): the AWR
// actor's mean converges to m* = Σ w a / Σ w of the data with w = min(exp(β·A), 100), and the learned
// σ to σ*. β = 10 is where the clip matters (without it m* would be ≈ β·0.35² = 1.2 → near the edge).
TEST(Iql, T1OracleCriticMeanIsClippedExponentialWeightedMean) {
  for (const double beta : {3.0, 10.0}) {
    const std::string keys = "alpha = " + std::to_string(beta) + "\nstd = \"learned\"\nlog_std_lr = 1e-3\n";
    const std::string toml = pipeline(keys, "oracle", 1, "unimodal") + "\n";
    dipole::Run run = train_two_stage(toml, "iql-t1", {"critic.expectile=0.9"}, 3000, 1500,
                                      {"actor.lr=1e-4", "algorithm.log_std_lr=1e-4"});
    const auto target = weighted_moments(run, beta, 0.9, 200000);
    const auto got = actor_moments(run);
    std::printf("beta %.0f: mu %.4f (m* %.4f), sigma %.4f (sigma* %.4f)\n", beta, got.mean, target.mean,
                got.stddev, target.stddev);
    EXPECT_NEAR(got.mean, target.mean, 0.02) << "beta " << beta;
    EXPECT_NEAR(got.stddev, target.stddev, 0.02) << "beta " << beta;
  }
}

// T1, learned critic (the whole agent): V approaches the τ-expectile of r under μ and, at β = 10, the
// actor's mean follows the τ dependence of m* (τ 0.9 vs 0.7 differ through the weight clip only).
TEST(Iql, T1LearnedCriticFollowsExpectileAndClip) {
  const auto context = bandit::make_contexts("unimodal", 1)[0];
  const auto grid = bandit::make_grid(4000);
  std::map<double, double> means;
  for (const double tau : {0.7, 0.9}) {
    dipole::Run run = train_two_stage(pipeline("alpha = 10.0\n", "iql", 1, "unimodal"), "iql-t1-learned",
                                      {"critic.expectile=" + std::to_string(tau)}, 3000, 1000,
                                      {"actor.lr=1e-4", "critic.lr=1e-4"});
    const double v_true = bandit::expectile_value(context, grid, tau);
    const auto state = run.algorithm->state();
    const auto v = network(state, "critic.v.", 1, 1, NetworkRole::Critic);
    at::NoGradGuard no_grad;
    const double v_learned = v.forward(at::ones({1, 1})).item<double>();
    const auto target = weighted_moments(run, 10.0, tau, 200000);
    const double mu = actor_moments(run).mean;
    means[tau] = mu;
    std::printf("tau %.1f: V %.4f (expectile %.4f), mu %.4f (m* %.4f)\n", tau, v_learned, v_true, mu,
                target.mean);
    EXPECT_NEAR(v_learned, v_true, 0.02) << "tau " << tau;
    EXPECT_NEAR(mu, target.mean, 0.03) << "tau " << tau;
  }
  EXPECT_GT(means[0.9] - means[0.7], 0.05);
}

}  // namespace
}  // namespace dipole::learning
