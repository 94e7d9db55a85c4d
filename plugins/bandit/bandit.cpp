// The contextual bandit with a known answer (docs/algorithms.md, "The built-in bandit (plugins/bandit)"):
// Dataset `bandit`, Environment `bandit` and Critic `bandit_oracle` (the analytic Q = r, V = V_τ, A = r −
// V_τ). The math lives in bandit_problem.hpp, which the learning tests include too. Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/critic.hpp>
#include <dipole/dataset.hpp>
#include <dipole/environment.hpp>
#include <dipole/plugin.hpp>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bandit_problem.hpp"

namespace dipole::plugins {
namespace {

/// Keys shared by the three components: they must agree for the oracle to describe the dataset.
struct Problem {
  std::string problem = "mixed";
  std::int64_t contexts = 2;
};

const Keys<Problem>& problem_keys() {
  static const Keys<Problem> keys{
      key(&Problem::problem, "problem",
          "context kinds: mixed (even contexts bimodal, odd unimodal), bimodal or unimodal "
          "(bimodal: μ = 0.6·N(−0.5, 0.15²) + 0.4·N(0.4, 0.2²), r = −2|a − 0.6|; "
          "unimodal: μ = N(0, 0.35²), r = a; both truncated to [−1, 1])")
          .one_of({"mixed", "bimodal", "unimodal"}),
      key(&Problem::contexts, "contexts", "number C of contexts, observed one-hot").range(1, 1024),
  };
  return keys;
}

std::vector<bandit::Context> read_contexts(const Problem& problem) {
  return bandit::make_contexts(problem.problem, problem.contexts);
}

Spec bandit_spec(std::int64_t contexts) {
  Spec spec;
  spec.obs_dim = contexts;
  spec.action_dim = 1;
  spec.action_low = {bandit::kActionLow};
  spec.action_high = {bandit::kActionHigh};
  return spec;
}

/// Rewards of a batch in tensor form: obs [B, C] one-hot, actions [B, 1] → [B].
class RewardTable {
 public:
  explicit RewardTable(const std::vector<bandit::Context>& contexts) {
    std::vector<float> linear, peak;
    for (const auto& c : contexts) {
      linear.push_back(c.reward_kind == bandit::RewardKind::Linear ? 1.0F : 0.0F);
      peak.push_back(static_cast<float>(c.peak));
    }
    linear_ = at::tensor(linear, at::kFloat);
    peak_ = at::tensor(peak, at::kFloat);
  }

  /// Context index of each one-hot observation: [B, C] → [B] int64.
  static at::Tensor context_index(const at::Tensor& observations) { return observations.argmax(1); }

  at::Tensor rewards(const at::Tensor& observations, const at::Tensor& actions) const {
    const auto c = context_index(observations);
    const auto device = observations.device();
    const auto a = actions.select(1, 0).to(at::kFloat);
    const auto is_linear = linear_.to(device).index_select(0, c);
    const auto peak = peak_.to(device).index_select(0, c);
    return is_linear * a + (1 - is_linear) * (-2.0 * (a - peak).abs());
  }

