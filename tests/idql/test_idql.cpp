// IDQL (docs/algorithms.md, "IDQL"): the VP schedule, every loss term against a hand computation on a
// tiny fixed batch (DDPM ε-loss, weighted objectives, the flow ablation), the ε-network, AdamW with the
// cosine lr, the DDPM sampler (hand-computed trajectory; exact ε of a point mass returns the point),
// acting at evaluation vs exploration, the EMA copy, checkpoint/resume bit-identical, and the
// known-answer test T4: expectile resampling among N candidates, exact for finite N.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <dipole/core/checkpoint.hpp>
#include <dipole/sdk/sampling.hpp>

#include "components/test_util.hpp"
#include "idql/ddpm.hpp"
#include "idql/ddpm_mlp.hpp"
#include "learning/learning_util.hpp"
#include "samplers/samplers.hpp"
#include "support/exact_bandit.hpp"
#include "support/presets.hpp"

namespace dipole::testing {
namespace {

using learning::make_run;
using plugins::vp_schedule;

// ---- schedule ------------------------------------------------------------------------------------

TEST(IdqlSchedule, VpScheduleOfFiveSteps) {
  const auto s = vp_schedule(5);
  const double alpha[] = {0.8041, 0.5412, 0.3642, 0.2451, 0.1650};
  const double alpha_bar[] = {0.80413, 0.43518, 0.15850, 0.03885, 0.00641};
  ASSERT_EQ(s.steps(), 5);
  for (int n = 0; n < 5; ++n) {
    EXPECT_NEAR(s.alpha[n], alpha[n], 5e-5) << n;
    EXPECT_NEAR(s.alpha_bar[n], alpha_bar[n], 5e-6) << n;
    EXPECT_DOUBLE_EQ(s.beta[n], 1.0 - s.alpha[n]);
  }
}

// ---- a tiny pipeline and an independent double-precision reference -------------------------------

const char* const kTiny = R"(
[trainer]
batch_size = 4
seed = 3

[dataset]
type = "bandit"
problem = "bimodal"
contexts = 2
size = 64

[algorithm]
type = "idql"
ema_rate = 0.25

[critic]
type = "iql"
hidden_dims = [5]
activation = "relu"
layer_norm = "none"
expectile = 0.7
discount = 0.9
advantage_critic = "target"
rs_critic = "target"

[denoiser]
type = "ddpm_mlp"
fourier_features = 2
time_hidden = 3
width = 4
blocks = 2
block_expansion = 2
dropout = 0.0
decay_steps = 10

[sampler]
type = "best_of_n"
num_candidates = 4

[sampler.inner]
type = "ddpm"
steps = 5

[explore_sampler]
type = "resample"
num_candidates = 4
expectile = 0.7

[explore_sampler.inner]
type = "ddpm"
steps = 5
)";

at::Tensor d(const at::Tensor& t) {
  return t.to(at::kDouble);
}

/// x [B, in] · W + b for a one-member layer stored at `prefix` (layers.<l>).
at::Tensor lin(const StateDict& s, const std::string& prefix, std::int64_t member, const at::Tensor& x) {
  return at::matmul(x, d(s.at(prefix + ".weight")[member])) + d(s.at(prefix + ".bias")[member][0]);
}

at::Tensor mish_ref(const at::Tensor& x) {
  return x * at::tanh(at::log1p(at::exp(x)));
}

/// One-hidden-layer ReLU MLP, member m: [B, in] → [B].
at::Tensor relu_mlp(const StateDict& s, const std::string& prefix, std::int64_t m, const at::Tensor& x) {
  return lin(s, prefix + "layers.1", m, at::relu(lin(s, prefix + "layers.0", m, x))).select(1, 0);
}

/// ε̂(s, x, n) of the ddpm_mlp stored at `prefix`, written out from its definition (README.md).
at::Tensor epsilon_reference(const StateDict& s, const std::string& prefix, const at::Tensor& obs,
                             const at::Tensor& x, const at::Tensor& n, std::int64_t blocks) {
  const auto f = at::matmul(d(n), d(s.at(prefix + "fourier")).t()) * (2 * M_PI);
  const auto code = lin(s, prefix + "time.layers.1", 0,
                        mish_ref(lin(s, prefix + "time.layers.0", 0, at::cat({at::cos(f), at::sin(f)}, 1))));
  auto h = lin(s, prefix + "input.layers.0", 0, at::cat({d(x), d(obs), code}, 1));
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::string p = prefix + "blocks." + std::to_string(b) + ".";
    const auto mean = h.mean(1, true);
    const auto var = (h - mean).pow(2).mean(1, true);
    auto u = (h - mean) / at::sqrt(var + 1e-6) * d(s.at(p + "ln_scale")) + d(s.at(p + "ln_bias"));
    u = lin(s, p + "outer.layers.0", 0, mish_ref(lin(s, p + "inner.layers.0", 0, u)));
    h = h + u;
  }
  return lin(s, prefix + "output.layers.0", 0, mish_ref(h));
}

