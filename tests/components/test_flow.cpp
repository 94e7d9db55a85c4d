// Flow matching and Euler identities (docs/algorithms.md, "Flow matching", "Euler sampling and guidance").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <dipole/sdk/flow.hpp>

#include "components/test_util.hpp"

namespace dipole {
namespace {

TEST(Flow, InterpolantEndsAndTargetIndependentOfT) {  // docs/algorithms.md, "Flow matching"
  auto gen = testing::generator(1);
  auto z = at::randn({6, 3}, gen);
  auto a = at::rand({6, 3}, gen) * 2 - 1;
  EXPECT_TRUE(at::equal(flow_interpolate(z, a, at::zeros({6, 1})), z));
  EXPECT_TRUE(at::equal(flow_interpolate(z, a, at::ones({6, 1})), a));
  auto half = flow_interpolate(z, a, at::full({6, 1}, 0.5));
  EXPECT_LT(testing::max_abs_diff(half, 0.5 * (z + a)), 1e-6);

  auto g1 = testing::generator(7);
  auto s1 = flow_sample(a, g1);
  EXPECT_TRUE(at::equal(s1.target, a - s1.noise));
  EXPECT_TRUE(at::equal(s1.x_t, flow_interpolate(s1.noise, a, s1.t)));
  // Draw order: z = randn([B, d]) first, then t = rand([B, 1]).
  auto g2 = testing::generator(7);
  auto z_ref = at::randn({6, 3}, g2);
  auto t_ref = at::rand({6, 1}, g2);
  EXPECT_TRUE(at::equal(s1.noise, z_ref));
  EXPECT_TRUE(at::equal(s1.t, t_ref));
  EXPECT_GE(s1.t.min().item<float>(), 0.0f);
  EXPECT_LT(s1.t.max().item<float>(), 1.0f);
}

TEST(Flow, GridTimesAreMultiplesOfOneOverGIncludingOne) {
  auto gen = testing::generator(2);
  auto a = at::zeros({4000, 1});
  auto s = flow_sample(a, gen, TimeSampling::Grid, 32);
  auto scaled = s.t * 32;
  EXPECT_LT(testing::max_abs_diff(scaled, scaled.round()), 1e-5);
  EXPECT_EQ(s.t.min().item<float>(), 0.0f);
  EXPECT_EQ(s.t.max().item<float>(), 1.0f);
  EXPECT_EQ(std::get<0>(at::_unique(scaled.round())).numel(), 33);
  EXPECT_EQ(parse_time_sampling("grid"), TimeSampling::Grid);
  EXPECT_THROW(parse_time_sampling("cosine"), ConfigError);
}

TEST(Flow, ErrorAndWeightedLossByHand) {
  // v = [[1, 2], [0, 0]], u = 0 → ℓ = [(1 + 4)/2, 0] = [2.5, 0].
  auto v = at::tensor(std::vector<float>{1, 2, 0, 0}).view({2, 2});
  auto u = at::zeros({2, 2});
  auto e = flow_error(v, u);
  EXPECT_FLOAT_EQ(e[0].item<float>(), 2.5f);
  EXPECT_FLOAT_EQ(e[1].item<float>(), 0.0f);
  // Ensemble [M = 2, B = 2, d = 2] against a shared target [B, d].
  auto v2 = at::stack({v, v * 2});  // member 1: ℓ = [(4 + 16)/2, 0] = [10, 0]
  auto e2 = flow_error(v2, u);
  ASSERT_EQ(e2.sizes(), (at::IntArrayRef{2, 2}));
  EXPECT_FLOAT_EQ(e2[1][0].item<float>(), 10.0f);
  // L_j = mean_b w_jb ℓ_jb, no normalisation by the mean weight: w = [[0.2, 0.9], [0.8, 0.1]].
  auto w = at::tensor(std::vector<float>{0.2f, 0.9f, 0.8f, 0.1f}).view({2, 2});
  auto loss = weighted_flow_loss(e2, w);
  EXPECT_FLOAT_EQ(loss[0].item<float>(), 0.2f * 2.5f / 2);
  EXPECT_FLOAT_EQ(loss[1].item<float>(), 0.8f * 10.0f / 2);
  EXPECT_FLOAT_EQ(weighted_flow_loss(e2, at::Tensor())[1].item<float>(), 5.0f);
}

TEST(Euler, ConstantFieldGivesZPlusC) {  // docs/algorithms.md, "Euler sampling and guidance"
  auto gen = testing::generator(3);
  auto z = at::randn({5, 2}, gen) * 0.3;
  auto c = at::tensor(std::vector<float>{0.25f, -0.4f});
  for (std::int64_t n : {1, 2, 3, 10, 32}) {
    auto x = euler_integrate(
        z, n, [&](const at::Tensor& x, const at::Tensor&) { return c.expand_as(x); },
        /*clip=*/false);
    EXPECT_LT(testing::max_abs_diff(x, z + c), 1e-6) << n;
  }
}

TEST(Euler, PointTargetReachedExactlyForEveryN) {  // docs/algorithms.md, "Euler sampling and guidance"
  auto gen = testing::generator(4);
  auto target = at::tensor(std::vector<float>{0.3f, -0.7f});
  for (std::int64_t n : {1, 2, 5, 10, 32}) {
    auto z = at::randn({8, 2}, gen);
    std::vector<double> seen_t;
    auto x = euler_integrate(z, n, [&](const at::Tensor& x, const at::Tensor& t) {
      seen_t.push_back(t[0][0].item<double>());
      return (target - x) / (1 - t);
    });
    EXPECT_LT(testing::max_abs_diff(x, target.expand_as(x)), 1e-5) << n;
    ASSERT_EQ(seen_t.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(seen_t.front(), 0.0);                       // left endpoints: t_0 = 0
    EXPECT_NEAR(seen_t.back(), double(n - 1) / n, 1e-7);  // t = 1 is never queried
  }
}

TEST(Euler, ClipsOnlyAtTheEnd) {
  // v = 3 for the first half of the steps, −3 for the second: clipping per step would end at −0.5.
  auto z = at::zeros({1, 1});
  auto x = euler_integrate(z, 4, [](const at::Tensor& x, const at::Tensor& t) {
    return at::where(t < 0.5, at::full_like(x, 3.0), at::full_like(x, -3.0));
  });
  EXPECT_FLOAT_EQ(x.item<float>(), 0.0f);
  auto y =
      euler_integrate(z, 4, [](const at::Tensor& x, const at::Tensor&) { return at::full_like(x, 8.0); });
  EXPECT_FLOAT_EQ(y.item<float>(), 1.0f);
}

TEST(Guidance, CombinationIdentities) {  // docs/algorithms.md, "Euler sampling and guidance"
  auto gen = testing::generator(5);
  auto vp = at::randn({6, 3}, gen);
  auto vn = at::randn({6, 3}, gen);
  // Coefficients sum to 1: equal inputs give the input back, for every ω.
  for (double omega : {-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 10.0}) {
    EXPECT_LT(testing::max_abs_diff(guided_velocity(vp, vp, omega), vp), 1e-5 * (1 + std::abs(omega)))
        << omega;
    // Linear in ω: v(ω) = v⁺ + ω(v⁺ − v⁻).
    EXPECT_LT(testing::max_abs_diff(guided_velocity(vp, vn, omega), vp + omega * (vp - vn)),
              1e-5 * (1 + omega * omega));
    // CFG: v_u + cfg·(v_c − v_u) with cfg = 1 + ω.
    const double cfg = 1 + omega;
    EXPECT_LT(testing::max_abs_diff(guided_velocity(vp, vn, omega), vn + cfg * (vp - vn)),
              1e-5 * (1 + omega * omega));
  }
  EXPECT_TRUE(at::equal(guided_velocity(vp, vn, 0.0), vp));   // ω = 0: v⁺ exactly
  EXPECT_TRUE(at::equal(guided_velocity(vp, vn, -1.0), vn));  // ω = −1: v⁻ exactly
}

TEST(Euler, RejectsZeroSteps) {
  EXPECT_THROW(
      euler_integrate(at::zeros({1, 1}), 0, [](const at::Tensor& x, const at::Tensor&) { return x; }),
      ConfigError);
}

}  // namespace
}  // namespace dipole