 private:
  at::Tensor linear_;  // [C] 1 for r = a, 0 for r = −2|a − peak|
  at::Tensor peak_;    // [C]
};

// ---- Dataset ----------------------------------------------------------------------------------------

/// `size` transitions (s one-hot uniform over contexts, a ~ μ(·|s), r = r(s, a), s′ = s, mask 0,
/// terminal 1), drawn once at construction from the component's seed (derived from the run seed).
class BanditDataset final : public Dataset {
 public:
  struct Config {
    Problem problem;
    std::int64_t size = 100000;
    double action_clip_eps = 1e-5;
  };
  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        nested(&Config::problem, problem_keys()),
        key(&Config::size, "size", "number of transitions").range(1, 100000000),
        key(&Config::action_clip_eps, "action_clip_eps",
            "dataset actions are clipped to [−1 + eps, 1 − eps] (docs/algorithms.md, Conventions)")
            .range(0, 0.5),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  BanditDataset(const Params& params, const BuildContext& ctx) : BanditDataset(keys().read(params), ctx) {}
  BanditDataset(const Config& config, const BuildContext& ctx)
      : contexts_(read_contexts(config.problem)),
        spec_(bandit_spec(config.problem.contexts)),
        device_(ctx.device) {
    const std::int64_t n = config.size;
    const double eps = config.action_clip_eps;
    const auto num_contexts = static_cast<std::int64_t>(contexts_.size());
    std::mt19937_64 rng(ctx.seed);
    std::uniform_int_distribution<std::int64_t> pick(0, num_contexts - 1);
    std::vector<std::int64_t> context(static_cast<std::size_t>(n));
    std::vector<float> action(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const auto c = pick(rng);
      const double a = bandit::sample_behaviour(contexts_[static_cast<std::size_t>(c)], rng);
      context[static_cast<std::size_t>(i)] = c;
      action[static_cast<std::size_t>(i)] =
          static_cast<float>(std::clamp(a, bandit::kActionLow + eps, bandit::kActionHigh - eps));
    }
    const auto index = at::tensor(context, at::kLong);
    observations_ = at::one_hot(index, num_contexts).to(at::kFloat).to(device_);
    actions_ = at::tensor(action, at::kFloat).unsqueeze(1).to(device_);
    rewards_ = RewardTable(contexts_).rewards(observations_, actions_);
    masks_ = at::zeros({n}, observations_.options());
    terminals_ = at::ones({n}, observations_.options());
  }

  Spec spec() const override { return spec_; }
  std::int64_t size() const override { return actions_.size(0); }

  Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    auto index = at::randint(0, size(), {batch_size}, generator, at::TensorOptions().dtype(at::kLong));
    return rows(index.to(device_));
  }

  /// Every transition is a one-step episode (the online phase copies the rows through episodes).
  std::int64_t num_episodes() const override { return size(); }
  Batch episode(std::int64_t index) const override {
    if (index < 0 || index >= size())
      throw DataError("bandit: episode " + std::to_string(index) + " does not exist (" +
                      std::to_string(size()) + " episodes)");
    return rows(at::full({1}, index, at::TensorOptions().dtype(at::kLong).device(device_)));
  }

 private:
  Batch rows(const at::Tensor& index) const {
    Batch batch;
    batch.observations = observations_.index_select(0, index);
    batch.actions = actions_.index_select(0, index);
    batch.next_actions = batch.actions;  // s′ = s and every row is terminal: a′_D never enters a target
    batch.rewards = rewards_.index_select(0, index);
    batch.next_observations = batch.observations;  // every transition is terminal: s′ is never used
    batch.masks = masks_.index_select(0, index);
    batch.terminals = terminals_.index_select(0, index);
    return batch;
  }

  std::vector<bandit::Context> contexts_;
  Spec spec_;
  c10::Device device_;
  at::Tensor observations_, actions_, rewards_, masks_, terminals_;
};

// ---- Environment ------------------------------------------------------------------------------------

/// One-step episodes: reset(seed) draws a context from the seed, step(a) pays r(s, a) and ends the
/// episode (terminated). success = r within `success_margin` of the context's maximum reward.
class BanditEnvironment final : public Environment {
 public:
  struct Config {
    Problem problem;
    double success_margin = 0.05;
  };
  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        nested(&Config::problem, problem_keys()),
        key(&Config::success_margin, "success_margin", "success when r ≥ max_a r(s, a) − margin").at_least(0),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  BanditEnvironment(const Params& params, const BuildContext& /*ctx*/)
      : BanditEnvironment(keys().read(params)) {}
  explicit BanditEnvironment(const Config& config)
      : contexts_(read_contexts(config.problem)),
        spec_(bandit_spec(config.problem.contexts)),
        margin_(config.success_margin) {}

  Spec spec() const override { return spec_; }
  std::int64_t max_episode_steps() const override { return 1; }

  at::Tensor reset(std::uint64_t seed) override {
    // splitmix64: neighbouring seeds (the evaluator uses seed + i) give unrelated contexts.
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    context_ = static_cast<std::int64_t>(z % contexts_.size());
    return observation();
  }

  StepResult step(const at::Tensor& action) override {
    if (context_ < 0) throw std::logic_error("bandit environment: step() before reset()");
    const auto& context = contexts_[static_cast<std::size_t>(context_)];
    const double a =
        std::clamp(action.reshape({-1})[0].item<double>(), bandit::kActionLow, bandit::kActionHigh);
    StepResult result;
    result.observation = observation();
    result.reward = context.reward(a);
    result.terminated = true;
    result.success = result.reward >= context.max_reward() - margin_;
    return result;
  }

