// Environment `dmc`: one DeepMind Control Suite task of ExORL (docs/exorl.md, "Tasks";
// plugins/benchmarks/dmc/README.md) chosen by the keys `domain` and `task`, wrapping a Task and its Physics
// (dmc_task.hpp). The only LibTorch file of the plugin (library dipole_dmc_impl, registered by plugin.cpp);
// everything MuJoCo-specific lives in the static library dipole_dmc_tasks. Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/environment.hpp>
#include <dipole/plugin.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "dmc_task.hpp"
#include "registration.hpp"

namespace dipole::plugins {
namespace {

struct DmcConfig {
  std::string domain = "walker";
  std::string task = "stand";
};

std::unique_ptr<dmc::Task> make_configured_task(const Params& params, const DmcConfig& config) {
  try {
    return dmc::make_task(config.domain, config.task);
  } catch (const ConfigError& e) {
    throw ConfigError(params.where("task") + ": " + e.what());
  }
}

/// One instance owns its model and data, so instances share no mutable state.
class DmcEnvironment final : public Environment {
 public:
  using Config = DmcConfig;
  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        key(&Config::domain, "domain",
            "DMC domain: walker, cheetah, quadruped or jaco (docs/exorl.md, \"Tasks\")")
            .one_of({"walker", "cheetah", "quadruped", "jaco"}),
        key(&Config::task, "task",
            "task of the domain: walker stand|walk|run, cheetah run|run_backward, quadruped "
            "walk|run, jaco reach_top_left|reach_top_right")};
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  DmcEnvironment(const Params& params, const BuildContext& /*ctx*/)
      : task_(make_configured_task(params, keys().read(params))), physics_(task_->make_physics()) {
    label_ = "dmc " + task_->domain() + "/" + task_->name();
    spec_.obs_dim = task_->obs_dim();
    spec_.action_dim = task_->action_dim();
    spec_.action_low.assign(static_cast<std::size_t>(spec_.action_dim), -1.0);
    spec_.action_high.assign(static_cast<std::size_t>(spec_.action_dim), 1.0);
  }

  Spec spec() const override { return spec_; }
  std::int64_t max_episode_steps() const override { return task_->episode_steps(); }

  /// docs/exorl.md, "Step, reset and state": reset, forward without actuation (warnings ignored), the task's
  /// initialisation, forward without actuation; a new MuJoCo warning in the last two parts throws
  /// NumericError.
  at::Tensor reset(std::uint64_t seed) override {
    physics_.reset_data();
    physics_.forward_without_actuation();
    dmc::Random random(seed);
    auto before = physics_.warning_counts();
    task_->initialize_episode(physics_, random);
    physics_.check_warnings(before, "reset (initialize_episode)");
    before = physics_.warning_counts();
    physics_.forward_without_actuation();
    physics_.check_warnings(before, "reset");
    steps_ = 0;
    return observation();
  }

  /// docs/exorl.md, "Step, reset and state": action → ctrl, n legacy physics steps, reward and observation of
  /// the new state.
  StepResult step(const at::Tensor& action) override {
    if (steps_ < 0) throw std::logic_error(label_ + ": step() before reset()");
    if (steps_ >= task_->episode_steps())
      throw std::logic_error(label_ + ": step() after the episode was truncated at " +
                             std::to_string(task_->episode_steps()) + " steps; call reset()");
    const auto a = action.detach().to(at::kCPU, at::kFloat).contiguous().reshape({-1});  // [action_dim]
    if (a.numel() != spec_.action_dim)
      throw std::invalid_argument(label_ + ": action has " + std::to_string(a.numel()) +
                                  " entries, expected " + std::to_string(spec_.action_dim));
    physics_.set_action(a.data_ptr<float>(), static_cast<int>(a.numel()));
    const auto before = physics_.warning_counts();
    physics_.legacy_step(task_->physics_steps_per_action());
    ++steps_;
    physics_.check_warnings(before, "step " + std::to_string(steps_));

    StepResult result;
    result.reward = task_->reward(physics_);
    result.observation = observation();
    result.truncated = steps_ == task_->episode_steps();
    return result;
  }

  at::Tensor simulator_state() const override {
    auto state = at::empty({physics_.state_dim()}, at::kDouble);  // [nq + nv + na]
    physics_.get_state(state.data_ptr<double>());
    return state;
  }

 private:
  at::Tensor observation() const {
    auto obs = at::empty({spec_.obs_dim}, at::kFloat);  // [obs_dim]
    task_->observation(physics_, obs.data_ptr<float>());
    return obs;
  }

  std::unique_ptr<dmc::Task> task_;
  dmc::Physics physics_;
  Spec spec_;
  std::string label_;
  std::int64_t steps_ = -1;  // steps taken in the current episode; −1 before the first reset
};

}  // namespace
}  // namespace dipole::plugins

void dipole::dmc::register_environment(PluginDescriptor& plugin) {
  using dipole::plugins::DmcEnvironment;
  plugin.add<DmcEnvironment>("dmc",
                             "DeepMind Control Suite tasks of ExORL (walker, cheetah, quadruped, jaco) on "
                             "MuJoCo (docs/exorl.md)",
                             DmcEnvironment::schema());
}
