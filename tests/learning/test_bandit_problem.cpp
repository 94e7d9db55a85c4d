// Unit tests of the analytic bandit (plugins/bandit/bandit_problem.hpp): the reference every
// learning test compares with must itself be right. The measured figures of
// docs/algorithms.md ("DIPOLE", "The built-in bandit (plugins/bandit)") are reproduced here from the
// procedure given there.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bandit_problem.hpp"

namespace dipole::bandit {
namespace {

TEST(BanditProblem, DensitiesIntegrateToOne) {
  const auto grid = make_grid(2000);
  for (const auto& context : {bimodal_context(), unimodal_context()}) {
    const auto targets = dipole_targets(context, grid, 0.9, 3.0, 1.0, 2.0);
    EXPECT_NEAR(integral(targets.behaviour, grid), 1.0, 1e-12) << context.kind;
    EXPECT_NEAR(integral(targets.positive, grid), 1.0, 1e-12) << context.kind;
    EXPECT_NEAR(integral(targets.negative, grid), 1.0, 1e-12) << context.kind;
    EXPECT_NEAR(integral(targets.optimal, grid), 1.0, 1e-12) << context.kind;
    // The truncated mixture's mass is the normalised pdf: the bimodal mixture keeps its mode weights.
    if (context.kind == "bimodal") {
      const auto& mu = targets.behaviour;
      double left = 0.0;
      for (std::size_t g = 0; g < mu.size(); ++g)
        if (grid.points[g] < 0.0) left += mu[g] * grid.width;
      EXPECT_NEAR(left, 0.6, 0.01);
    }
  }
}

TEST(BanditProblem, ExpectileSolvesTheExpectileEquation) {
  const auto grid = make_grid(4000);
  for (const auto& context : {bimodal_context(), unimodal_context()}) {
    const auto mu = behaviour_density(context, grid);
    const auto r = rewards_on_grid(context, grid);
    double previous = -1e9;
    for (double tau : {0.1, 0.5, 0.7, 0.9, 0.99}) {
      const double v = expectile(r, mu, grid, tau);
      double above = 0.0, below = 0.0;
      for (std::size_t g = 0; g < r.size(); ++g) {
        above += std::max(r[g] - v, 0.0) * mu[g] * grid.width;
        below += std::max(v - r[g], 0.0) * mu[g] * grid.width;
      }
      EXPECT_NEAR(tau * above, (1 - tau) * below, 1e-10) << context.kind << " tau " << tau;
      EXPECT_GT(v, previous);  // increasing in τ
      previous = v;
    }
    // τ = 0.5 is the mean (docs/algorithms.md, "Critics: expectile value, TD target, Polyak").
    EXPECT_NEAR(expectile(r, mu, grid, 0.5), mean_reward(context, mu, grid), 1e-10);
  }
  // Unimodal, r = a, μ symmetric: V_0.5 = 0.
  EXPECT_NEAR(expectile_value(unimodal_context(), grid, 0.5), 0.0, 1e-9);
}

TEST(BanditProblem, RewardOptimumAndContexts) {
  const auto bimodal = bimodal_context();
  const auto unimodal = unimodal_context();
  EXPECT_DOUBLE_EQ(bimodal.optimal_action(), 0.6);
  EXPECT_DOUBLE_EQ(bimodal.max_reward(), 0.0);
  EXPECT_DOUBLE_EQ(bimodal.reward(-0.4), -2.0);
  EXPECT_DOUBLE_EQ(unimodal.optimal_action(), 1.0);
  EXPECT_DOUBLE_EQ(unimodal.max_reward(), 1.0);
  const auto mixed = make_contexts("mixed", 3);
  ASSERT_EQ(mixed.size(), 3U);
  EXPECT_EQ(mixed[0].kind, "bimodal");
  EXPECT_EQ(mixed[1].kind, "unimodal");
  EXPECT_EQ(mixed[2].kind, "bimodal");
  EXPECT_EQ(make_contexts("unimodal", 2)[0].kind, "unimodal");
  EXPECT_THROW(make_contexts("trimodal", 2), std::invalid_argument);
}

TEST(BanditProblem, BehaviourDrawsFollowTheDensity) {
  // 100,000 draws, 20 bins: histogram noise ≈ √(20/(2π·1e5)) = 0.006.
  const auto grid = make_grid(2000);
  std::mt19937_64 rng(3);
  for (const auto& context : {bimodal_context(), unimodal_context()}) {
    std::vector<double> draws(100000);
    for (auto& a : draws) a = sample_behaviour(context, rng);
    const double tv =
        total_variation(histogram(draws, 20), density_histogram(behaviour_density(context, grid), grid, 20));
    EXPECT_LT(tv, 0.015) << context.kind;
  }
}

TEST(BanditProblem, DichotomyIdentity) {
  // (π⁺)^{1+ω}/(π⁻)^ω ∝ μσ(βA + k)e^{ωβA} = π* (docs/algorithms.md, "Weightings"): compare after normalising.
  const auto grid = make_grid(1000);
  const double beta = 3.0, shift = 1.0, omega = 1.5;
  const auto targets = dipole_targets(bimodal_context(), grid, 0.9, beta, shift, omega);
  Density ratio(grid.points.size());
  for (std::size_t g = 0; g < ratio.size(); ++g)
    ratio[g] = std::pow(targets.positive[g], 1 + omega) / std::pow(targets.negative[g], omega);
  ratio = normalize(ratio, grid);
  for (std::size_t g = 0; g < ratio.size(); g += 50)
    EXPECT_NEAR(ratio[g], targets.optimal[g], 1e-9 + 1e-9 * targets.optimal[g]);
}

TEST(BanditProblem, OracleEulerLandsOnAPointTarget) {
  // A density on one cell is the point target a*: Euler with the exact field reaches it for any N
  // (docs/algorithms.md, "Euler sampling and guidance").
  const auto grid = make_grid(200);
  Density point(grid.points.size(), 0.0);
  point[150] = 1.0 / grid.width;
  for (std::int64_t steps : {1, 3, 10}) {
    const auto samples = oracle_euler_samples(point, grid, steps, {-2.0, -0.3, 0.0, 0.7, 1.9});
    for (double a : samples) EXPECT_NEAR(a, grid.points[150], 1e-9) << "N = " << steps;
  }
}

TEST(BanditProblem, OraclePushForwardReproducesTheTargetAtOmegaZero) {
  // docs/algorithms.md, "The built-in bandit (plugins/bandit)": exact velocities, N = 50: only the Euler
  // error is left, ≈ 0.02 TV (40 bins).
  const auto grid = make_grid(1000);
  const auto starts = normal_quantiles(2000);
  for (const auto& context : {bimodal_context(), unimodal_context()}) {
    const auto targets = dipole_targets(context, grid, 0.5, 3.0, 0.0, 0.0);
    const auto samples = oracle_euler_samples(targets.positive, grid, 50, starts);
    const double tv = total_variation(histogram(samples, 40), density_histogram(targets.positive, grid, 40));
    EXPECT_LT(tv, 0.03) << context.kind << " TV " << tv;
  }
}

TEST(BanditProblem, ReproducesTheMeasuredGuidanceGap) {
  // docs/algorithms.md, "DIPOLE" [MEASURED]: bimodal μ, V = E_μ[r], β = 3, k = 0, N = 50, 40 bins: TV(guided
  // ODE, π*) = 0.55 at ω = 1; mean reward −0.72 (ω = 0) → −0.19 (ω = 1). Unimodal: TV(μ, π⁺) = 0.07 (β = 1),
  // 0.18 (β = 3).
  const auto grid = make_grid(1000);
  const auto starts = normal_quantiles(1000);
  const auto bimodal = bimodal_context();
  const auto at_one = dipole_targets(bimodal, grid, 0.5, 3.0, 0.0, 1.0);
  const auto guided = oracle_guided_samples(at_one.positive, at_one.negative, grid, 1.0, 50, starts);
  EXPECT_NEAR(total_variation(histogram(guided, 40), density_histogram(at_one.optimal, grid, 40)), 0.55,
              0.03);
  EXPECT_NEAR(mean_reward(bimodal, guided), -0.19, 0.02);
  const auto plain = oracle_euler_samples(at_one.positive, grid, 50, starts);
  EXPECT_NEAR(mean_reward(bimodal, plain), -0.72, 0.02);

  const auto unimodal = unimodal_context();
  for (auto [beta, expected] : {std::pair{1.0, 0.07}, std::pair{3.0, 0.18}}) {
    const auto t = dipole_targets(unimodal, grid, 0.5, beta, 0.0, 0.0);
    EXPECT_NEAR(
        total_variation(density_histogram(t.behaviour, grid, 20), density_histogram(t.positive, grid, 20)),
        expected, 0.01)
        << "beta " << beta;
  }
}

TEST(BanditProblem, HistogramHelpers) {
  EXPECT_EQ(histogram({-1.0, -0.99, 0.0, 0.999, 1.0, 2.0}, 4),
            (std::vector<double>{2 / 6.0, 0, 1 / 6.0, 3 / 6.0}));
  EXPECT_DOUBLE_EQ(total_variation({0.5, 0.5}, {1.0, 0.0}), 0.5);
  EXPECT_NEAR(histogram_noise(20, 10000), 0.0178, 1e-3);
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(normal_quantile(0.001), -3.090232306167813, 1e-10);
}

}  // namespace
}  // namespace dipole::bandit
