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
// Sections it builds: [critic] (iql), [denoiser] (one member, time input), [sampler]. Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/algorithm.hpp>
#include <dipole/critic.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/plugin.hpp>
#include <dipole/sampler.hpp>
#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/sampling.hpp>
#include <dipole/sdk/state_prefix.hpp>

namespace dipole::plugins {
namespace {

class Ifql final : public Algorithm {
 public:
  static Schema schema() { return flow_time_schema(); }

  Ifql(const Params& params, const BuildContext& ctx) : time_(flow_time(params)) {
    critic_ = ctx.builder->make<Critic>("critic", ctx);
    BuildContext denoiser_ctx = ctx;
    denoiser_ctx.denoiser = DenoiserShape{};  // one member, no labels, with time input
    denoiser_ = ctx.builder->make<Denoiser>("denoiser", denoiser_ctx);
    sampler_ = ctx.builder->make<Sampler>("sampler", ctx);
    field_ = ensemble_field(*denoiser_, ctx.spec.action_dim);
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

  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override {
    at::NoGradGuard no_grad;
    // ActMode::Evaluate and ActMode::Explore: the same best-of-N rule (docs/algorithms.md, "IFQL").
    return sampler_->sample(observations, field_, critic_.get(), options, generator);
  }

  ActOptions act_defaults() const override { return sampler_->defaults(); }

  StateDict state() const override { return gather_state(parts()); }
  void load_state(const StateDict& state) override { scatter_state(state, parts()); }

 private:
  StateParts parts() const { return {{"critic.", critic_.get()}, {"denoiser.", denoiser_.get()}}; }

  FlowTime time_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> denoiser_;
  std::shared_ptr<Sampler> sampler_;
  VelocityField field_;  // refers to *denoiser_
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Ifql>(
      "ifql", "IFQL: flow BC + IQL critic, best-of-N by the online Q (docs/algorithms.md, IFQL)",
      dipole::plugins::Ifql::schema());
}