double metric(const Metrics& metrics, const std::string& name) {
  for (const auto& [key, value] : metrics)
    if (key == name) return value;
  ADD_FAILURE() << "metric " << name << " missing";
  return NAN;
}

Batch tiny_batch() {
  Batch b;
  b.observations = at::tensor({1.f, 0.f, 0.f, 1.f, 1.f, 0.f, 0.3f, 0.7f}).view({4, 2});
  b.actions = at::tensor({-0.4f, 0.9f, 0.1f, -0.8f}).view({4, 1});
  b.rewards = at::tensor({0.5f, -1.0f, 0.25f, 2.0f});
  b.next_observations = at::tensor({0.f, 1.f, 1.f, 1.f, 0.5f, 0.5f, 1.f, 0.f}).view({4, 2});
  b.masks = at::tensor({1.f, 0.f, 1.f, 1.f});
  b.terminals = at::tensor({0.f, 1.f, 0.f, 0.f});
  return b;
}

/// The critic terms (iql, pre-update parameters) and A = min_j Q̄_j(s, a) − V(s), by hand.
struct CriticTerms {
  double value_loss = 0, q_loss = 0;
  at::Tensor advantage;
};

CriticTerms critic_reference(const StateDict& s, const Batch& batch, double tau, double gamma) {
  const auto sa = at::cat({d(batch.observations), d(batch.actions)}, 1);
  const auto qbar = at::min(relu_mlp(s, "critic.q_target.", 0, sa), relu_mlp(s, "critic.q_target.", 1, sa));
  const auto v = relu_mlp(s, "critic.v.", 0, d(batch.observations));
  const auto u = qbar - v;
  CriticTerms out;
  out.value_loss = (at::where(u.lt(0), 1 - tau, tau) * u * u).mean().item<double>();
  const auto y =
      d(batch.rewards) + gamma * d(batch.masks) * relu_mlp(s, "critic.v.", 0, d(batch.next_observations));
  for (std::int64_t j = 0; j < 2; ++j)
    out.q_loss += (relu_mlp(s, "critic.q.", j, sa) - y).pow(2).mean().item<double>();
  out.advantage = u;
  return out;
}

TEST(Idql, EveryLossTermEqualsTheHandComputation) {
  for (const std::string objective : {"bc", "soft_adv", "hard_adv", "exp_adv"}) {
    dipole::Run run = make_run(kTiny, "<idql tiny>", {"algorithm.actor_objective=\"" + objective + "\""});
    const StateDict s = run.algorithm->state();
    const Batch batch = tiny_batch();
    const CriticTerms critic = critic_reference(s, batch, 0.7, 0.9);

    // The update's draws, in the documented order: n ~ U{0..T−1} [B, 1], then ε ~ N(0, I) [B, d].
    auto gen = generator(11), replay = generator(11);
    const auto n = at::randint(0, 5, {4, 1}, replay, at::TensorOptions().dtype(at::kLong));
    const auto eps = at::randn({4, 1}, replay, at::kFloat);
    const auto schedule = vp_schedule(5);
    auto alpha_bar = at::empty({4, 1}, at::kDouble);
    for (int b = 0; b < 4; ++b) alpha_bar[b][0] = schedule.alpha_bar[n[b][0].item<std::int64_t>()];
    const auto x_n = at::sqrt(alpha_bar) * d(batch.actions) + at::sqrt(1 - alpha_bar) * d(eps);
    const auto eps_hat = epsilon_reference(s, "denoiser.", batch.observations, x_n, n.to(at::kDouble), 2);
    const auto per_sample = (eps_hat - d(eps)).pow(2).sum(1);
    const auto a = critic.advantage;
    at::Tensor w = at::ones_like(a);
    if (objective == "soft_adv") w = at::where(a.gt(0), 0.7, 0.3);
    if (objective == "hard_adv") w = a.ge(-0.01).to(at::kDouble);
    if (objective == "exp_adv") w = at::clamp_max(at::exp(3.0 * a), 100.0);
    const double eps_loss = (w * per_sample).mean().item<double>();

    const Metrics metrics = run.algorithm->update(batch, gen, true);
    EXPECT_NEAR(metric(metrics, "value/loss"), critic.value_loss, 1e-5 * (1 + critic.value_loss))
        << objective;
    EXPECT_NEAR(metric(metrics, "critic/loss"), critic.q_loss, 1e-5 * (1 + critic.q_loss)) << objective;
    EXPECT_NEAR(metric(metrics, "loss/epsilon"), eps_loss, 1e-5 * (1 + eps_loss)) << objective;
    EXPECT_NEAR(metric(metrics, "loss/total"), critic.value_loss + critic.q_loss + eps_loss,
                1e-5 * (1 + critic.q_loss + eps_loss))
        << objective;
    EXPECT_TRUE(at::equal(at::randn({3}, gen, at::kFloat), at::randn({3}, replay, at::kFloat))) << objective;
    std::printf("%-8s L_V %.6f  L_Q %.6f  L_eps %.6f  (weights %s)\n", objective.c_str(), critic.value_loss,
                critic.q_loss, eps_loss, objective == "bc" ? "1" : "from A");
  }
}

