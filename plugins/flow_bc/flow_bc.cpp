// Algorithm `flow_bc` (docs/algorithms.md, "Flow BC"): behaviour cloning with one flow denoiser. The control
// of every learning comparison: its target is the behaviour policy μ itself.
//
//   update:  z ~ N(0, I), t ~ U[0, 1) (or the grid), x_t = (1 − t)z + t·a, u = a − z,
//            L = mean_b mean_d (v_θ(s, x_t, t) − u)²          (w ≡ 1, docs/algorithms.md, "Flow matching")
//   act:     the [sampler] (euler by default, docs/algorithms.md, "Euler sampling and guidance") on v_θ.
//
// Sections it builds: [denoiser] (one member, no labels) and [sampler]. No critic.
// Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/algorithm.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/plugin.hpp>
#include <dipole/sampler.hpp>
#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/sampling.hpp>
#include <dipole/sdk/state_prefix.hpp>

namespace dipole::plugins {
namespace {

class FlowBc final : public Algorithm {
 public:
  struct Config {
    TimeSampling t_sampling = TimeSampling::Uniform;
    std::int64_t time_grid = kDefaultTimeGrid;
  };

  static Schema schema() { return flow_time_schema(); }

  static Config read_config(const Params& params) {
    Config config;
    const FlowTime time = flow_time(params);
    config.t_sampling = time.sampling;
    config.time_grid = time.grid;
    return config;
  }

  FlowBc(const Params& params, const BuildContext& ctx) : config_(read_config(params)) {
    BuildContext denoiser_ctx = ctx;
    denoiser_ctx.denoiser = DenoiserShape{};  // one member, no labels, with time input
    denoiser_ = ctx.builder->make<Denoiser>("denoiser", denoiser_ctx);
    sampler_ = ctx.builder->make<Sampler>("sampler", ctx);
    field_ = ensemble_field(*denoiser_, ctx.spec.action_dim);
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    const FlowSample flow = flow_sample(batch.actions, generator, config_.t_sampling, config_.time_grid);
    const auto velocity =
        denoiser_->forward(batch.observations, flow.x_t, flow.t, at::Tensor());  // [1, B, d]
    const auto loss = weighted_flow_loss(flow_error(velocity, flow.target), at::Tensor()).sum();
    check_finite(loss, "flow_bc loss");
    denoiser_->zero_grad();
    loss.backward();
    Metrics metrics;
    if (with_metrics) {
      metrics.emplace_back("loss/flow", loss.item<double>());
      metrics.emplace_back("grad_norm/denoiser", grad_norm(denoiser_->parameters()));
    }
    denoiser_->step();
    return metrics;
  }

  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override {
    at::NoGradGuard no_grad;
    return sampler_->sample(observations, field_, nullptr, options, generator);
  }

  ActOptions act_defaults() const override { return sampler_->defaults(); }

  StateDict state() const override { return gather_state(parts()); }
  void load_state(const StateDict& state) override { scatter_state(state, parts()); }

 private:
  StateParts parts() const { return {{"denoiser.", denoiser_.get()}}; }

  Config config_;
  std::shared_ptr<Denoiser> denoiser_;
  std::shared_ptr<Sampler> sampler_;
  VelocityField field_;  // refers to *denoiser_
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::FlowBc>("flow_bc",
                                      "flow-matching behaviour cloning (docs/algorithms.md, \"Flow BC\")",
                                      dipole::plugins::FlowBc::schema());
}
