// Samplers (docs/algorithms.md, "Samplers", "Random draws and reproducibility", "Euler sampling and
// guidance").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/sampling.hpp>

#include "components/fake_critic.hpp"
#include "components/test_util.hpp"
#include "flow_mlp/flow_mlp.hpp"
#include "samplers/samplers.hpp"

namespace dipole {
namespace {

using namespace plugins;

constexpr std::int64_t kObs = 3, kAct = 2;

std::unique_ptr<FlowMlp> ensemble(std::int64_t members = 2, std::int64_t n_labels = 0) {
  auto params = testing::params_for(FlowMlp::schema(), {{"hidden_dims", std::vector<std::int64_t>{32, 32}}});
  auto ctx = testing::context(kObs, kAct, 42);
  ctx.requirements = {{"members", members}, {"n_labels", n_labels}};
  return std::make_unique<FlowMlp>(params, ctx);
}

template <class T>
std::shared_ptr<T> sampler(const std::map<std::string, ParamValue>& overrides = {}) {
  return std::make_shared<T>(testing::params_for(T::schema(), overrides), testing::context(kObs, kAct));
}

at::Tensor observations(std::int64_t n, std::uint64_t seed = 9) {
  auto gen = testing::generator(seed);
  return at::rand({n, kObs}, gen) * 2 - 1;
}

TEST(EulerSampler, DrawsOneNoiseTensorAndIntegrates) {
  auto d = ensemble();
  auto field = ensemble_field(*d, kAct);
  auto obs = observations(5);
  auto euler = sampler<EulerSampler>({{"steps", std::int64_t{7}}});
  auto g1 = testing::generator(1);
  auto actions = euler->sample(obs, field, nullptr, {}, g1);
  auto g2 = testing::generator(1);
  auto z = at::randn({5, kAct}, g2);
  auto ref = euler_integrate(z, 7, [&](const at::Tensor& x, const at::Tensor& t) {
    at::NoGradGuard no_grad;
    return d->forward_member(0, obs, x, t, at::Tensor());
  });
  EXPECT_TRUE(at::equal(actions, ref));
  EXPECT_LE(actions.abs().max().item<float>(), 1.0f);
  EXPECT_FALSE(actions.requires_grad());
  EXPECT_EQ(euler->defaults().steps, 7);
  ActOptions options;
  options.steps = 3;
  auto g3 = testing::generator(1);
  auto three = euler->sample(obs, field, nullptr, options, g3);
  auto ref3 = euler_integrate(z, 3, [&](const at::Tensor& x, const at::Tensor& t) {
    at::NoGradGuard no_grad;
    return d->forward_member(0, obs, x, t, at::Tensor());
  });
  EXPECT_TRUE(at::equal(three, ref3));
}

// docs/algorithms.md, "Euler sampling and guidance"
TEST(GuidedEuler, OmegaZeroEqualsPlainEulerOnMemberZero) {
  auto d = ensemble();
  auto obs = observations(6);
  // Both paths run the same ensemble forward: the guided sampler combines rows 0 and 1 with
  // (1, −0); the plain sampler takes row 0. Bit-for-bit equal.
  auto full = ensemble_field(*d, kAct);
  VelocityField velocity_only = full;
  velocity_only.positive_only = nullptr;
  auto guided = sampler<GuidedEulerSampler>({{"omega", 0.0}, {"skip_negative_at_zero", false}});
  auto euler = sampler<EulerSampler>();
  auto g1 = testing::generator(3), g2 = testing::generator(3);
  auto a_guided = guided->sample(obs, full, nullptr, {}, g1);
  auto a_plain = euler->sample(obs, velocity_only, nullptr, {}, g2);
  EXPECT_TRUE(at::equal(a_guided, a_plain));
  // Skipping member 1 runs member 0 through a different kernel: equal to 1e-5.
  auto skipping = sampler<GuidedEulerSampler>({{"omega", 0.0}});
  auto g3 = testing::generator(3);
  EXPECT_LT(testing::max_abs_diff(skipping->sample(obs, full, nullptr, {}, g3), a_guided), 1e-5);
  // ω = −1 samples v⁻ alone.
  ActOptions minus_one;
  minus_one.omega = -1.0;
  auto g4 = testing::generator(3), g5 = testing::generator(3);
  auto a_neg = guided->sample(obs, full, nullptr, minus_one, g4);
  VelocityField member_one = full;
  member_one.positive_only = [&](const at::Tensor& s, const at::Tensor& x, const at::Tensor& t) {
    return d->forward(s, x, t, at::Tensor())[1];
  };
  EXPECT_TRUE(at::equal(a_neg, euler->sample(obs, member_one, nullptr, {}, g5)));
}

TEST(GuidedEuler, CombinesVelocitiesAtEveryStepNotActions) {
  // v⁺ = 1 for t < 0.5 then 0; v⁻ = 0 then 1; N = 4, z = 0. Per step v = (1 + ω)v⁺ − ωv⁻:
  // two steps of (1 + ω)/4 then two of −ω/4 → 0.5·(1 + ω) − 0.5·ω = 0.8 − 0.3 at ω = 0.6.
  VelocityField field;
  field.action_dim = 1;
  field.velocity = [](const at::Tensor&, const at::Tensor& x, const at::Tensor& t) {
    auto early = (t < 0.5).to(at::kFloat).expand_as(x);
    return at::stack({early, 1 - early});
  };
  auto obs = at::zeros({3, kObs});
  auto guided =
      sampler<GuidedEulerSampler>({{"omega", 0.6}, {"noise_scale", 0.0}, {"steps", std::int64_t{4}}});
  auto gen = testing::generator(0);
  auto a = guided->sample(obs, field, nullptr, {}, gen);
  EXPECT_NEAR(a[0][0].item<float>(), 0.8 - 0.3, 1e-6);
  EXPECT_EQ(guided->defaults().omega, 0.6);
  VelocityField one_row;
  one_row.action_dim = 1;
  one_row.velocity = [](const at::Tensor&, const at::Tensor& x, const at::Tensor&) { return x.unsqueeze(0); };
  auto g = testing::generator(0);
  EXPECT_THROW(guided->sample(obs, one_row, nullptr, {}, g), ConfigError);
}

TEST(GuidedEuler, LabelFieldEvaluatesBothLabelsInOneForward) {
  auto d = ensemble(1, 3);
  auto field = label_field(*d, kAct, 2, 0);
  auto obs = observations(4);
  auto gen = testing::generator(5);
  auto x = at::randn({4, kAct}, gen), t = at::rand({4, 1}, gen);
  at::NoGradGuard no_grad;
  auto v = field.velocity(obs, x, t);
  ASSERT_EQ(v.sizes(), (at::IntArrayRef{2, 4, kAct}));
  auto pos = d->forward_member(0, obs, x, t, at::full({4}, 2, at::kLong));
  auto neg = d->forward_member(0, obs, x, t, at::full({4}, 0, at::kLong));
  EXPECT_LT(testing::max_abs_diff(v[0], pos), 1e-6);
  EXPECT_LT(testing::max_abs_diff(v[1], neg), 1e-6);
  EXPECT_TRUE(at::equal(field.positive_only(obs, x, t), pos));
}

TEST(BestOfN, BestOfOneEqualsTheInnerSampler) {  // docs/algorithms.md, "Samplers"
  auto d = ensemble();
  auto field = ensemble_field(*d, kAct);
  auto obs = observations(5);
  testing::NearestCritic critic(kAct);
  for (auto omega : {0.0, 1.5}) {
    auto inner = sampler<GuidedEulerSampler>({{"omega", omega}});
    BestOfNSampler best(inner, 1);
    auto g1 = testing::generator(8), g2 = testing::generator(8);
    EXPECT_TRUE(
        at::equal(best.sample(obs, field, &critic, {}, g1), inner->sample(obs, field, nullptr, {}, g2)));
  }
}

TEST(BestOfN, PicksTheNearestCandidatePerObservation) {  // docs/algorithms.md, "Samplers"
  auto d = ensemble();
  auto field = ensemble_field(*d, kAct);
  const std::int64_t n = 4, nc = 16;
  auto obs = observations(n, 21);  // a°(s) = s[:, :2] differs per observation
  testing::NearestCritic critic(kAct);
  auto inner = sampler<GuidedEulerSampler>({{"omega", 1.0}});
  BestOfNSampler best(inner, nc);
  auto g1 = testing::generator(13);
  auto chosen = best.sample(obs, field, &critic, {}, g1);
  // The candidates: the inner sampler on the observations repeated N_c times, one noise draw.
  auto g2 = testing::generator(13);
  auto candidates = inner->sample(obs.repeat_interleave(nc, 0), field, nullptr, {}, g2).view({n, nc, kAct});
  for (std::int64_t i = 0; i < n; ++i) {
    auto dist = (candidates[i] - obs[i].narrow(0, 0, kAct)).pow(2).sum(-1);  // [N_c]
    const auto best_index = dist.argmin().item<std::int64_t>();
    EXPECT_TRUE(at::equal(chosen[i], candidates[i][best_index])) << i;
    EXPECT_GE(-dist.min().item<float>(), -dist[0].item<float>());  // never worse than candidate 0
  }
  // Per observation, not a global argmax: the rows differ.
  EXPECT_FALSE(at::equal(chosen[0], chosen[1]));
  // Run-time override of N_c, and the reported defaults.
  ActOptions options;
  options.num_candidates = 1;
  auto g3 = testing::generator(13), g4 = testing::generator(13);
  EXPECT_TRUE(
      at::equal(best.sample(obs, field, &critic, options, g3), inner->sample(obs, field, nullptr, {}, g4)));
  auto defaults = best.defaults();
  EXPECT_EQ(defaults.num_candidates, nc);
  EXPECT_EQ(defaults.omega, 1.0);
  EXPECT_EQ(defaults.steps, 10);
}

TEST(BestOfN, BuildsItsInnerSamplerAndNeedsACritic) {
  testing::FakeBuilder builder;
  builder.factories["sampler.inner"] = [](const BuildContext& ctx) -> std::shared_ptr<Component> {
    return std::make_shared<EulerSampler>(
        testing::params_for(EulerSampler::schema(), {{"steps", std::int64_t{4}}}), ctx);
  };
  auto ctx = testing::context(kObs, kAct);
  ctx.section = "sampler";
  ctx.builder = &builder;
  BestOfNSampler best(testing::params_for(BestOfNSampler::schema(), {{"num_candidates", std::int64_t{3}}}),
                      ctx);
  EXPECT_EQ(best.defaults().steps, 4);
  EXPECT_EQ(best.defaults().num_candidates, 3);
  auto d = ensemble();
  auto field = ensemble_field(*d, kAct);
  auto gen = testing::generator(0);
  try {
    best.sample(observations(2), field, nullptr, {}, gen);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("critic"), std::string::npos);
  }
  ctx.builder = nullptr;
  EXPECT_THROW(BestOfNSampler(testing::params_for(BestOfNSampler::schema()), ctx), ConfigError);
}

TEST(DirectSampler, OneEvaluationOnFreshNoise) {
  auto params = testing::params_for(FlowMlp::schema(), {{"hidden_dims", std::vector<std::int64_t>{16}}});
  auto ctx = testing::context(kObs, kAct, 3);
  ctx.requirements = {{"time_input", 0}, {"noise_input", 1}};  // noise of the action's width kAct
  FlowMlp policy(params, ctx);
  auto field = direct_field(policy, kAct);
  auto obs = observations(6);
  auto direct = sampler<DirectSampler>();
  auto g1 = testing::generator(2), g2 = testing::generator(2);
  auto a = direct->sample(obs, field, nullptr, {}, g1);
  auto z = at::randn({6, kAct}, g2);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(a, policy.forward_member(0, obs, z, at::Tensor(), at::Tensor()).clamp(-1, 1)));
  // noise_scale = 0: the deterministic f(s, 0).
  auto deterministic = sampler<DirectSampler>({{"noise_scale", 0.0}});
  auto g3 = testing::generator(77);
  auto a0 = deterministic->sample(obs, field, nullptr, {}, g3);
  EXPECT_TRUE(at::equal(
      a0, policy.forward_member(0, obs, at::zeros({6, kAct}), at::Tensor(), at::Tensor()).clamp(-1, 1)));
}

}  // namespace
}  // namespace dipole