const char* const kFlowTiny = R"(
[trainer]
batch_size = 4
seed = 3

[dataset]
type = "bandit"
problem = "bimodal"
contexts = 2
size = 64

[algorithm]
type = "idql"
policy = "flow"
ema_rate = 0.0

[critic]
type = "iql"
hidden_dims = [5]
activation = "relu"
layer_norm = "none"
expectile = 0.7
discount = 0.9

[denoiser]
type = "flow_mlp"
hidden_dims = [5]
activation = "relu"

[sampler]
type = "best_of_n"
num_candidates = 4

[sampler.inner]
type = "euler"
steps = 3
)";

TEST(Idql, FlowAblationLossEqualsTheHandComputation) {
  // policy = "flow": the DDPM is replaced by IFQL's flow BC; draws z then t.
  dipole::Run run = make_run(kFlowTiny, "<idql flow>");
  const StateDict s = run.algorithm->state();
  EXPECT_EQ(s.count("denoiser_ema.net.layers.0.weight"), 0u);  // ema_rate = 0: no copy
  const Batch batch = tiny_batch();
  const CriticTerms critic = critic_reference(s, batch, 0.7, 0.9);
  auto gen = generator(12), replay = generator(12);
  const auto z = d(at::randn({4, 1}, replay, at::kFloat));
  const auto t = d(at::rand({4, 1}, replay, at::kFloat));
  const auto x_t = (1 - t) * z + t * d(batch.actions);
  const auto v = relu_mlp(s, "denoiser.net.", 0, at::cat({d(batch.observations), x_t, t}, 1));
  const double flow_loss = (v - (d(batch.actions) - z).select(1, 0)).pow(2).mean().item<double>();
  const Metrics metrics = run.algorithm->update(batch, gen, true);
  EXPECT_NEAR(metric(metrics, "loss/flow"), flow_loss, 1e-5 * (1 + flow_loss));
  EXPECT_NEAR(metric(metrics, "value/loss"), critic.value_loss, 1e-5 * (1 + critic.value_loss));
  EXPECT_NEAR(metric(metrics, "critic/loss"), critic.q_loss, 1e-5 * (1 + critic.q_loss));
}

TEST(Idql, SamplerStepsMustMatchTheTrainingSchedule) {
  EXPECT_THROW(make_run(kTiny, "<idql tiny>", {"sampler.inner.steps=4"}), ConfigError);
  EXPECT_THROW(make_run(kTiny, "<idql tiny>", {"algorithm.diffusion_steps=6"}), ConfigError);
  dipole::Run run = make_run(kTiny, "<idql tiny>");
  ActOptions wrong;
  wrong.steps = 3;
  auto gen = generator(1);
  EXPECT_THROW(run.algorithm->act(at::eye(2, at::kFloat), wrong, gen), ConfigError);
}

// ---- the ε-network and its optimiser -------------------------------------------------------------

