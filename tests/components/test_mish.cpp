// The mish of activate() (core/src/nn.cpp: x·w/(w + 2), w = eˣ(eˣ + 2), one vectorised exp, analytic
// backward) against at::mish / its autograd gradient and against float64 values.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <dipole/sdk/nn.hpp>

namespace dipole {
namespace {

/// max |a − b| / max(|b|, 1) (mish underflows to ±0 for x ≪ 0, where a relative error means nothing).
double max_error(const at::Tensor& a, const at::Tensor& b) {
  const auto ad = a.to(at::kDouble);
  const auto bd = b.to(at::kDouble);
  return ((ad - bd).abs() / bd.abs().clamp_min(1.0)).max().item<double>();
}

at::Tensor test_inputs() {
  at::manual_seed(11);
  return at::cat(
      {at::randn({200000}) * 3.0, at::randn({20000}) * 30.0, at::randn({2000}) * 1e4,
       at::linspace(-120.0, 120.0, 96001),
       at::tensor({0.0F, -0.0F, 1e-30F, -1e-30F, 19.999F, 20.0F, 20.001F, 1e6F, -1e6F, 3e30F, -3e30F})});
}

at::Tensor exact_forward(const at::Tensor& x) {
  const auto xd = x.to(at::kDouble);
  return xd * at::tanh(at::log1p(at::exp(xd)));
}

at::Tensor exact_derivative(const at::Tensor& x) {
  const auto xd = x.to(at::kDouble);
  const auto t = at::tanh(at::log1p(at::exp(xd)));
  return t + xd * (1.0 - t * t) * at::sigmoid(xd);
}

TEST(Mish, ForwardMatchesAtMishAndFloat64) {
  const auto x = test_inputs();
  const auto y = activate(x, Activation::Mish);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.scalar_type(), at::kFloat);
  EXPECT_LE(max_error(y, at::mish(x)), 1e-6);
  EXPECT_LE(max_error(y, exact_forward(x)), 1e-6);
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  const auto big = at::tensor({25.0F, 1e12F, -1e4F, -1e12F});
  const auto yb = activate(big, Activation::Mish);
  EXPECT_EQ(yb[0].item<float>(), 25.0F);
  EXPECT_EQ(yb[1].item<float>(), 1e12F);
  EXPECT_LE(std::abs(yb[2].item<float>()), 1e-30F);
  EXPECT_LE(std::abs(yb[3].item<float>()), 1e-20F);
}

TEST(Mish, GradientMatchesAtMishAndFloat64) {
  const auto x = test_inputs();
  for (const bool unit_upstream : {true, false}) {
    const auto g = unit_upstream ? at::ones_like(x) : at::randn_like(x);
    auto xa = x.clone().requires_grad_(true);
    activate(xa, Activation::Mish).backward(g);
    auto xr = x.clone().requires_grad_(true);
    at::mish(xr).backward(g);
    const auto exact = g.to(at::kDouble) * exact_derivative(x);
    const double scale = unit_upstream ? 1.0 : g.abs().max().item<double>();
    EXPECT_LE(max_error(xa.grad(), exact), 2e-6 * scale);
    EXPECT_LE(max_error(xa.grad(), xr.grad()), 4e-6 * scale);
    EXPECT_TRUE(at::isfinite(xa.grad()).all().item<bool>());
  }
}

TEST(Mish, NoGradPathNonContiguousInputAndOtherDtypes) {
  const auto x = at::randn({4, 6, 5}) * 3.0;
  auto xg = x.clone().requires_grad_(true);
  const auto with_graph = activate(xg, Activation::Mish);
  at::Tensor without_graph;
  {
    at::NoGradGuard no_grad;
    without_graph = activate(xg, Activation::Mish);
  }
  EXPECT_FALSE(without_graph.requires_grad());
  EXPECT_TRUE(at::equal(with_graph.detach(), without_graph));
  const auto transposed = x.transpose(0, 2);  // non-contiguous
  EXPECT_TRUE(at::equal(activate(transposed, Activation::Mish), with_graph.detach().transpose(0, 2)));
  const auto xd = x.to(at::kDouble);  // other dtypes use at::mish itself
  EXPECT_TRUE(at::equal(activate(xd, Activation::Mish), at::mish(xd)));
  EXPECT_EQ(activate(at::empty({0, 3}), Activation::Mish).numel(), 0);
  const auto nan = activate(at::tensor({std::numeric_limits<float>::quiet_NaN()}), Activation::Mish);
  EXPECT_TRUE(std::isnan(nan.item<float>()));
}

}  // namespace
}  // namespace dipole
