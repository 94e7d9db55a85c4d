// Algorithm `ifql`: implicit flow Q-learning, the flow version of IDQL as FQL's authors run it
// (docs/algorithms.md, "IFQL"). ONE flow network trained by plain flow BC, an IQL critic trained beside
// it, and actions picked best-of-N by the online critic. The critic never shapes the flow's training.
//
// update, one joint step from the pre-update parameters, random draws in this order:
//   critic:  the [critic] (iql) computes L_V + L_Q (it draws nothing):
//            L_V = mean_b L2_τ(min_j Q̄_j(s, a) − V(s)),  y = r + γ·m·V(s′),  L_Q = mean_b Σ_j (Q_j(s, a) −
//            y)²
//   flow:    z ~ N(0, I), then t ~ U[0, 1) (or the grid); x_t = (1 − t)·z + t·a, u = a − z
//            L_flow = mean_b mean_d (v_θ(s, x_t, t) − u)²                      (unweighted)
//   L = L_V + L_Q + L_flow; one backward; every optimiser steps; the critic Polyak-updates Q̄.
//   (Separate Adams equal FQL's single Adam here: every parameter gets a gradient at every step.)
// act: the [sampler], normally best_of_n (N_c = 32) over euler (N = 10): N_c flow samples per
//   observation, each clipped, the one with the highest min_j Q_j(s, a_c) of the ONLINE critic
//   (iql's rs_critic = "online") per observation. Evaluation and exploration use the same stochastic
//   rule (FQL ignores the temperature for IFQL), so ActOptions::mode changes nothing.
//
// Sections it builds: slots(). Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/algorithm.hpp>
#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/sampling.hpp>
#include <dipole/sdk/slots.hpp>
#include <dipole/critic.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/plugin.hpp>
#include <dipole/sampler.hpp>

namespace dipole::plugins {
namespace {

class Ifql final : public ComposedAlgorithm {
 public:
  using Config = FlowTime;  ///< t_sampling, time_grid
  static Schema schema() { return flow_time_keys().schema(); }

  static Slots slots(const Params& /*params*/) {
    return {slot("critic", Kind::Critic, "IQL critic; its online Q scores the candidates"),
            slot("denoiser", Kind::Denoiser, "the behaviour-cloning flow").need("members", 1),
            slot("sampler", Kind::Sampler, "best_of_n over the flow (docs/algorithms.md, \"IFQL\")")};
  }

  Ifql(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), time_(flow_time_keys().read(params)) {
    critic_ = build<Critic>("critic", ctx);
    denoiser_ = build<Denoiser>("denoiser", ctx);
    // ActMode::Evaluate and ActMode::Explore: the same best-of-N rule (docs/algorithms.md, "IFQL").
    act_with(build<Sampler>("sampler", ctx), ensemble_field(*denoiser_, ctx.spec.action_dim), critic_.get());
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    CriticLoss critic = critic_->compute_loss(batch, generator, with_metrics);
    const FlowSample flow = flow_sample(batch.actions, generator, time_.sampling, time_.grid);
    const auto velocity = denoiser_->forward_member(0, batch.observations, flow.x_t, flow.t, at::Tensor());
    const auto flow_loss = flow_error(velocity, flow.target).mean();
    const auto loss = critic.loss + flow_loss;
    check_finite(loss, "ifql loss");
    critic_->zero_grad();
    denoiser_->zero_grad();
    loss.backward();
    Metrics metrics;
    if (with_metrics) {
      metrics = std::move(critic.metrics);
      metrics.emplace_back("loss/flow", flow_loss.item<double>());
      metrics.emplace_back("loss/total", loss.item<double>());
      for (const auto& m : critic_->grad_norms()) metrics.push_back(m);
      metrics.emplace_back("grad_norm/denoiser", grad_norm(denoiser_->parameters()));
    }
    critic_->step();
    denoiser_->step();
    return metrics;
  }

 private:
  FlowTime time_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> denoiser_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Ifql>(
      "ifql", "IFQL: flow BC + IQL critic, best-of-N by the online Q (docs/algorithms.md, IFQL)",
      dipole::plugins::Ifql::schema());
}