Params ddpm_params(const std::map<std::string, ParamValue>& overrides) {
  return params_for(plugins::DdpmMlp::schema(), overrides);
}

TEST(DdpmMlp, DropoutOnlyWhileTrainingAndAdamWWithCosineLr) {
  const auto ctx = context(2, 1, 5);
  plugins::DdpmMlp net(ddpm_params({{"width", std::int64_t{8}},
                                    {"blocks", std::int64_t{1}},
                                    {"dropout", 0.5},
                                    {"decay_steps", std::int64_t{4}},
                                    {"weight_decay", 0.01},
                                    {"lr", 0.1}}),
                       ctx);
  const auto obs = at::ones({6, 2}), x = at::full({6, 1}, 0.3f), t = at::full({6, 1}, 2.0f);
  at::Tensor quiet1, quiet2;
  {
    at::NoGradGuard no_grad;
    quiet1 = net.forward_member(0, obs, x, t, at::Tensor());
    quiet2 = net.forward_member(0, obs, x, t, at::Tensor());
  }
  EXPECT_TRUE(at::equal(quiet1, quiet2));  // no dropout without autograd
  const auto noisy = net.forward_member(0, obs, x, t, at::Tensor());
  EXPECT_FALSE(at::allclose(noisy.detach(), quiet1));  // dropout while training
  EXPECT_EQ(net.forward(obs, x, t, at::Tensor()).sizes(), (std::vector<std::int64_t>{1, 6, 1}));

  // AdamW at step 0: m̂ = g, v̂ = g², so θ₁ = θ₀(1 − lr·λ) − lr·g/(|g| + ε); then lr follows the cosine.
  const auto params = net.parameters();
  std::vector<at::Tensor> before;
  for (const auto& p : params) before.push_back(p.detach().clone().to(at::kDouble));
  net.zero_grad();
  noisy.sum().backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : params)
    grads.push_back(p.grad().defined() ? d(p.grad()) : at::zeros_like(before.back()));
  EXPECT_DOUBLE_EQ(net.current_lr(), 0.1);
  net.step();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto expected = before[i] * (1 - 0.1 * 0.01) - 0.1 * grads[i] / (grads[i].abs() + 1e-8);
    EXPECT_LT(max_abs_diff(params[i], expected), 2e-6) << "parameter " << i;
  }
  const double cosine[] = {0.1 * 0.5 * (1 + std::cos(M_PI / 4)), 0.05,
                           0.1 * 0.5 * (1 + std::cos(3 * M_PI / 4)), 0.0, 0.0};
  for (double lr : cosine) {
    EXPECT_NEAR(net.current_lr(), lr, 1e-15);
    net.step();
  }
}

// ---- the DDPM sampler ----------------------------------------------------------------------------

TEST(DdpmSampler, TrajectoryEqualsTheHandComputation) {
  // ε̂(s, x, n) = 0.5·x + 0.1·n + s₀ (a known field); the sampler's draws: z, then ξ for n = 4 … 1.
  VelocityField field;
  field.action_dim = 2;
  field.positive_only = [](const at::Tensor& s, const at::Tensor& x, const at::Tensor& t) {
    return 0.5 * x + 0.1 * t + s.narrow(1, 0, 1);
  };
  const auto sampler =
      plugins::DdpmSampler(params_for(plugins::DdpmSampler::schema(), {{"temperature", 0.7}}), context(1, 2));
  const auto obs = at::tensor({0.2f, -0.1f, 0.0f}).view({3, 1});
  auto gen = generator(8), replay = generator(8);
  const auto a = sampler.sample(obs, field, nullptr, {}, gen);
  const auto s = vp_schedule(5);
  auto x = d(at::randn({3, 2}, replay, at::kFloat));
  for (int n = 4; n >= 0; --n) {
    const auto eps = 0.5 * x + 0.1 * n + d(obs);
    x = (x - s.beta[n] / std::sqrt(1 - s.alpha_bar[n]) * eps) / std::sqrt(s.alpha[n]);
    if (n > 0) x = x + 0.7 * std::sqrt(s.beta[n]) * d(at::randn({3, 2}, replay, at::kFloat));
    x = x.clamp(-1, 1);
  }
  EXPECT_LT(max_abs_diff(a, x), 1e-5);
  EXPECT_EQ(sampler.defaults().steps.value_or(0), 5);
}

