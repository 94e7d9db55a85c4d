// Critics `iql` and `td` (docs/algorithms.md, "Critics: expectile value, TD target, Polyak"): losses by hand,
// gradient isolation (docs/algorithms.md, "Gradient isolation", critic side), Polyak after the step (or
// before it: polyak_source, also for `rebrac_critic`; docs/algorithms.md, "Target networks"), state round
// trip, and a learning test with a known answer (docs/algorithms.md, "Critics: expectile value, TD
// target, Polyak").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/nn.hpp>
#include <dipole/sdk/rl_math.hpp>

#include "components/test_util.hpp"
#include "flow_mlp/flow_mlp.hpp"
#include "iql_critic/iql_critic.hpp"
#include "rebrac/rebrac_critic.hpp"
#include "td_critic/td_critic.hpp"

namespace dipole {
namespace {

using plugins::FlowMlp;
using plugins::IqlCritic;
using plugins::RebracCritic;
using plugins::TdCritic;

constexpr std::int64_t kObs = 4, kAct = 2;
const std::vector<std::int64_t> kSmall{32, 32};

template <class C>
std::unique_ptr<C> make(std::map<std::string, ParamValue> overrides = {}, std::uint64_t seed = 0,
                        std::int64_t obs_dim = kObs, std::int64_t action_dim = kAct) {
  if (!overrides.count("hidden_dims")) overrides["hidden_dims"] = kSmall;
  return std::make_unique<C>(testing::params_for(C::schema(), overrides, "critic", "test"),
                             testing::context(obs_dim, action_dim, seed));
}

Batch batch(std::int64_t n, std::uint64_t seed, bool terminal_half = true) {
  auto gen = testing::generator(seed);
  Batch b;
  b.observations = at::randn({n, kObs}, gen);
  b.actions = at::rand({n, kAct}, gen) * 2 - 1;
  b.rewards = at::randn({n}, gen);
  b.next_observations = at::randn({n, kObs}, gen);
  b.masks = terminal_half ? (at::arange(n) % 2).to(at::kFloat) : at::ones({n});
  b.terminals = 1 - b.masks;
  return b;
}

void expect_no_gradient(const std::vector<at::Tensor>& params, const char* what) {
  for (const auto& p : params) {
    if (p.grad().defined()) {
      EXPECT_EQ(p.grad().abs().max().item<float>(), 0.0f) << what;
    }
  }
}

std::vector<at::Tensor> grads_of(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  return out;
}

TEST(IqlCritic, LossesMatchTheirDefinition) {
  auto critic = make<IqlCritic>({{"expectile", 0.8}, {"discount", 0.9}});
  auto b = batch(8, 1);
  auto gen = testing::generator(0);
  auto out = critic->compute_loss(b, gen, true);
  at::Tensor expected_v, expected_q, y;
  {
    at::NoGradGuard no_grad;
    auto q_bar = std::get<0>(q_values(critic->q_target_network(), b.observations, b.actions).min(0));
    auto v = critic->v_network().forward(b.observations).view({-1});
    auto u = q_bar - v;
    expected_v = (at::where(u < 0, at::full_like(u, 0.2), at::full_like(u, 0.8)) * u * u).mean();
    y = b.rewards + 0.9 * b.masks * critic->v_network().forward(b.next_observations).view({-1});
    auto q = q_values(critic->q_network(), b.observations, b.actions);  // [2, B]
    expected_q = ((q - y) * (q - y)).sum(0).mean();                     // Σ_j, mean_b
    EXPECT_LT(testing::max_abs_diff(out.advantage, q_bar - v), 1e-6);
  }
  EXPECT_NEAR(out.loss.item<double>(), (expected_v + expected_q).item<double>(), 1e-5);
  std::map<std::string, double> metrics(out.metrics.begin(), out.metrics.end());
  EXPECT_NEAR(metrics.at("value/loss"), expected_v.item<double>(), 1e-6);
  EXPECT_NEAR(metrics.at("critic/loss"), expected_q.item<double>(), 1e-5);
  EXPECT_NEAR(metrics.at("critic/target_mean"), y.mean().item<double>(), 1e-6);
  for (const char* key : {"critic/q_mean", "critic/q_min", "critic/q_max", "value/v_mean"})
    EXPECT_EQ(metrics.count(key), 1u) << key;
  EXPECT_TRUE(critic->compute_loss(b, gen, false).metrics.empty());
  // Terminal transitions (m = 0): y = r exactly.
  auto terminal = b;
  terminal.masks = at::zeros({8});
  auto t_out = critic->compute_loss(terminal, gen, true);
  std::map<std::string, double> t_metrics(t_out.metrics.begin(), t_out.metrics.end());
  EXPECT_NEAR(t_metrics.at("critic/target_mean"), b.rewards.mean().item<double>(), 1e-6);
}

TEST(IqlCritic, EachLossReachesOnlyItsOwnNetwork) {
  auto critic = make<IqlCritic>();
  auto b = batch(8, 2);
  auto gen = testing::generator(0);
  critic->zero_grad();
  critic->compute_loss(b, gen, false).loss.backward();
  expect_no_gradient(critic->q_target_network().parameters(), "target Q");
  auto v_grads = grads_of(critic->v_network().parameters());
  auto q_grads = grads_of(critic->q_network().parameters());
  // L_V alone gives V's gradient: y = r + γmV(s′) carried none.
  for (auto& p : critic->v_network().parameters()) p.mutable_grad().zero_();
  {
    auto q_bar = std::get<0>(q_values(critic->q_target_network(), b.observations, b.actions).min(0)).detach();
    expectile_loss(q_bar - critic->value(b.observations), 0.9).mean().backward();
  }
  auto v_only = grads_of(critic->v_network().parameters());
  for (std::size_t i = 0; i < v_grads.size(); ++i)
    EXPECT_LT(testing::max_abs_diff(v_grads[i], v_only[i]), 1e-6);
  double q_norm = 0;
  for (auto& g : q_grads) q_norm += g.abs().sum().item<double>();
  EXPECT_GT(q_norm, 0.0);
  auto norms = critic->grad_norms();
  ASSERT_EQ(norms.size(), 2u);
  EXPECT_EQ(norms[0].first, "grad_norm/q");
  EXPECT_EQ(norms[1].first, "grad_norm/v");
}

// docs/algorithms.md, "Gradient isolation" (critic side)
TEST(IqlCritic, DenoiserBackwardLeavesCriticGradientsZero) {
  auto critic = make<IqlCritic>();
  auto params = testing::params_for(FlowMlp::schema(), {{"hidden_dims", kSmall}});
  auto ctx = testing::context(kObs, kAct, 5);
  ctx.requirements = {{"members", 2}};
  FlowMlp denoiser(params, ctx);
  auto b = batch(16, 3);
  auto gen = testing::generator(0);
  critic->zero_grad();
  denoiser.zero_grad();
  auto critic_loss = critic->compute_loss(b, gen, false);
  auto weights = sigmoid_weights(critic_loss.advantage, 3.0, 0.0);  // [2, B], constants
  auto flow = flow_sample(b.actions, gen);
  auto v = denoiser.forward(b.observations, flow.x_t, flow.t, at::Tensor());
  auto denoiser_loss = weighted_flow_loss(flow_error(v, flow.target), weights).sum();
  // Also the advantage() entry point and the actor-facing q() (FQL's Q term through the actions).
  auto a = b.actions.clone().requires_grad_(true);
  auto q_term = critic->q(b.observations, a).mean() + critic->advantage(b.observations, b.actions).sum();
  (denoiser_loss + q_term).backward();
  expect_no_gradient(critic->q_network().parameters(), "Q");
  expect_no_gradient(critic->v_network().parameters(), "V");
  expect_no_gradient(critic->q_target_network().parameters(), "target Q");
  ASSERT_TRUE(a.grad().defined());
  EXPECT_GT(a.grad().abs().max().item<float>(), 0.0f);
  EXPECT_GT(denoiser.parameters()[0].grad().abs().max().item<float>(), 0.0f);
  // Summed with the critic loss, the critic's gradients are those of its own loss alone.
  critic->zero_grad();
  critic->compute_loss(b, gen, false).loss.backward();
  auto alone = grads_of(critic->q_network().parameters());
  critic->zero_grad();
  denoiser.zero_grad();
  auto again = critic->compute_loss(b, gen, false);
  auto v2 = denoiser.forward(b.observations, flow.x_t, flow.t, at::Tensor());
  (again.loss +
   weighted_flow_loss(flow_error(v2, flow.target), sigmoid_weights(again.advantage, 3.0, 0.0)).sum())
      .backward();
  auto joint = grads_of(critic->q_network().parameters());
  for (std::size_t i = 0; i < alone.size(); ++i) EXPECT_TRUE(at::equal(alone[i], joint[i]));
}

TEST(IqlCritic, StepIsAdamThenPolyakFromThePostStepQ) {
  auto critic = make<IqlCritic>({{"polyak", 0.25}});
  auto b = batch(8, 4);
  auto gen = testing::generator(0);
  // Train a few steps so that the target differs from Q, then check one step precisely.
  for (int i = 0; i < 3; ++i) {
    critic->zero_grad();
    critic->compute_loss(b, gen, false).loss.backward();
    critic->step();
  }
  std::vector<at::Tensor> target_before;
  for (auto& p : critic->q_target_network().parameters()) target_before.push_back(p.clone());
  critic->zero_grad();
  critic->compute_loss(b, gen, false).loss.backward();
  critic->step();
  auto q_after = critic->q_network().parameters();
  auto target_after = critic->q_target_network().parameters();
  for (std::size_t i = 0; i < q_after.size(); ++i) {
    auto expected = 0.75 * target_before[i] + 0.25 * q_after[i].detach();
    EXPECT_LT(testing::max_abs_diff(target_after[i], expected), 1e-6);
  }
  EXPECT_GT(testing::max_abs_diff(target_after[0], q_after[0].detach()), 1e-5);
}

/// Entries of `state` under `prefix` (the parameters of one network), by key.
std::map<std::string, at::Tensor> network_state(const StateDict& state, const std::string& prefix) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [key, value] : state)
    if (key.rfind(prefix, 0) == 0) out[key.substr(prefix.size())] = value;
  return out;
}

