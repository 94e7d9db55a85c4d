// Environment `ogbench_locomaze`: OGBench's single-task locomotion environments (pointmaze, antmaze,
// humanoidmaze, antsoccer) on the MuJoCo C API. This file only converts between tensors and the
// MuJoCo-only core (loco_env.hpp); plugin.cpp registers it. Keys: README.md; facts: docs/ogbench.md.
#include <ATen/ATen.h>

#include <dipole/environment.hpp>
#include <dipole/plugin.hpp>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "loco_env.hpp"
#include "registration.hpp"

namespace dipole::plugins {
namespace {

using locomaze::LocoEnv;

class OgbenchLocomaze final : public Environment {
 public:
  struct Config {
    std::string env = "humanoidmaze-medium-singletask-task1-v0";
    locomaze::RewardTiming reward_timing = locomaze::RewardTiming::Pre;
    locomaze::ResetQuaternion reset_quaternion = locomaze::ResetQuaternion::Raw;
  };
  static const Keys<Config>& keys() {
    using locomaze::ResetQuaternion;
    using locomaze::RewardTiming;
    static const Keys<Config> keys{
        key(&Config::env, "env",
            "OGBench single-task env id <category>-singletask[-task<N>]-v0, category pointmaze-"
            "{medium,large,giant,teleport}, antmaze-{medium,large,giant,teleport}, humanoidmaze-"
            "{medium,large,giant} or antsoccer-{arena,medium}, N in 1..5 (without taskN: task1, "
            "antsoccer task4)"),
        key(&Config::reward_timing, "reward_timing",
            "pre: reward, terminated and success of a step from the state before the action "
            "(OGBench >= 1.2.0); post: from the state after it (OGBench 1.1.x, as pinned by FQL)")
            .choices({{"pre", RewardTiming::Pre}, {"post", RewardTiming::Post}}),
        key(&Config::reset_quaternion, "reset_quaternion",
            "ant/antsoccer reset observation and state: raw = the noisy unnormalised quaternions "
            "as written (MuJoCo >= 3.2, current OGBench); normalized = normalised by the forward "
            "pass (MuJoCo <= 3.1)")
            .choices({{"raw", ResetQuaternion::Raw}, {"normalized", ResetQuaternion::Normalized}})};
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  OgbenchLocomaze(const Params& params, const BuildContext& /*ctx*/) : OgbenchLocomaze(keys().read(params)) {}
  explicit OgbenchLocomaze(const Config& config)
      : env_(std::make_unique<LocoEnv>(config.env, config.reward_timing, config.reset_quaternion)) {
    spec_.obs_dim = env_->scene().obs_dim();
    spec_.action_dim = env_->scene().action_dim();
    spec_.action_low.assign(static_cast<std::size_t>(spec_.action_dim), -1.0);
    spec_.action_high.assign(static_cast<std::size_t>(spec_.action_dim), 1.0);
    action_.resize(static_cast<std::size_t>(spec_.action_dim));
  }

  Spec spec() const override { return spec_; }
  std::int64_t max_episode_steps() const override { return env_->max_episode_steps(); }

  at::Tensor reset(std::uint64_t seed) override {
    env_->reset(seed);
    return observation();
  }

  StepResult step(const at::Tensor& action) override {
    if (env_->steps() < 0) throw std::logic_error("ogbench_locomaze: step() before reset()");
    if (env_->steps() >= env_->max_episode_steps())
      throw std::logic_error("ogbench_locomaze: step() after the episode was truncated at " +
                             std::to_string(env_->max_episode_steps()) + " steps; call reset()");
    const auto a = action.detach().to(at::kCPU, at::kDouble).contiguous().reshape({-1});
    if (a.numel() != spec_.action_dim)
      throw std::invalid_argument("ogbench_locomaze: action has " + std::to_string(a.numel()) +
                                  " entries, expected " + std::to_string(spec_.action_dim));
    const double* p = a.data_ptr<double>();
    for (std::size_t i = 0; i < action_.size(); ++i) {
      if (!std::isfinite(p[i]))
        throw NumericError("ogbench_locomaze: action entry " + std::to_string(i) + " is not finite");
      action_[i] = p[i];
    }
    const auto outcome = env_->step(action_.data());
    StepResult result;
    result.observation = observation();
    result.reward = outcome.reward;
    result.terminated = outcome.terminated;
    result.truncated = outcome.truncated;
    result.success = outcome.success;
    return result;
  }

  /// [nq + nv] float64: qpos then qvel (the `ogbench` recorder's layout for locomotion files).
  at::Tensor simulator_state() const override {
    const auto s = env_->state();
    auto state = at::empty({static_cast<std::int64_t>(s.size())}, at::kDouble);
    std::copy(s.begin(), s.end(), state.data_ptr<double>());
    return state;
  }

 private:
  at::Tensor observation() const {
    const auto& values = env_->observation();
    auto obs = at::empty({static_cast<std::int64_t>(values.size())}, at::kFloat);
    float* out = obs.data_ptr<float>();
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i]);
    return obs;
  }

  std::unique_ptr<LocoEnv> env_;
  Spec spec_;
  std::vector<double> action_;
};

}  // namespace
}  // namespace dipole::plugins

void dipole::locomaze::register_environment(PluginDescriptor& plugin) {
  using dipole::plugins::OgbenchLocomaze;
  plugin.add<OgbenchLocomaze>(
      "ogbench_locomaze",
      "OGBench single-task locomotion (pointmaze, antmaze, humanoidmaze, antsoccer) on "
      "MuJoCo (docs/ogbench.md)",
      OgbenchLocomaze::schema());
}
