// The tanh-approximate GELU of activate() (core/src/nn.cpp: a vectorised x / (1 + exp(−2u)) with an
// analytic backward) against at::gelu(x, "tanh") / at::gelu_backward and against float64 values.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <dipole/sdk/nn.hpp>

namespace dipole {
namespace {

/// max |a − b| / max(|b|, 1): a relative error that stays meaningful where GELU underflows to ±0
/// (x ≲ −5, where the reference's 1 + tanh(u) has already cancelled to 0 or one ulp).
double max_error(const at::Tensor& a, const at::Tensor& b) {
  const auto ad = a.to(at::kDouble);
  const auto bd = b.to(at::kDouble);
  return ((ad - bd).abs() / bd.abs().clamp_min(1.0)).max().item<double>();
}

// (No |x| ≳ 1e13: there x³ overflows and the reference gradient is NaN; see GradientOfLargeInputs.)
at::Tensor test_inputs() {
  at::manual_seed(7);
  return at::cat({at::randn({200000}) * 3.0, at::randn({20000}) * 30.0, at::randn({2000}) * 1e4,
                  at::linspace(-40.0, 40.0, 80001),
                  at::tensor({0.0F, -0.0F, 1e-30F, -1e-30F, 1e6F, -1e6F, 3e12F, -3e12F})});
}

constexpr double kBeta = 0.7978845608028654;
constexpr double kKappa = 0.044715;

at::Tensor exact_forward(const at::Tensor& x) {
  const auto xd = x.to(at::kDouble);
  return 0.5 * xd * (1.0 + at::tanh(kBeta * (xd + kKappa * xd * xd * xd)));
}

at::Tensor exact_derivative(const at::Tensor& x) {
  const auto xd = x.to(at::kDouble);
  const auto t = at::tanh(kBeta * (xd + kKappa * xd * xd * xd));
  return 0.5 * (1.0 + t) + 0.5 * xd * (1.0 - t * t) * kBeta * (1.0 + 3.0 * kKappa * xd * xd);
}

TEST(GeluTanh, ForwardMatchesAtGeluAndFloat64) {
  const auto x = test_inputs();
  const auto y = activate(x, Activation::GeluTanh);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.scalar_type(), at::kFloat);
  EXPECT_LE(max_error(y, at::gelu(x, "tanh")), 1e-6);
  EXPECT_LE(max_error(y, exact_forward(x)), 1e-6);
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  // Large |x|: the identity for x ≫ 0 and (numerically) zero for x ≪ 0.
  const auto big = at::tensor({1e4F, 1e12F, -1e4F, -1e12F});
  const auto yb = activate(big, Activation::GeluTanh);
  EXPECT_EQ(yb[0].item<float>(), 1e4F);
  EXPECT_EQ(yb[1].item<float>(), 1e12F);
  EXPECT_LE(std::abs(yb[2].item<float>()), 1e-30F);
  EXPECT_LE(std::abs(yb[3].item<float>()), 1e-20F);
}

TEST(GeluTanh, GradientMatchesAtGeluBackwardAndFloat64) {
  const auto x = test_inputs();
  for (const bool unit_upstream : {true, false}) {
    const auto g = unit_upstream ? at::ones_like(x) : at::randn_like(x);
    auto xa = x.clone().requires_grad_(true);
    activate(xa, Activation::GeluTanh).backward(g);
    auto xr = x.clone().requires_grad_(true);
    at::gelu(xr, "tanh").backward(g);
    const auto reference = at::gelu_backward(g, x, "tanh");
    EXPECT_TRUE(at::equal(xr.grad(), reference));
    const auto exact = g.to(at::kDouble) * exact_derivative(x);
    // Ours is within 1e−6 of the float64 derivative; the float32 reference itself is off by up to
    // ~1.1e−6 there (its 1 − tanh² cancels), so the two float32 gradients agree to 2e−6.
    const double scale = unit_upstream ? 1.0 : g.abs().max().item<double>();
    EXPECT_LE(max_error(xa.grad(), exact), 1e-6 * scale);
    EXPECT_LE(max_error(xa.grad(), reference), 2e-6 * scale);
    EXPECT_TRUE(at::isfinite(xa.grad()).all().item<bool>());
  }
}

TEST(GeluTanh, GradientOfLargeInputsIsOneOrZero) {
  auto x = at::tensor({10.0F, 1e4F, 1e12F, 1e20F, -10.0F, -1e4F, -1e12F, -1e20F}).requires_grad_(true);
  activate(x, Activation::GeluTanh).sum().backward();
  const auto grad = x.grad();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(grad[i].item<float>(), 1.0F, 1e-6F) << i;
  for (int i = 4; i < 8; ++i) EXPECT_LE(std::abs(grad[i].item<float>()), 1e-20F) << i;
}

TEST(GeluTanh, NoGradPathNonContiguousInputAndOtherDtypes) {
  const auto x = at::randn({4, 6, 5}) * 3.0;
  auto xg = x.clone().requires_grad_(true);
  const auto with_graph = activate(xg, Activation::GeluTanh);
  at::Tensor without_graph;
  {
    at::NoGradGuard no_grad;
    without_graph = activate(xg, Activation::GeluTanh);
  }
  EXPECT_FALSE(without_graph.requires_grad());
  EXPECT_TRUE(at::equal(with_graph.detach(), without_graph));
  const auto transposed = x.transpose(0, 2);  // non-contiguous
  EXPECT_TRUE(at::equal(activate(transposed, Activation::GeluTanh), with_graph.detach().transpose(0, 2)));
  const auto xd = x.to(at::kDouble);  // other dtypes use at::gelu itself
  EXPECT_TRUE(at::equal(activate(xd, Activation::GeluTanh), at::gelu(xd, "tanh")));
  EXPECT_EQ(activate(at::empty({0, 3}), Activation::GeluTanh).numel(), 0);
  const auto nan = activate(at::tensor({std::numeric_limits<float>::quiet_NaN()}), Activation::GeluTanh);
  EXPECT_TRUE(std::isnan(nan.item<float>()));
}

}  // namespace
}  // namespace dipole