// polyak_source (docs/algorithms.md, "Target networks"): one step from (θ̄₀, θ₀) to θ₁ gives
// θ̄₁ = (1 − τ)·θ̄₀ + τ·θ₀ with pre_step and (1 − τ)·θ̄₀ + τ·θ₁ with post_step (exactly θ₀ resp. θ₁ at
// τ = 1). Two warm-up steps first, so that θ̄₀ ≠ θ₀ (except post_step at τ = 1).
template <class C>
void expect_polyak_source(const char* name) {
  for (const std::string source : {"pre_step", "post_step"}) {
    for (const double tau : {0.25, 1.0}) {
      SCOPED_TRACE(std::string(name) + " " + source + " tau " + std::to_string(tau));
      auto critic = make<C>({{"polyak", tau}, {"polyak_source", source}, {"lr", 1e-2}});
      auto b = batch(8, 4);
      b.next_actions = b.actions.flip({0}).contiguous();  // a′ for td and rebrac_critic
      auto gen = testing::generator(0);
      auto one_step = [&] {
        critic->zero_grad();
        critic->compute_loss(b, gen, false).loss.backward();
        critic->step();
      };
      one_step();
      one_step();
      const auto before = critic->state();
      one_step();
      const auto after = critic->state();
      const auto target0 = network_state(before, "q_target."), online0 = network_state(before, "q.");
      const auto target1 = network_state(after, "q_target."), online1 = network_state(after, "q.");
      ASSERT_FALSE(target0.empty());
      ASSERT_EQ(target0.size(), online0.size());
      const bool pre = source == "pre_step";
      double moved = 0.0;  // how far θ₁ is from θ₀: the two sources must be told apart
      for (const auto& [key, t0] : target0) {
        const auto& from = pre ? online0.at(key) : online1.at(key);
        const auto& t1 = target1.at(key);
        if (tau == 1.0) {
          EXPECT_TRUE(testing::bit_equal(t1, from)) << key;
        } else {
          const auto expected = (1.0 - tau) * t0.to(at::kDouble) + tau * from.to(at::kDouble);
          EXPECT_LT(testing::max_abs_diff(t1, expected), 1e-6) << key;
        }
        moved = std::max(moved, testing::max_abs_diff(online1.at(key), online0.at(key)));
      }
      EXPECT_GT(moved, 1e-4);
      if (pre || tau < 1.0) {  // (post_step at τ = 1 copies θ every step)
        EXPECT_FALSE(testing::bit_equal(target0.at("layers.0.weight"), online0.at("layers.0.weight")));
      }
    }
  }
}

