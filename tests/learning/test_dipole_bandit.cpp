// DIPOLE on the bandit with the oracle critic (docs/algorithms.md, "The built-in bandit (plugins/bandit)"):
// the denoisers and the guided sampler are tested in isolation from critic learning.
//
// Setting shared by the histogram tests: one context (no interference between contexts), β = 3,
// k = 0, V = E_μ[r] (expectile 0.5, the setting of the measurements in docs/algorithms.md, "DIPOLE"), 2×64
// flow networks, batch 256, 4000 updates at lr 3e-3 then 2000 at lr 3e-4 (train_two_stage), sampling with N =
// 32 Euler steps, n = 10,000 samples, 20 bins, N_c = 1 (no rejection sampling).
//
// Tolerances = floor + histogram noise + learning margin, each below the spread the test must detect:
//   floor:   Euler error with exact velocities at N = 32, ≈ 0.03 (docs/algorithms.md, "Euler sampling and
//   guidance", reproduced in test_bandit_problem); noise:   √(b/(2πn)) = √(20/(2π·10⁴)) ≈ 0.018; margin:
//   learning error; measured values are printed by each test.
#include <gtest/gtest.h>

#include <map>
#include "learning/learning_util.hpp"

namespace dipole::learning {
namespace {

constexpr double kBeta = 3.0;
constexpr double kExpectile = 0.5;
constexpr std::int64_t kSteps = 32;
constexpr std::int64_t kSamples = 10000;
constexpr std::int64_t kBins = 20;

std::string dipole_oracle_toml(const std::string& problem, double beta) {
  return R"(
[trainer]
batch_size = 256
seed = 3
threads = 1

[dataset]
type = "bandit"
problem = ")" +
         problem + R"("
contexts = 1

[algorithm]
type = "dipole"

[critic]
type = "bandit_oracle"
problem = ")" +
         problem + R"("
contexts = 1
expectile = )" +
         std::to_string(kExpectile) + R"(

[denoiser]
type = "flow_mlp"
hidden_dims = [64, 64]
lr = 3e-3

[weighting]
type = "dipole_sigmoid"
beta = )" +
         std::to_string(beta) + R"(
shift = 0.0

[sampler]
type = "guided_euler"
steps = 32
omega = 0.0
)";
}

/// One trained model per (problem, β), shared by the tests of this file.
Algorithm& trained_dipole(const std::string& problem, double beta) {
  static std::map<std::pair<std::string, double>, Run> cache;
  auto key = std::make_pair(problem, beta);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Stopwatch watch;
    Run run = train_two_stage(dipole_oracle_toml(problem, beta), "dipole_oracle_" + problem + ".toml", {},
                              4000, 2000, {"denoiser.lr=3e-4"});
    std::printf("[dipole %s, beta %.1f] trained in %.1f s\n", problem.c_str(), beta, watch.seconds());
    it = cache.emplace(key, std::move(run)).first;
  }
  return *it->second.algorithm;
}

struct Reference {
  bandit::Grid grid = bandit::make_grid(1000);
  std::vector<double> starts = bandit::normal_quantiles(1000);
};
const Reference& reference() {
  static const Reference instance;
  return instance;
}

std::vector<double> learned_histogram(Algorithm& algorithm, double omega, std::uint64_t seed) {
  return bandit::histogram(sample_context(algorithm, 0, 1, kSamples, act_options(omega, kSteps), seed),
                           kBins);
}

/// "Mean reward rises with ω" (docs/algorithms.md, "The built-in bandit (plugins/bandit)"): monotone over ω ∈
/// {0, 0.5, 1} only (it may fall for ω ≥ 2 in multimodal cases). Each step must exceed 3 standard errors of
/// the difference. Part of each problem's test so that each trained model serves one test process (ctest runs
/// tests separately).
void expect_mean_reward_rises_with_omega(Algorithm& dipole, const bandit::Context& context) {
  RewardStats previous;
  for (double omega : {0.0, 0.5, 1.0}) {
    const auto stats =
        reward_stats(context, sample_context(dipole, 0, 1, kSamples, act_options(omega, kSteps), 13));
    std::printf("  %s omega %.1f: mean reward %.3f ± %.3f (regret %.3f)\n", context.kind.c_str(), omega,
                stats.mean, stats.standard_error, context.max_reward() - stats.mean);
    if (omega > 0.0) {
      const double se = std::hypot(stats.standard_error, previous.standard_error);
      EXPECT_GT(stats.mean - previous.mean, 3 * se) << context.kind << " omega " << omega;
    }
    previous = stats;
  }
}