 private:
  at::Tensor observation() const {
    auto obs = at::zeros({spec_.obs_dim}, at::kFloat);
    obs[context_] = 1.0;
    return obs;
  }

  std::vector<bandit::Context> contexts_;
  Spec spec_;
  double margin_;
  std::int64_t context_ = -1;
};

// ---- Oracle critic ----------------------------------------------------------------------------------

/// Q(s, a) = r(s, a) (one member), V(s) = V_τ(s) computed by bisection on a fine grid, A = r − V_τ.
/// Nothing is learnt: compute_loss returns a zero loss without a graph; step/zero_grad do nothing.
class BanditOracleCritic final : public Critic {
 public:
  struct Config {
    Problem problem;
    double expectile = 0.9;
    std::int64_t grid = 4000;
  };
  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        nested(&Config::problem, problem_keys()),
        key(&Config::expectile, "expectile", "τ of the oracle V_τ(s) = τ-expectile of r(s, a) under μ(·|s)")
            .range(0.0, 1.0),
        key(&Config::grid, "grid", "quadrature cells on [−1, 1] for V_τ").range(10, 10000000),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }
  /// compute_loss() returns the exact A(s, a).
  static Provides provides(const Params& /*params*/) { return {{"advantage", 1}}; }

  BanditOracleCritic(const Params& params, const BuildContext& ctx)
      : config_(keys().read(params)), contexts_(read_contexts(config_.problem)), rewards_(contexts_) {
    if (ctx.spec.obs_dim != static_cast<std::int64_t>(contexts_.size()) || ctx.spec.action_dim != 1)
      throw ConfigError(
          params.where("contexts") + ": the oracle describes " + std::to_string(contexts_.size()) +
          " contexts with 1-D actions, but the dataset has observations of size " +
          std::to_string(ctx.spec.obs_dim) + " and actions of size " + std::to_string(ctx.spec.action_dim));
    const auto grid = bandit::make_grid(config_.grid);
    std::vector<float> values;
    for (const auto& c : contexts_)
      values.push_back(static_cast<float>(bandit::expectile_value(c, grid, config_.expectile)));
    values_ = at::tensor(values, at::kFloat).to(ctx.device);
  }

  CriticLoss compute_loss(const Batch& batch, at::Generator& /*generator*/, bool with_metrics) override {
    CriticLoss out;
    out.loss = at::zeros({}, batch.rewards.options());
    out.advantage = advantage(batch.observations, batch.actions);
    if (with_metrics) {
      const auto q_values = rewards_.rewards(batch.observations, batch.actions);
      out.metrics = {{"critic/q_mean", q_values.mean().item<double>()},
                     {"value/v_mean", v(batch.observations).mean().item<double>()}};
    }
    return out;
  }
  void step() override {}
  void zero_grad() override {}

  at::Tensor q(const at::Tensor& observations, const at::Tensor& actions) const override {
    return rewards_.rewards(observations, actions).unsqueeze(0);
  }
  at::Tensor score(const at::Tensor& observations, const at::Tensor& actions) const override {
    return rewards_.rewards(observations, actions);
  }
  at::Tensor advantage(const at::Tensor& observations, const at::Tensor& actions) const override {
    return rewards_.rewards(observations, actions) - v(observations);
  }

 private:
  at::Tensor v(const at::Tensor& observations) const {
    return values_.index_select(0, RewardTable::context_index(observations));
  }

  Config config_;
  std::vector<bandit::Context> contexts_;
  RewardTable rewards_;
  at::Tensor values_;  // [C] V_τ per context
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  using namespace dipole::plugins;
  plugin.add<BanditDataset>("bandit",
                            "contextual bandit with a known answer (docs/algorithms.md, \"The built-in "
                            "bandit (plugins/bandit)\"): offline data",
                            BanditDataset::schema());
  plugin.add<BanditEnvironment>("bandit", "contextual bandit with a known answer: one-step episodes",
                                BanditEnvironment::schema());
  plugin.add<BanditOracleCritic>("bandit_oracle",
                                 "analytic critic of the bandit: Q = r, V = V_τ, A = r − V_τ",
                                 BanditOracleCritic::schema());
}