TEST(DdpmSampler, TheExactEpsilonOfAPointMassReturnsThePoint) {
  // Data δ(a₀): the optimal ε̂(x, n) = (x − √ᾱ_n·a₀)/√(1 − ᾱ_n). The last step (n = 0, ᾱ₀ = α₀) then
  // maps any x to a₀ exactly, whatever the noise: a known answer for the update rule.
  const auto s = vp_schedule(5);
  const auto a0 = at::tensor({0.37, -0.62}, at::kDouble);
  VelocityField field;
  field.action_dim = 2;
  field.positive_only = [&](const at::Tensor&, const at::Tensor& x, const at::Tensor& t) {
    const auto n = t.to(at::kLong).view({-1});
    auto ab = at::empty({x.size(0), 1}, at::kDouble);
    for (std::int64_t i = 0; i < x.size(0); ++i) ab[i][0] = s.alpha_bar[n[i].item<std::int64_t>()];
    return ((d(x) - at::sqrt(ab) * a0) / at::sqrt(1 - ab)).to(at::kFloat);
  };
  const auto sampler = plugins::DdpmSampler(
      params_for(plugins::DdpmSampler::schema(), {{"clip_every_step", false}}), context(1, 2));
  auto gen = generator(3);
  const auto a = sampler.sample(at::zeros({50, 1}), field, nullptr, {}, gen);
  EXPECT_LT(max_abs_diff(a, a0.unsqueeze(0).expand({50, 2})), 2e-6);
}

// ---- acting, EMA, checkpoints --------------------------------------------------------------------

TEST(Idql, EvaluationUsesTheSamplerAndExplorationTheExploreSampler) {
  dipole::Run run = make_run(kTiny, "<idql tiny>");
  auto gen = generator(1);
  for (int i = 0; i < 3; ++i) run.algorithm->update(tiny_batch(), gen, false);
  const StateDict state = run.algorithm->state();
  // A pipeline whose [sampler] is the first one's [explore_sampler] (resample), and one without
  // [explore_sampler] at all.
  dipole::Run resample =
      make_run(kTiny, "<idql tiny>", {"sampler.type=\"resample\"", "sampler.expectile=0.7"});
  resample.algorithm->load_state(state);
  const auto obs = at::tensor({1.f, 0.f, 0.f, 1.f, 0.5f, 0.5f}).view({3, 2});
  ActOptions evaluate, explore;
  explore.mode = ActMode::Explore;
  auto g = [] { return generator(31); };
  auto g1 = g(), g2 = g(), g3 = g(), g4 = g();
  const auto a_explore = run.algorithm->act(obs, explore, g1);
  EXPECT_TRUE(bit_equal(a_explore, resample.algorithm->act(obs, evaluate, g2)));
  const auto a_eval = run.algorithm->act(obs, evaluate, g3);
  EXPECT_FALSE(at::equal(a_eval, a_explore));
  // Without [explore_sampler], exploration falls back to [sampler].
  const std::string tiny(kTiny);
  dipole::Run no_explore =
      make_run(tiny.substr(0, tiny.find("[explore_sampler]")), "<idql tiny, no explore_sampler>");
  no_explore.algorithm->load_state(state);
  EXPECT_TRUE(bit_equal(a_eval, no_explore.algorithm->act(obs, explore, g4)));
  EXPECT_EQ(run.algorithm->act_defaults().num_candidates.value_or(0), 4);
  EXPECT_EQ(run.algorithm->act_defaults().steps.value_or(0), 5);
}