TEST(Critics, PolyakSourcePreStepBlendsFromTheParametersBeforeTheStep) {
  expect_polyak_source<IqlCritic>("iql");
  expect_polyak_source<TdCritic>("td");
  expect_polyak_source<RebracCritic>("rebrac_critic");
}

TEST(IqlCritic, AdvantageAndScoreUseTheConfiguredNetworks) {
  auto b = batch(8, 5);
  auto gen = testing::generator(0);
  for (bool target_adv : {true, false}) {
    auto critic = make<IqlCritic>({{"advantage_critic", std::string(target_adv ? "target" : "online")},
                                   {"rs_critic", std::string(target_adv ? "online" : "target")},
                                   {"polyak", 0.5}});
    critic->zero_grad();
    critic->compute_loss(b, gen, false).loss.backward();
    critic->step();  // now Q and Q̄ differ
    at::NoGradGuard no_grad;
    auto online = std::get<0>(q_values(critic->q_network(), b.observations, b.actions).min(0));
    auto target = std::get<0>(q_values(critic->q_target_network(), b.observations, b.actions).min(0));
    ASSERT_GT(testing::max_abs_diff(online, target), 1e-6);
    auto v = critic->value(b.observations);
    EXPECT_LT(testing::max_abs_diff(critic->advantage(b.observations, b.actions),
                                    (target_adv ? target : online) - v),
              1e-6);
    EXPECT_LT(testing::max_abs_diff(critic->compute_loss(b, gen, false).advantage,
                                    (target_adv ? target : online) - v),
              1e-6);
    EXPECT_LT(testing::max_abs_diff(critic->score(b.observations, b.actions), target_adv ? online : target),
              1e-6);
    EXPECT_EQ(critic->q(b.observations, b.actions).sizes(), (at::IntArrayRef{2, 8}));
  }
}

