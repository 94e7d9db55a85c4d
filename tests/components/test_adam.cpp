// Adam against hand-computed values (algorithms.md §1.7) and its checkpoint round trip.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <dipole/core/adam.hpp>

#include "components/test_util.hpp"

namespace dipole {
namespace {

at::Tensor param(std::vector<float> values) {
  return at::tensor(values).requires_grad_(true);
}

void set_grad(const at::Tensor& p, std::vector<float> values) {
  p.mutable_grad() = at::tensor(values);
}

TEST(Adam, TwoStepsMatchHandComputedValues) {
  auto p = param({1.0f, -2.0f});
  AdamConfig config;
  config.lr = 0.1;
  Adam adam({p}, config);
  set_grad(p, {0.5f, -1.0f});
  adam.step();
  // Step 1: m̂ = g, v̂ = g², so the move is lr·g/(|g| + ε) ≈ lr·sign(g).
  EXPECT_NEAR(p[0].item<float>(), 0.900000002, 1e-6);
  EXPECT_NEAR(p[1].item<float>(), -1.900000001, 1e-6);
  set_grad(p, {0.1f, 0.3f});
  adam.step();
  // Step 2 by hand (python, double): m = 0.09·g1 + 0.1·g2, v = 0.000999·g1² + 0.001·g2²,
  // p −= 0.1·(m/0.19)/(√(v/0.001999) + 1e-8).
  EXPECT_NEAR(p[0].item<float>(), 0.8196959063846518, 2e-6);
  EXPECT_NEAR(p[1].item<float>(), -1.8572151424292265, 2e-6);
  EXPECT_EQ(adam.steps(), 2);
}

TEST(Adam, ZeroGradZeroesInPlaceAndMissingGradientIsZero) {
  auto p = param({1.0f});
  auto q = param({5.0f});
  Adam adam({p, q}, AdamConfig{});
  set_grad(p, {2.0f});
  adam.step();  // q has no gradient: treated as zero, so it does not move on the first step
  EXPECT_EQ(q.item<float>(), 5.0f);
  EXPECT_LT(p.item<float>(), 1.0f);
  const void* storage = p.grad().data_ptr();
  adam.zero_grad();
  EXPECT_EQ(p.grad().item<float>(), 0.0f);
  EXPECT_EQ(p.grad().data_ptr(), storage);
  const float before = p.item<float>();
  adam.step();  // zero gradient but non-zero first moment: p keeps moving (optax semantics)
  EXPECT_LT(p.item<float>(), before);
}

TEST(Adam, StateRoundTripContinuesBitIdentically) {
  auto gen = testing::generator(3);
  auto a = at::randn({4, 3}, gen).requires_grad_(true);
  auto b = at::randn({3}, gen).requires_grad_(true);
  Adam first({a, b}, AdamConfig{});
  auto grads = [&](int i) {
    auto g = testing::generator(100 + i);
    return std::make_pair(at::randn({4, 3}, g), at::randn({3}, g));
  };
  for (int i = 0; i < 3; ++i) {
    auto [ga, gb] = grads(i);
    a.mutable_grad() = ga;
    b.mutable_grad() = gb;
    first.step();
  }
  auto state = first.state("opt.");
  ASSERT_EQ(state.count("opt.step"), 1u);
  EXPECT_EQ(state.at("opt.step").item<std::int64_t>(), 3);
  ASSERT_EQ(state.count("opt.exp_avg.1"), 1u);
  ASSERT_EQ(state.count("opt.exp_avg_sq.0"), 1u);

  auto a2 = a.detach().clone().requires_grad_(true);
  auto b2 = b.detach().clone().requires_grad_(true);
  Adam second({a2, b2}, AdamConfig{});
  second.load_state(state, "opt.");
  EXPECT_EQ(second.steps(), 3);
  for (int i = 3; i < 5; ++i) {
    auto [ga, gb] = grads(i);
    a.mutable_grad() = ga;
    b.mutable_grad() = gb;
    a2.mutable_grad() = ga.clone();
    b2.mutable_grad() = gb.clone();
    first.step();
    second.step();
  }
  EXPECT_TRUE(at::equal(a, a2));
  EXPECT_TRUE(at::equal(b, b2));
}

TEST(Adam, LoadStateNamesMissingOrMisshapenEntries) {
  auto a = at::zeros({2}).requires_grad_(true);
  Adam adam({a}, AdamConfig{});
  auto state = adam.state("opt.");
  state.erase("opt.exp_avg_sq.0");
  try {
    adam.load_state(state, "opt.");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("opt.exp_avg_sq.0"), std::string::npos) << e.what();
  }
  state = adam.state("opt.");
  state["opt.exp_avg.0"] = at::zeros({3});
  EXPECT_THROW(adam.load_state(state, "opt."), DataError);
}

}  // namespace
}  // namespace dipole