TEST(Idql, TheEmaCopyFollowsTheTrainedNetworkAndIsWhatActs) {
  dipole::Run run = make_run(kTiny, "<idql tiny>");
  const StateDict s0 = run.algorithm->state();
  for (const auto& [key, value] : s0) {
    if (key.rfind("denoiser.", 0) == 0 && key.find("adam") == std::string::npos &&
        key != "denoiser.dropout_generator") {
      EXPECT_TRUE(at::equal(value, s0.at("denoiser_ema." + key.substr(9)))) << key;  // θ̄₀ = θ₀
    }
  }
  auto gen = generator(2);
  run.algorithm->update(tiny_batch(), gen, false);
  const StateDict s1 = run.algorithm->state();
  for (const char* key : {"input.layers.0.weight", "blocks.1.outer.layers.0.bias", "fourier"}) {
    const auto expected =
        0.75 * d(s0.at(std::string("denoiser_ema.") + key)) + 0.25 * d(s1.at(std::string("denoiser.") + key));
    EXPECT_LT(max_abs_diff(s1.at(std::string("denoiser_ema.") + key), expected), 1e-6) << key;
    EXPECT_FALSE(at::equal(s1.at(std::string("denoiser.") + key), s0.at(std::string("denoiser.") + key)))
        << key;
  }
  // Acting integrates the EMA network: a run whose trained network holds the EMA values and acts with
  // ema_rate = 0 gives the same actions.
  StateDict swapped;
  for (const auto& [key, value] : s1) {
    if (key.rfind("denoiser_ema.", 0) == 0) {
      swapped["denoiser." + key.substr(13)] = value;
    } else if (key.rfind("denoiser.", 0) != 0) {
      swapped[key] = value;
    }
  }
  dipole::Run plain = make_run(kTiny, "<idql tiny>", {"algorithm.ema_rate=0.0"});
  plain.algorithm->load_state(swapped);
  auto g1 = generator(6), g2 = generator(6);
  const auto obs = at::eye(2, at::kFloat);
  EXPECT_TRUE(bit_equal(run.algorithm->act(obs, {}, g1), plain.algorithm->act(obs, {}, g2)));
}

TEST(Idql, CheckpointResumeIsBitIdentical) {
  // Dropout on, so the denoiser's own generator must be restored too.
  const std::vector<std::string> cfg = {"trainer.batch_size=16", "denoiser.dropout=0.3"};
  dipole::Run straight = make_run(kTiny, "<idql tiny>", cfg);
  auto data_gen = generator(21), gen = generator(22);
  for (int i = 0; i < 3; ++i) straight.algorithm->update(straight.dataset->sample(16, data_gen), gen, false);
  const auto path = std::filesystem::temp_directory_path() / "dipole_test_idql_checkpoint.npz";
  TrainingState saved;
  saved.step = 3;
  saved.algorithm = straight.algorithm->state();
  saved.data_generator = data_gen.get_state();
  saved.algorithm_generator = gen.get_state();
  save_checkpoint(path.string(), saved);
  for (int i = 0; i < 4; ++i) straight.algorithm->update(straight.dataset->sample(16, data_gen), gen, false);

  dipole::Run resumed = make_run(kTiny, "<idql tiny>", cfg);
  const TrainingState loaded = load_checkpoint(path.string());
  std::filesystem::remove(path);
  resumed.algorithm->load_state(loaded.algorithm);
  auto data_gen2 = generator(0), gen2 = generator(0);
  data_gen2.set_state(loaded.data_generator);
  gen2.set_state(loaded.algorithm_generator);
  for (int i = 0; i < 4; ++i) resumed.algorithm->update(resumed.dataset->sample(16, data_gen2), gen2, false);
  const StateDict a = straight.algorithm->state(), b = resumed.algorithm->state();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, value] : a) EXPECT_TRUE(bit_equal(value, b.at(key))) << key;
  for (const char* key : {"denoiser.dropout_generator", "denoiser.adam.step", "denoiser_ema.fourier",
                          "critic.q_target.layers.0.weight", "critic.v_adam.step"})
    EXPECT_EQ(a.count(key), 1u) << key;
  ActOptions explore;
  explore.mode = ActMode::Explore;
  auto g1 = generator(4), g2 = generator(4);
  const auto obs = at::eye(2, at::kFloat);
  EXPECT_TRUE(bit_equal(straight.algorithm->act(obs, explore, g1), resumed.algorithm->act(obs, explore, g2)));
}

// ---- T4: expectile resampling, exact for finite N ------------------------------------------------