TEST(DipoleOracle, UnimodalPositivePolicyGuidedSamplerAndRewardMatchAnalytic) {
  // Unimodal μ = N(0, 0.35²), r = a: the guided ODE samples π* up to the floor (docs/algorithms.md,
  // "DIPOLE"). Spreads to detect (docs/algorithms.md, "The built-in bandit (plugins/bandit)", β = 3): TV(μ,
  // π⁺) = 0.18; TV(π⁺, π*) = 0.18 (ω = 0.5), 0.36 (ω = 1). Tolerance 0.03 (floor) + 0.018 (noise) + 0.03
  // (learning) ≈ 0.08 < 0.18. Measured 0.027/0.022/0.025 (ω = 0/0.5/1, seed 3) and 0.037/0.032/0.020 (seed
  // 4).
  const auto& ref = reference();
  const auto context = bandit::unimodal_context();
  Algorithm& dipole = trained_dipole("unimodal", kBeta);
  for (double omega : {0.0, 0.5, 1.0}) {
    const auto targets = bandit::dipole_targets(context, ref.grid, kExpectile, kBeta, 0.0, omega);
    const auto learned = learned_histogram(dipole, omega, 11);
    const double tv =
        bandit::total_variation(learned, bandit::density_histogram(targets.optimal, ref.grid, kBins));
    const double tv_behaviour =
        bandit::total_variation(learned, bandit::density_histogram(targets.behaviour, ref.grid, kBins));
    std::printf("  unimodal omega %.1f: TV(learned, pi*) = %.3f, TV(learned, mu) = %.3f\n", omega, tv,
                tv_behaviour);
    EXPECT_LT(tv, 0.08) << "omega " << omega;
  }
  expect_mean_reward_rises_with_omega(dipole, context);
}

TEST(DipoleOracle, BimodalPositivePolicyGuidedSamplerFollowsOracleODEAndRewardRises) {
  // Bimodal μ (docs/algorithms.md, "DIPOLE"): at ω = 0 the target is π⁺ itself; for ω > 0 the reference is
  // the oracle guided run with the same N and ω, because the guided ODE does not sample π* (oracle vs π*:
  // 0.29 at ω = 0.5, 0.56 at ω = 1, N = 32).
  //   ω = 0:   spread TV(μ, π⁺) = 0.42; tolerance 0.03 + 0.018 + 0.08 (bimodal learning margin;
  //            measured 0.065, 0.087 with seeds 3, 4) = 0.13.
  //   ω = 0.5: tolerance 0.18 = 0.03 + 0.018 + 0.13 (guidance amplifies the v⁻ learning error; measured
  //            0.107 and 0.140 with seeds 3 and 4), below the 0.29 spread.
  //   ω = 1:   tolerance 0.35 < 0.56 spread (measured 0.24, 0.29: v⁻ is learnt from few effective samples
  //            near the reward peak, where w⁻ = σ(−βA) ≈ 0.01, and ω = 1 doubles its error).
  //   For ω > 0 the samples must also be closer to the oracle run than to π*.
  const auto& ref = reference();
  const auto context = bandit::bimodal_context();
  Algorithm& dipole = trained_dipole("bimodal", kBeta);
  const std::map<double, double> tolerance = {{0.0, 0.13}, {0.5, 0.18}, {1.0, 0.35}};
  for (const auto& [omega, tol] : tolerance) {
    const auto targets = bandit::dipole_targets(context, ref.grid, kExpectile, kBeta, 0.0, omega);
    const auto oracle = bandit::histogram(bandit::oracle_guided_samples(targets.positive, targets.negative,
                                                                        ref.grid, omega, kSteps, ref.starts),
                                          kBins);
    const auto analytic = bandit::density_histogram(targets.optimal, ref.grid, kBins);
    const auto learned = learned_histogram(dipole, omega, 12);
    const double tv_oracle = bandit::total_variation(learned, oracle);
    const double tv_analytic = bandit::total_variation(learned, analytic);
    std::printf(
        "  bimodal omega %.1f: TV(learned, oracle) = %.3f, TV(learned, pi*) = %.3f, TV(oracle, pi*) = %.3f\n",
        omega, tv_oracle, tv_analytic, bandit::total_variation(oracle, analytic));
    if (omega == 0.0) {
      EXPECT_LT(tv_analytic, tol) << "π⁺ not learnt";
    } else {
      EXPECT_LT(tv_oracle, tol) << "omega " << omega;
      EXPECT_LT(tv_oracle, tv_analytic) << "omega " << omega;
    }
  }
  expect_mean_reward_rises_with_omega(dipole, context);
}

TEST(DipoleOracle, BetaZeroIsBehaviourCloningAtEveryOmega) {
  // docs/algorithms.md, "Weightings": β = 0 gives w⁺ = w⁻ = 1/2, so π⁺ = π⁻ = μ and every ω samples μ.
  // Tolerance = flow BC's bimodal tolerance (0.13, test_baselines_bandit) at ω = 0, plus a margin of 0.05
  // at ω = 2, which amplifies the difference of the two independently trained networks 3-fold.
  // Spread to detect: with β = 3, TV(μ, π⁺) = 0.42 and the ω = 2 oracle run is further still.
  // Measured 0.065/0.085 (ω = 0/2, seed 3) and 0.072/0.103 (seed 4).
  const auto& ref = reference();
  Algorithm& dipole = trained_dipole("bimodal", 0.0);
  const auto mu = bandit::density_histogram(bandit::behaviour_density(bandit::bimodal_context(), ref.grid),
                                            ref.grid, kBins);
  for (auto [omega, tol] : {std::pair{0.0, 0.13}, std::pair{2.0, 0.18}}) {
    const double tv = bandit::total_variation(learned_histogram(dipole, omega, 14), mu);
    std::printf("  beta 0, omega %.1f: TV(learned, mu) = %.3f\n", omega, tv);
    EXPECT_LT(tv, tol) << "omega " << omega;
  }
}

}  // namespace
}  // namespace dipole::learning
