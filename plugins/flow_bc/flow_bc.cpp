// Algorithm `flow_bc` (docs/algorithms.md, "Flow BC"): behaviour cloning with one flow denoiser. The control
// of every learning comparison: its target is the behaviour policy μ itself.
//
//   update:  z ~ N(0, I), t ~ U[0, 1) (or the grid), x_t = (1 − t)z + t·a, u = a − z,
//            L = mean_b mean_d (v_θ(s, x_t, t) − u)²          (w ≡ 1, docs/algorithms.md, "Flow matching")
//   act:     the [sampler] (euler by default, docs/algorithms.md, "Euler sampling and guidance") on v_θ.
//
// Sections it builds: slots(). Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/algorithm.hpp>
#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/sampling.hpp>
#include <dipole/sdk/slots.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/plugin.hpp>
#include <dipole/sampler.hpp>

namespace dipole::plugins {
namespace {

class FlowBc final : public ComposedAlgorithm {
 public:
  using Config = FlowTime;  ///< t_sampling, time_grid
  static Schema schema() { return flow_time_keys().schema(); }

  static Slots slots(const Params& /*params*/) {
    return {slot("denoiser", Kind::Denoiser, "the behaviour-cloning flow").need("members", 1),
            slot("sampler", Kind::Sampler, "integrates the flow, e.g. guided_euler")};
  }

  FlowBc(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), config_(flow_time_keys().read(params)) {
    denoiser_ = build<Denoiser>("denoiser", ctx);
    act_with(build<Sampler>("sampler", ctx), ensemble_field(*denoiser_, ctx.spec.action_dim), nullptr);
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    const FlowSample flow = flow_sample(batch.actions, generator, config_.sampling, config_.grid);
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

 private:
  Config config_;
  std::shared_ptr<Denoiser> denoiser_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::FlowBc>("flow_bc",
                                      "flow-matching behaviour cloning (docs/algorithms.md, \"Flow BC\")",
                                      dipole::plugins::FlowBc::schema());
}
