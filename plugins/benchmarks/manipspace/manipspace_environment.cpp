// Environment `ogbench`: OGBench's single-task manipulation environments (cube-single, cube-double,
// scene, puzzle-3x3) on the MuJoCo C API; docs/ogbench.md, "Manipulation environments". This file only
// converts between tensors and the MuJoCo-only core (task_env.hpp); plugin.cpp registers it. Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/environment.hpp>
#include <dipole/plugin.hpp>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "registration.hpp"
#include "task_env.hpp"

namespace dipole::plugins {
namespace {

using manipspace::Action;
using manipspace::SingleTaskEnv;

class OgbenchManipulation final : public Environment {
 public:
  struct Config {
    std::string env = "cube-single-singletask-task2-v0";
    manipspace::RewardTiming reward_timing = manipspace::RewardTiming::Pre;
  };
  static const Keys<Config>& keys() {
    using manipspace::RewardTiming;
    static const Keys<Config> keys{
        key(&Config::env, "env",
            "OGBench single-task env id <category>-singletask[-task<N>]-v0, category cube-single, "
            "cube-double, scene or puzzle-3x3, N in 1..5 (without taskN: the category's default task)"),
        key(&Config::reward_timing, "reward_timing",
            "pre: reward r(s_t) and terminated = success(s_t) (OGBench >= 1.2.0); post: r(s_{t+1}), "
            "success(s_{t+1}) (OGBench <= 1.1.5, as pinned by FQL)")
            .choices({{"pre", RewardTiming::Pre}, {"post", RewardTiming::Post}})};
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  OgbenchManipulation(const Params& params, const BuildContext& /*ctx*/)
      : OgbenchManipulation(keys().read(params)) {}
  explicit OgbenchManipulation(const Config& config)
      : env_(std::make_unique<SingleTaskEnv>(config.env, config.reward_timing)) {
    spec_.obs_dim = env_->env().obs_dim();
    spec_.action_dim = 5;
    spec_.action_low.assign(5, -1.0);
    spec_.action_high.assign(5, 1.0);
  }

  Spec spec() const override { return spec_; }
  std::int64_t max_episode_steps() const override { return env_->max_episode_steps(); }

  at::Tensor reset(std::uint64_t seed) override {
    env_->reset(seed);
    return observation();
  }

  StepResult step(const at::Tensor& action) override {
    if (env_->steps() < 0) throw std::logic_error("ogbench: step() before reset()");
    if (env_->steps() >= env_->max_episode_steps())
      throw std::logic_error("ogbench: step() after the episode was truncated at " +
                             std::to_string(env_->max_episode_steps()) + " steps; call reset()");
    const auto a = action.detach().to(at::kCPU, at::kDouble).contiguous().reshape({-1});  // [5]
    if (a.numel() != 5)
      throw std::invalid_argument("ogbench: action has " + std::to_string(a.numel()) +
                                  " entries, expected 5");
    Action values{};
    const double* p = a.data_ptr<double>();
    for (std::size_t i = 0; i < 5; ++i) {
      if (!std::isfinite(p[i]))
        throw NumericError("ogbench: action entry " + std::to_string(i) + " is not finite");
      values[i] = p[i];
    }
    const auto outcome = env_->step(values);
    StepResult result;
    result.observation = observation();
    result.reward = outcome.reward;
    result.terminated = outcome.terminated;
    result.truncated = outcome.truncated;
    result.success = outcome.success;
    return result;
  }

  /// [nq + nv + buttons] float64: qpos, qvel, then the button states (scene 2, puzzle 9): everything
  /// the success indicators need (the model has no actuator activations).
  at::Tensor simulator_state() const override {
    const mjModel* m = env_->env().model();
    const mjData* d = env_->env().data();
    const auto& buttons = env_->env().button_states();
    auto state = at::empty({m->nq + m->nv + static_cast<std::int64_t>(buttons.size())}, at::kDouble);
    double* out = state.data_ptr<double>();
    for (int i = 0; i < m->nq; ++i) *out++ = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) *out++ = d->qvel[i];
    for (const int b : buttons) *out++ = b;
    return state;
  }

 private:
  at::Tensor observation() const {
    auto obs = at::empty({spec_.obs_dim}, at::kFloat);
    float* out = obs.data_ptr<float>();
    const auto values = env_->env().observation();
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i]);
    return obs;
  }

  std::unique_ptr<SingleTaskEnv> env_;
  Spec spec_;
};

}  // namespace
}  // namespace dipole::plugins

void dipole::manipspace::register_environment(PluginDescriptor& plugin) {
  using dipole::plugins::OgbenchManipulation;
  plugin.add<OgbenchManipulation>(
      "ogbench",
      "OGBench single-task manipulation (cube-single, cube-double, scene, puzzle-3x3) on MuJoCo "
      "(docs/ogbench.md, Manipulation environments)",
      OgbenchManipulation::schema());
}