TEST(IqlCritic, StateRoundTripContinuesIdentically) {
  auto a = make<IqlCritic>({}, 1);
  auto c = make<IqlCritic>({}, 2);
  auto b = batch(8, 6);
  auto gen = testing::generator(0);
  auto train = [&](IqlCritic& critic) {
    critic.zero_grad();
    critic.compute_loss(b, gen, false).loss.backward();
    critic.step();
  };
  train(*a);
  auto state = a->state();
  for (const char* key : {"q.layers.0.weight", "q_target.layers.0.weight", "v.layers.0.weight", "q_adam.step",
                          "v_adam.exp_avg.0"})
    EXPECT_EQ(state.count(key), 1u) << key;
  c->load_state(state);
  train(*a);
  train(*c);
  EXPECT_TRUE(at::equal(a->q(b.observations, b.actions), c->q(b.observations, b.actions)));
  EXPECT_TRUE(at::equal(a->advantage(b.observations, b.actions), c->advantage(b.observations, b.actions)));
}

/// The τ-expectile by bisection on τ·Σ(q − V)₊ = (1 − τ)·Σ(V − q)₊.
double expectile_of(const std::vector<float>& q, double tau) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double v = 0.5 * (lo + hi);
    double f = 0;
    for (double qi : q) f += qi > v ? tau * (qi - v) : -(1 - tau) * (v - qi);
    (f > 0 ? lo : hi) = v;
  }
  return 0.5 * (lo + hi);
}

