// The offline-to-online known-answer problem (docs/online.md, "Known-answer test"): a one-step bandit
// with a constant observation [1] and a 1-D action whose offline data covers only a bad mode, so that
// only online exploration can find the good one. Dataset `finetune_bandit` and Environment
// `finetune_bandit`; the keys are documented in the schemas below.
#include <ATen/ATen.h>

#include <dipole/dataset.hpp>
#include <dipole/environment.hpp>
#include <dipole/plugin.hpp>

#include <algorithm>
#include <random>
#include <string>

namespace dipole::plugins {
namespace {

/// The key `landscape` of both components: connected (true) or disconnected.
template <class C>
Key<C> landscape_key(bool C::*member) {
  return key(member, "landscape",
             "reward r(a): connected = 1 − |a − 0.7| (a slope from the data to the optimum); "
             "disconnected = 0.3 on [−0.7, −0.3], 1 on [0.5, 0.9], 0 elsewhere")
      .choices({{"connected", true}, {"disconnected", false}});
}

double reward(bool connected, double a) {
  if (connected) return 1.0 - std::abs(a - 0.7);
  if (a >= -0.7 && a <= -0.3) return 0.3;
  if (a >= 0.5 && a <= 0.9) return 1.0;
  return 0.0;
}

Spec one_dim_spec() {
  Spec spec;
  spec.obs_dim = 1;
  spec.action_dim = 1;
  spec.action_low = {-1.0};
  spec.action_high = {1.0};
  return spec;
}

/// `size` one-step transitions: s = [1], a ~ N(mean, std²) clipped to [−1 + 1e-5, 1 − 1e-5], r = r(a),
/// s′ = s, mask 0, terminal 1. Each row is an episode. Drawn from the component's seed.
class FinetuneBanditDataset final : public Dataset {
 public:
  struct Config {
    bool connected = true;
    std::int64_t size = 10000;
    double behaviour_mean = -0.5;
    double behaviour_std = 0.05;
  };
  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        landscape_key(&Config::connected),
        key(&Config::size, "size", "number of transitions").range(1, 10000000),
        key(&Config::behaviour_mean, "behaviour_mean", "mean of the behaviour actions").range(-1, 1),
        key(&Config::behaviour_std, "behaviour_std", "standard deviation of the behaviour actions")
            .range(0, 10),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  FinetuneBanditDataset(const Params& params, const BuildContext& ctx) : device_(ctx.device) {
    const Config config = keys().read(params);
    const bool connected = config.connected;
    const std::int64_t n = config.size;
    std::mt19937_64 rng(ctx.seed);
    std::normal_distribution<double> behaviour(config.behaviour_mean, config.behaviour_std);
    std::vector<float> actions, rewards;
    for (std::int64_t i = 0; i < n; ++i) {
      const double a = std::clamp(behaviour(rng), -1.0 + 1e-5, 1.0 - 1e-5);
      actions.push_back(static_cast<float>(a));
      rewards.push_back(static_cast<float>(reward(connected, a)));
    }
    const auto options = at::TensorOptions().dtype(at::kFloat);
    data_.observations = at::ones({n, 1}, options).to(device_);
    data_.next_observations = data_.observations;
    data_.actions = at::tensor(actions, options).reshape({n, 1}).to(device_);
    data_.rewards = at::tensor(rewards, options).to(device_);
    data_.masks = at::zeros({n}, options).to(device_);
    data_.terminals = at::ones({n}, options).to(device_);
  }

  Spec spec() const override { return one_dim_spec(); }
  std::int64_t size() const override { return data_.actions.size(0); }
  Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    return rows(at::randint(size(), {batch_size}, generator, at::kLong).to(device_));
  }
  std::int64_t num_episodes() const override { return size(); }
  Batch episode(std::int64_t index) const override {
    if (index < 0 || index >= size())
      throw DataError("finetune_bandit: episode " + std::to_string(index) + " does not exist");
    return rows(at::full({1}, index, at::TensorOptions().dtype(at::kLong).device(device_)));
  }

 private:
  Batch rows(const at::Tensor& index) const {
    Batch b;
    b.observations = data_.observations.index_select(0, index);
    b.actions = data_.actions.index_select(0, index);
    b.rewards = data_.rewards.index_select(0, index);
    b.next_observations = b.observations;
    b.masks = data_.masks.index_select(0, index);
    b.terminals = data_.terminals.index_select(0, index);
    return b;
  }

  c10::Device device_;
  Batch data_;
};

/// One-step episodes: reset() returns [1]; step(a) pays r(a), terminates, success = r ≥ 0.9.
class FinetuneBanditEnvironment final : public Environment {
 public:
  struct Config {
    bool connected = true;
  };
  static const Keys<Config>& keys() {
    static const Keys<Config> keys{landscape_key(&Config::connected)};
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  FinetuneBanditEnvironment(const Params& params, const BuildContext& /*ctx*/)
      : connected_(keys().read(params).connected) {}

  Spec spec() const override { return one_dim_spec(); }
  std::int64_t max_episode_steps() const override { return 1; }
  at::Tensor reset(std::uint64_t /*seed*/) override { return at::ones({1}, at::kFloat); }
  StepResult step(const at::Tensor& action) override {
    const double a = std::clamp(action.reshape({-1})[0].item<double>(), -1.0, 1.0);
    StepResult r;
    r.observation = at::ones({1}, at::kFloat);
    r.reward = reward(connected_, a);
    r.terminated = true;
    r.success = r.reward >= 0.9;
    return r;
  }

 private:
  bool connected_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  using namespace dipole::plugins;
  plugin.add<FinetuneBanditDataset>(
      "finetune_bandit", "offline-to-online known answer: data only in the bad mode (docs/online.md)",
      FinetuneBanditDataset::schema());
  plugin.add<FinetuneBanditEnvironment>(
      "finetune_bandit", "offline-to-online known answer: one-step episodes, r(a) by landscape",
      FinetuneBanditEnvironment::schema());
}
