// Adam against hand-computed values (docs/algorithms.md, "Optimiser, batch and steps") and its checkpoint
// round trip.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <dipole/sdk/adam.hpp>

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

TEST(Adam, ZeroGradDropsGradientsAndMissingGradientIsZero) {
  auto p = param({1.0f});
  auto q = param({5.0f});
  Adam adam({p, q}, AdamConfig{});
  set_grad(p, {2.0f});
  adam.step();  // q has no gradient: treated as zero, so it does not move on the first step
  EXPECT_EQ(q.item<float>(), 5.0f);
  EXPECT_LT(p.item<float>(), 1.0f);
  adam.zero_grad();
  EXPECT_FALSE(p.grad().defined());  // the next backward stores its gradient, no accumulate pass
  EXPECT_FALSE(q.grad().defined());
  const float before = p.item<float>();
  adam.step();  // zero gradient but non-zero first moment: p keeps moving (optax semantics)
  EXPECT_LT(p.item<float>(), before);
  EXPECT_FALSE(p.grad().defined());  // read as zero, not materialised
  // The undefined gradient takes exactly the path of an explicit zero gradient.
  auto r = param({1.0f});
  Adam twin({r}, AdamConfig{});
  set_grad(r, {2.0f});
  twin.step();
  set_grad(r, {0.0f});
  twin.step();
  EXPECT_EQ(r.item<float>(), p.item<float>());
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

/// Plain per-tensor Adam (PyTorch 1.13's single-tensor sequence, in double for the bias terms).
struct ReferenceAdam {
  std::vector<at::Tensor> params, exp_avg, exp_avg_sq;
  AdamConfig config;
  std::int64_t step = 0;
  ReferenceAdam(std::vector<at::Tensor> p, AdamConfig c) : params(std::move(p)), config(c) {
    for (const auto& t : params) {
      exp_avg.push_back(at::zeros_like(t));
      exp_avg_sq.push_back(at::zeros_like(t));
    }
  }
  void update(const std::vector<at::Tensor>& grads) {
    at::NoGradGuard no_grad;
    ++step;
    const double bc1 = 1.0 - std::pow(config.beta1, static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(config.beta2, static_cast<double>(step));
    for (std::size_t i = 0; i < params.size(); ++i) {
      exp_avg[i].mul_(config.beta1).add_(grads[i], 1.0 - config.beta1);
      exp_avg_sq[i].mul_(config.beta2).addcmul_(grads[i], grads[i], 1.0 - config.beta2);
      const auto denom = (exp_avg_sq[i].sqrt() / std::sqrt(bc2)).add_(config.eps);
      params[i].addcdiv_(exp_avg[i], denom, -(config.lr / bc1));
    }
  }
};

TEST(Adam, FusedStepMatchesPerTensorReference) {
  auto gen = testing::generator(11);
  // Network-like shapes (odd sizes exercise the vector tails), one non-contiguous gradient (falls back
  // to the multi-tensor path) and one parameter without a gradient.
  const std::vector<std::vector<std::int64_t>> shapes{{2, 37, 515}, {2, 1, 515}, {7}, {3, 5}, {1}};
  std::vector<at::Tensor> params, reference_params;
  for (const auto& shape : shapes) {
    auto p = at::randn(shape, gen);
    params.push_back(p.clone().requires_grad_(true));
    reference_params.push_back(p.clone());
  }
  AdamConfig config;
  config.lr = 1e-3;
  Adam adam(params, config);
  ReferenceAdam reference(reference_params, config);
  for (int step = 0; step < 6; ++step) {
    std::vector<at::Tensor> grads;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      // Gradients over many scales, including exact zeros.
      auto g = at::randn(shapes[i], gen) *
               std::pow(10.0, static_cast<double>((static_cast<int>(i) + step) % 7) - 4.0);
      if (i == 2) g.index_put_({at::indexing::Slice(0, 3)}, 0.0);
      grads.push_back(g);
    }
    for (std::size_t i = 0; i + 1 < shapes.size(); ++i) {
      params[i].mutable_grad() = i == 3 ? grads[i].t().contiguous().t() : grads[i].clone();
    }
    grads.back() = at::zeros_like(grads.back());  // the last parameter never gets a gradient
    if (step == 0) {
      EXPECT_FALSE(params.back().grad().defined());
    }
    const auto version = params[0]._version();
    adam.step();
    reference.update(grads);
    EXPECT_GT(params[0]._version(), version);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      // The same float operations in the same order, but ATen's vector kernels round a few of them
      // differently (fused multiply-adds), so θ may land one float32 ulp away: ≤ 2⁻²³ relative to
      // max(|θ|, 1) (~1.2e−7; most elements are equal).
      const auto a = params[i].detach().to(at::kDouble);
      const auto b = reference.params[i].to(at::kDouble);
      const auto error = ((a - b).abs() / b.abs().clamp_min(1.0)).max().item<double>();
      EXPECT_LE(error, std::numeric_limits<float>::epsilon()) << "step " << step << " parameter " << i;
    }
  }
  const auto state = adam.state("opt.");
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto m = state.at("opt.exp_avg." + std::to_string(i));
    const auto v = state.at("opt.exp_avg_sq." + std::to_string(i));
    EXPECT_LE((m - reference.exp_avg[i]).abs().max().item<double>(),
              1e-6 * std::max(reference.exp_avg[i].abs().max().item<double>(), 1e-30));
    EXPECT_LE((v - reference.exp_avg_sq[i]).abs().max().item<double>(),
              1e-6 * std::max(reference.exp_avg_sq[i].abs().max().item<double>(), 1e-30));
  }
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
