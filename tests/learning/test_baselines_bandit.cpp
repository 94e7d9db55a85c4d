// Flow BC, CFGRL and FQL on the bandit (docs/algorithms.md, "The built-in bandit (plugins/bandit)", "Flow
// BC", "CFGRL", "FQL"), from the shipped pipelines configs/bandit_{flow_bc,cfgrl,fql}.toml (learnt critics:
// iql for CFGRL, td for FQL).
//
// Flow BC must reproduce μ; CFGRL and FQL must beat flow BC on mean reward in every context by a
// margin of 5 standard errors of the difference (10,000 sampled actions per context).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "learning/learning_util.hpp"

namespace dipole::learning {
namespace {

constexpr std::int64_t kContexts = 2;  // the shipped pipelines use the default "mixed" problem
constexpr std::int64_t kSamples = 10000;
constexpr std::int64_t kBins = 20;

std::string read_config(const std::string& name) {
  std::ifstream in(std::string(DIPOLE_SOURCE_DIR) + "/configs/" + name);
  EXPECT_TRUE(in.good()) << "missing configs/" << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A shipped bandit pipeline trained with the two-stage lr (the configured lr, then a tenth of it).
Algorithm& trained(const std::string& config, std::int64_t steps_high, std::int64_t steps_low,
                   const std::vector<std::string>& low_lr) {
  static std::map<std::string, Run> cache;
  auto it = cache.find(config);
  if (it == cache.end()) {
    Stopwatch watch;
    Run run =
        train_two_stage(read_config(config), config, {"trainer.threads=1"}, steps_high, steps_low, low_lr);
    std::printf("[%s] trained in %.1f s\n", config.c_str(), watch.seconds());
    it = cache.emplace(config, std::move(run)).first;
  }
  return *it->second.algorithm;
}

Algorithm& flow_bc() {
  return trained("bandit_flow_bc.toml", 4000, 2000, {"denoiser.lr=3e-4"});
}

TEST(FlowBcBandit, ReproducesBehaviourDensity) {
  // "flow BC reproduces μ" (docs/algorithms.md, "The built-in bandit (plugins/bandit)"), N = 32: floor ≈ 0.03
  // (Euler) + noise √(20/(2π·10⁴)) = 0.018 + learning margin. Unimodal context: margin 0.03 → 0.08. Bimodal
  // context (narrow modes, std 0.15, the harder field to learn): margin 0.08 → 0.13. Measured: bimodal 0.095
  // / 0.086, unimodal 0.042 / 0.040 (two training seeds).
  const auto grid = bandit::make_grid(1000);
  const auto contexts = bandit::make_contexts("mixed", kContexts);
  Algorithm& bc = flow_bc();
  for (std::int64_t c = 0; c < kContexts; ++c) {
    const auto& context = contexts[static_cast<std::size_t>(c)];
    const auto samples = sample_context(bc, c, kContexts, kSamples, act_options(0.0, 32), 21);
    const double tv = bandit::total_variation(
        bandit::histogram(samples, kBins),
        bandit::density_histogram(bandit::behaviour_density(context, grid), grid, kBins));
    std::printf("  flow BC context %ld (%s): TV(learned, mu) = %.3f\n", static_cast<long>(c),
                context.kind.c_str(), tv);
    EXPECT_LT(tv, context.kind == "bimodal" ? 0.13 : 0.08) << context.kind;
  }
}

void expect_beats_flow_bc(Algorithm& algorithm, const std::string& name, const ActOptions& options) {
  const auto contexts = bandit::make_contexts("mixed", kContexts);
  const auto grid = bandit::make_grid(1000);
  for (std::int64_t c = 0; c < kContexts; ++c) {
    const auto& context = contexts[static_cast<std::size_t>(c)];
    const auto bc =
        reward_stats(context, sample_context(flow_bc(), c, kContexts, kSamples, ActOptions{}, 31));
    const auto other = reward_stats(context, sample_context(algorithm, c, kContexts, kSamples, options, 32));
    const double se = std::hypot(bc.standard_error, other.standard_error);
    std::printf("  context %ld (%s): flow BC %.3f ± %.3f, %s %.3f ± %.3f, E_mu[r] = %.3f, regret %s %.3f\n",
                static_cast<long>(c), context.kind.c_str(), bc.mean, bc.standard_error, name.c_str(),
                other.mean, other.standard_error,
                bandit::mean_reward(context, bandit::behaviour_density(context, grid), grid), name.c_str(),
                context.max_reward() - other.mean);
    EXPECT_GT(other.mean - bc.mean, 5 * se) << name << " context " << c;
  }
}

TEST(CfgrlBandit, BeatsFlowBcOnMeanReward) {
  Algorithm& cfgrl = trained("bandit_cfgrl.toml", 1500, 500, {"denoiser.lr=3e-4"});
  expect_beats_flow_bc(cfgrl, "cfgrl", ActOptions{});  // the configured ω = 1 (cfg = 2), N = 32
}

TEST(FqlBandit, BeatsFlowBcOnMeanReward) {
  Algorithm& fql = trained("bandit_fql.toml", 1500, 500, {"denoiser.lr=3e-4", "one_step_policy.lr=3e-4"});
  expect_beats_flow_bc(fql, "fql", ActOptions{});
}

}  // namespace
}  // namespace dipole::learning
