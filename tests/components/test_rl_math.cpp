// Expectile loss, TD target, Polyak, weights and helpers (docs/algorithms.md, "Critics: expectile value, TD
// target, Polyak", "Weightings").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include <dipole/sdk/rl_math.hpp>

#include "components/test_util.hpp"

namespace dipole {
namespace {

at::Tensor advantages(std::uint64_t seed, std::int64_t n = 200, at::ScalarType dtype = at::kFloat) {
  auto gen = testing::generator(seed);
  return (at::randn({n}, gen) * 2).to(dtype);
}

TEST(SigmoidWeights, SumToOneAndStayInUnitInterval) {  // docs/algorithms.md, "Weightings"
  auto a = advantages(1);
  for (double beta : {0.0, 1.0, 3.0, 10.0, 100.0})
    for (double shift : {-4.0, 0.0, 1.0, 4.0}) {
      auto w = sigmoid_weights(a, beta, shift);
      ASSERT_EQ(w.sizes(), (at::IntArrayRef{2, a.size(0)}));
      EXPECT_LE(testing::max_abs_diff(w[0] + w[1], at::ones_like(a)), 1e-6) << beta << " " << shift;
      EXPECT_GE(w.min().item<float>(), 0.0f);
      EXPECT_LE(w.max().item<float>(), 1.0f);
      // w⁻(β, k) = w⁺(−β, −k)
      EXPECT_TRUE(at::equal(w[1], sigmoid_weights(a, -beta, -shift)[0]));
    }
  // w⁺/w⁻ = e^{βA + k} (in double, where neither weight underflows).
  auto ad = advantages(2, 200, at::kDouble);
  auto w = sigmoid_weights(ad, 3.0, 1.0);
  auto ratio = w[0] / w[1];
  EXPECT_LT(((ratio - at::exp(ad * 3.0 + 1.0)) / ratio).abs().max().item<double>(), 1e-10);
}

TEST(SigmoidWeights, DichotomyIdentity) {  // docs/algorithms.md, "Weightings"
  auto a = advantages(3, 200, at::kDouble);
  const double beta = 3.0, shift = 0.7;
  auto w = sigmoid_weights(a, beta, shift);
  auto x = a * beta + shift;
  for (double omega : {0.0, 0.5, 1.0, 2.0, 4.0}) {
    auto lhs = w[0].pow(1 + omega) / w[1].pow(omega);
    auto rhs = at::sigmoid(x) * at::exp(omega * x);
    EXPECT_LT(((lhs - rhs) / rhs).abs().max().item<double>(), 1e-9) << omega;
  }
}

TEST(SigmoidWeights, BetaZeroGivesConstants) {  // docs/algorithms.md, "Weightings"
  auto a = advantages(4);
  auto w = sigmoid_weights(a, 0.0, 0.0);
  EXPECT_EQ(w.min().item<float>(), 0.5f);
  EXPECT_EQ(w.max().item<float>(), 0.5f);
  auto wk = sigmoid_weights(a, 0.0, 1.5);
  EXPECT_LT(testing::max_abs_diff(wk[0], at::full_like(a, 1 / (1 + std::exp(-1.5)))), 1e-7);
  EXPECT_LT(testing::max_abs_diff(wk[1], at::full_like(a, 1 / (1 + std::exp(1.5)))), 1e-7);
}

TEST(SigmoidWeights, FractionAboveHalfMatchesAdvantageThreshold) {  // docs/algorithms.md, "Weightings"
  auto a = advantages(5, 1000);
  for (double beta : {1.0, 3.0})
    for (double shift : {-1.0, 0.0, 2.0}) {
      auto w = sigmoid_weights(a, beta, shift);
      const auto above = (w[0] > 0.5).sum().item<std::int64_t>();
      const auto expected = (a > -shift / beta).sum().item<std::int64_t>();
      EXPECT_EQ(above, expected) << beta << " " << shift;
    }
}

// docs/algorithms.md, "Critics: expectile value, TD target, Polyak"
TEST(ExpectileLoss, HandValuesAndHalfIsHalfSquare) {
  auto u = at::tensor(std::vector<float>{2.0f, -2.0f, 0.0f, 0.5f});
  auto l = expectile_loss(u, 0.9);
  EXPECT_FLOAT_EQ(l[0].item<float>(), 0.9f * 4);
  EXPECT_FLOAT_EQ(l[1].item<float>(), 0.1f * 4);
  EXPECT_FLOAT_EQ(l[2].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(l[3].item<float>(), 0.9f * 0.25f);
  auto r = advantages(6);
  EXPECT_LT(testing::max_abs_diff(expectile_loss(r, 0.5), 0.5 * r.pow(2)), 1e-6);
}

/// The τ-expectile of `q` by bisection on τ·Σ(q − V)₊ = (1 − τ)·Σ(V − q)₊.
double expectile_by_bisection(const std::vector<double>& q, double tau) {
  double lo = -100, hi = 100;
  for (int i = 0; i < 200; ++i) {
    const double v = 0.5 * (lo + hi);
    double f = 0;
    for (double qi : q) f += qi > v ? tau * (qi - v) : -(1 - tau) * (v - qi);
    (f > 0 ? lo : hi) = v;
  }
  return 0.5 * (lo + hi);
}

// docs/algorithms.md, "Critics: expectile value, TD target, Polyak"
TEST(ExpectileLoss, MinimiserIsTheExpectile) {
  const std::vector<double> q{-1.0, 0.0, 0.5, 2.0, 3.5};
  auto qt = at::tensor(q, at::kDouble);
  for (double tau : {0.5, 0.7, 0.9, 0.999}) {
    // Newton-free minimisation: gradient descent with our loss and autograd.
    auto v = at::zeros({}, at::kDouble).requires_grad_(true);
    for (int i = 0; i < 4000; ++i) {
      auto loss = expectile_loss(qt - v, tau).mean();
      loss.backward();
      {
        at::NoGradGuard no_grad;
        v.sub_(v.grad() * 0.5);
        v.mutable_grad().zero_();
      }
    }
    EXPECT_NEAR(v.item<double>(), expectile_by_bisection(q, tau), 1e-6) << tau;
  }
  EXPECT_NEAR(expectile_by_bisection(q, 0.5), 1.0, 1e-9);  // the mean at 0.5
  EXPECT_GT(expectile_by_bisection(q, 0.9999), 3.4);       // → max as τ → 1
}

// docs/algorithms.md, "Critics: expectile value, TD target, Polyak"
TEST(TdTarget, MaskZeroGivesRewardExactly) {
  auto r = at::tensor(std::vector<float>{0.3f, -1.0f, 2.0f});
  auto v = at::tensor(std::vector<float>{10.0f, 20.0f, -5.0f}).requires_grad_(true);
  auto y0 = td_target(r, at::zeros({3}), v, 0.99);
  EXPECT_TRUE(at::equal(y0, r));
  auto y1 = td_target(r, at::ones({3}), v, 0.99);
  EXPECT_LT(testing::max_abs_diff(y1, r + 0.99 * v.detach()), 1e-6);
  EXPECT_FALSE(y1.requires_grad());
}

TEST(Polyak, EndsAndGeometricDecay) {  // docs/algorithms.md, "Critics: expectile value, TD target, Polyak"
  auto gen = testing::generator(8);
  auto online = at::randn({3, 4}, gen) * 100;
  auto target0 = at::randn({3, 4}, gen);
  auto t1 = target0.clone();
  polyak_update({t1}, {online}, 1.0);
  EXPECT_TRUE(at::equal(t1, online));
  auto t0 = target0.clone();
  polyak_update({t0}, {online}, 0.0);
  EXPECT_TRUE(at::equal(t0, target0));
  auto t = target0.to(at::kDouble);
  auto o = online.to(at::kDouble);
  const double tau = 0.05;
  const int n = 37;
  for (int i = 0; i < n; ++i) polyak_update({t}, {o}, tau);
  auto expected = std::pow(1 - tau, n) * (target0.to(at::kDouble) - o);
  EXPECT_LT(testing::max_abs_diff(t - o, expected), 1e-9);
}

TEST(ExponentialWeights, ClipAtMaxWeight) {  // docs/algorithms.md, "Weightings"
  // βA = ln 100 is the crossover; values below give e^{βA}, above exactly 100.
  auto a = at::tensor(std::vector<double>{-1.0, 0.0, 0.4, 0.46, 0.47, 2.0, 50.0});
  auto w = exponential_weights(a, 10.0, 100.0);
  for (int i = 0; i < a.size(0); ++i) {
    const double x = 10.0 * a[i].item<double>();
    if (x < std::log(100.0))
      EXPECT_NEAR(w[i].item<double>(), std::exp(x), 1e-12 * std::exp(x));
    else
      EXPECT_EQ(w[i].item<double>(), 100.0);
  }
}

TEST(Helpers, GradNormQuantilesEssAndFiniteness) {
  auto p = at::zeros({2}).requires_grad_(true);
  auto q = at::zeros({1}).requires_grad_(true);
  auto unused = at::zeros({3}).requires_grad_(true);
  p.mutable_grad() = at::tensor(std::vector<float>{3.0f, 0.0f});
  q.mutable_grad() = at::tensor(std::vector<float>{4.0f});
  EXPECT_DOUBLE_EQ(grad_norm({p, q, unused}), 5.0);

  auto qs = quantiles(at::tensor(std::vector<float>{5, 1, 4, 2, 3}), {0.0, 0.1, 0.25, 0.5, 1.0});
  EXPECT_DOUBLE_EQ(qs[0], 1.0);
  EXPECT_NEAR(qs[1], 1.4, 1e-12);
  EXPECT_DOUBLE_EQ(qs[2], 2.0);
  EXPECT_DOUBLE_EQ(qs[3], 3.0);
  EXPECT_DOUBLE_EQ(qs[4], 5.0);

  EXPECT_DOUBLE_EQ(effective_sample_fraction(at::full({10}, 0.3)), 1.0);
  EXPECT_DOUBLE_EQ(effective_sample_fraction(at::tensor(std::vector<float>{1, 0, 0, 0})), 0.25);

  EXPECT_NO_THROW(check_finite(at::ones({3}), "loss"));
  try {
    check_finite(at::tensor(std::vector<float>{1.0f, NAN, INFINITY}), "critic loss");
    FAIL() << "expected NumericError";
  } catch (const NumericError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("critic loss"), std::string::npos) << message;
    EXPECT_NE(message.find("1 NaN"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace dipole