TEST(IqlCritic, LearnsTheExpectileOfFixedReturns) {  // learning test with a known answer
  // One state, eight actions with fixed one-step returns (m = 0, so Q(s, a) = r(a)); V must become
  // the τ-expectile of Q̄(s, a) over the behaviour actions.
  const std::vector<float> rewards{0.1f, 0.8f, 0.3f, 0.0f, 0.6f, 0.2f, 1.0f, 0.4f};
  const std::int64_t n = 8;
  Batch b;
  b.observations = at::ones({n, 1});
  b.actions = at::linspace(-0.875, 0.875, n).view({n, 1});
  b.rewards = at::tensor(rewards);
  b.next_observations = at::ones({n, 1});
  b.masks = at::zeros({n});
  b.terminals = at::ones({n});
  for (double tau : {0.5, 0.9}) {
    auto critic = make<IqlCritic>({{"expectile", tau}, {"lr", 3e-3}, {"polyak", 0.05}}, 3, 1, 1);
    auto gen = testing::generator(0);
    for (int step = 0; step < 600; ++step) {
      critic->zero_grad();
      critic->compute_loss(b, gen, false).loss.backward();
      critic->step();
    }
    at::NoGradGuard no_grad;
    auto q = critic->q(b.observations, b.actions);  // [2, n]
    EXPECT_LT(testing::max_abs_diff(q[0], b.rewards), 0.03) << tau;
    EXPECT_LT(testing::max_abs_diff(q[1], b.rewards), 0.03) << tau;
    const double v = critic->value(b.observations.narrow(0, 0, 1)).item<double>();
    EXPECT_NEAR(v, expectile_of(rewards, tau), 0.02) << tau;
  }
  // The two answers are far apart, so the test tells them apart.
  EXPECT_GT(expectile_of(rewards, 0.9) - expectile_of(rewards, 0.5), 0.2);
}

// ---- td -------------------------------------------------------------------------------------------

TEST(TdCritic, LossMatchesDefinitionForBothAggregations) {
  auto b = batch(8, 7);
  auto gen = testing::generator(0);
  auto next_gen = testing::generator(99);
  b.next_actions = at::randn({8, kAct}, next_gen) * 2;  // partly outside [−1, 1]: clipped inside
  for (const char* agg : {"mean", "min"}) {
    auto critic = make<TdCritic>({{"q_agg", std::string(agg)}, {"discount", 0.95}});
    auto out = critic->compute_loss(b, gen, true);
    at::NoGradGuard no_grad;
    auto next_q = q_values(critic->q_target_network(), b.next_observations, b.next_actions.clamp(-1, 1));
    auto agg_q = std::string(agg) == "min" ? std::get<0>(next_q.min(0)) : next_q.mean(0);
    auto y = b.rewards + 0.95 * b.masks * agg_q;
    auto q = q_values(critic->q_network(), b.observations, b.actions);
    EXPECT_NEAR(out.loss.item<double>(), (q - y).pow(2).mean().item<double>(), 1e-5) << agg;
    std::map<std::string, double> metrics(out.metrics.begin(), out.metrics.end());
    EXPECT_NEAR(metrics.at("critic/target_mean"), y.mean().item<double>(), 1e-6) << agg;
    EXPECT_FALSE(out.advantage.defined());
    EXPECT_LT(testing::max_abs_diff(critic->score(b.observations, b.actions), std::get<0>(q.min(0))), 1e-6);
  }
}

TEST(TdCritic, ClearErrorsWithoutNextActionsOrForAdvantages) {
  auto critic = make<TdCritic>();
  auto b = batch(4, 8);
  auto gen = testing::generator(0);
  try {
    critic->compute_loss(b, gen, false);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("next_actions"), std::string::npos) << e.what();
  }
  try {
    critic->advantage(b.observations, b.actions);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no V"), std::string::npos) << e.what();
  }
}

TEST(TdCritic, ActorQTermReachesTheActionsOnlyAndStepPolyaks) {  // docs/algorithms.md, "Gradient isolation"
                                                                 // (FQL actor, critic side)
  auto critic = make<TdCritic>({{"polyak", 1.0}});
  auto b = batch(6, 9);
  b.next_actions = b.actions;
  auto a = b.actions.clone().requires_grad_(true);
  critic->zero_grad();
  (-critic->q(b.observations, a).mean()).backward();
  expect_no_gradient(critic->q_network().parameters(), "Q");
  EXPECT_GT(a.grad().abs().max().item<float>(), 0.0f);
  auto gen = testing::generator(0);
  critic->zero_grad();
  critic->compute_loss(b, gen, false).loss.backward();
  critic->step();  // τ_p = 1: the target becomes the post-step Q exactly
  auto q = critic->q_network().parameters();
  auto t = critic->q_target_network().parameters();
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_TRUE(at::equal(q[i].detach(), t[i]));
  auto c = make<TdCritic>({}, 5);
  c->load_state(critic->state());
  EXPECT_TRUE(at::equal(c->q(b.observations, b.actions), critic->q(b.observations, b.actions)));
}

}  // namespace
}  // namespace dipole