TEST(IdqlT4, ResamplingDistributionIsExactForFiniteN) {
  // Bimodal μ, Q = −2|a − 0.6|, V = the τ-expectile of Q under μ (docs/algorithms.md, IDQL, T4).
  const auto context = bandit::bimodal_context();
  const auto grid = bandit::make_grid(4000);
  const auto mu = bandit::behaviour_density(context, grid);
  const auto q = q_on_grid(grid);
  struct Row {
    double tau, value, p_plus;
    std::int64_t n;
    double expected;
  };
  const std::int64_t samples = 20000, bins = 20;
  for (const Row& row : {Row{0.7, -1.1430, 0.3873, 16, 0.5824}, Row{0.7, -1.1430, 0.3873, 64, 0.5926},
                         Row{0.9, -0.6679, 0.2981, 16, 0.7636}, Row{0.9, -0.6679, 0.2981, 64, 0.7863}}) {
    // The analytic pieces reproduce the reference figures.
    const double v = bandit::expectile(q, mu, grid, row.tau);
    EXPECT_NEAR(v, row.value, 2e-3);
    double p_plus = 0;
    std::vector<double> adv(q.size());
    for (std::size_t i = 0; i < q.size(); ++i) {
      adv[i] = q[i] - v;
      if (adv[i] > 0) p_plus += mu[i] * grid.width;
    }
    EXPECT_NEAR(p_plus, row.p_plus, 2e-3);
    const double exact = resample_positive_probability(p_plus, row.tau, row.n);
    EXPECT_NEAR(exact, row.expected, 2e-3);

    plugins::ResampleSampler resample(std::make_shared<ExactMixture>(context.behaviour), row.n, row.tau);
    KnownQ critic(false, v);
    VelocityField field;
    field.action_dim = 1;
    auto gen = generator(500 + row.n + static_cast<std::uint64_t>(row.tau * 10));
    const auto a = resample.sample(at::ones({samples, 1}), field, &critic, {}, gen);
    const double positive = critic.advantage(a, a).gt(0).to(at::kDouble).mean().item<double>();
    const double se = std::sqrt(exact * (1 - exact) / samples);
    EXPECT_NEAR(positive, exact, 4 * se) << "τ " << row.tau << " N " << row.n;
    // The density p_N against the histogram of the choices (sampling floor √(b/(2πn)), 2.5×).
    const auto density = resample_density(mu, adv, grid, row.tau, row.n, p_plus);
    EXPECT_NEAR(bandit::integral(density, grid), 1.0, 1e-6);
    const auto ad = a.to(at::kDouble).view({-1}).contiguous();
    const std::vector<double> actions(ad.data_ptr<double>(), ad.data_ptr<double>() + ad.numel());
    const double tv = bandit::total_variation(bandit::histogram(actions, bins),
                                              bandit::density_histogram(density, grid, bins));
    EXPECT_LT(tv, 2.5 * bandit::histogram_noise(bins, samples));
    std::printf("T4 τ=%.1f N=%lld: P(A>0) %.4f (exact %.4f, table %.4f)  TV %.4f\n", row.tau,
                static_cast<long long>(row.n), positive, exact, row.expected, tv);
  }
  // τ = 0.5: a uniform choice, i.e. behaviour cloning: P(A > 0) = p₊ at every N.
  const double v = bandit::expectile(q, mu, grid, 0.5);
  plugins::ResampleSampler uniform(std::make_shared<ExactMixture>(context.behaviour), 64, 0.5);
  KnownQ critic(false, v);
  VelocityField field;
  field.action_dim = 1;
  auto gen = generator(77);
  const auto a = uniform.sample(at::ones({samples, 1}), field, &critic, {}, gen);
  double p_plus = 0;
  for (std::size_t i = 0; i < q.size(); ++i)
    if (q[i] > v) p_plus += mu[i] * grid.width;
  const double positive = critic.advantage(a, a).gt(0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(positive, p_plus, 4 * std::sqrt(p_plus * (1 - p_plus) / samples));
  EXPECT_NEAR(resample_positive_probability(p_plus, 0.5, 64), p_plus, 1e-12);
}

}  // namespace
}  // namespace dipole::testing

namespace dipole::testing {
namespace {

TEST(IdqlPresets, EveryCellOfTheTablesHasAValidPreset) {
  const auto tasks = check_presets("idql");
  for (const char* task : {"humanoidmaze-medium-navigate", "humanoidmaze-large-navigate",
                           "antsoccer-arena-navigate", "cube-single-play", "cube-double-play", "scene-play"})
    EXPECT_EQ(tasks.count(task), 1u) << task;
  EXPECT_EQ(tasks.size(), 6u);
  for (const char* base : {"ogbench_idql.toml", "exorl_idql.toml", "idql_official.toml", "idql_flow.toml"})
    check_pipeline_file(std::string(DIPOLE_SOURCE_DIR) + "/configs/" + base, "idql");
}

}  // namespace
}  // namespace dipole::testing
