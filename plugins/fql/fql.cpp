// Algorithm `fql`: flow Q-learning (Park, Li, Levine 2025, "Flow Q-Learning"; docs/algorithms.md, "FQL").
// A BC flow v_θ(s, x, t), a one-step policy μ_φ(s, z) distilled from it and pushed up a TD critic.
//
// update (docs/algorithms.md, "FQL"), one joint step from pre-update parameters, random draws in this order
// (docs/algorithms.md, "Random draws and reproducibility"):
//   critic:  z′ ~ N(0, I); a′ = clip(μ_φ(s′, z′), −1, 1) (no gradient) → batch.next_actions;
//            the [critic] (td) computes L_Q = mean_b mean_j (Q_j(s, a) − y)², y = r + γ·m·agg_j Q̄_j(s′, a′)
//   actor:   L_flow    = plain flow matching of v_θ on (s, a), (z, t) drawn after z′
//            z ~ N(0, I) (a new draw);  a_flow = clip(Euler_N(v_θ; s, z), −1, 1)  (no gradient)
//            L_distill = mean_b mean_d (μ_φ(s, z) − a_flow)²
//            q = mean_j Q_j(s, clip(μ_φ(s, z), −1, 1));  L_q = −mean_b q  (× 1/stop_grad(mean_b |q|) when
//            normalize_q_loss)
//            L_actor = L_flow + α·L_distill + L_q
//   Gradient isolation (docs/algorithms.md, "Gradient isolation"): L_actor is back-propagated only into the
//   BC flow and the one-step policy (backward with explicit inputs), so the critic's gradients stay exactly
//   those of L_Q; the BC flow gets gradient only from L_flow (a_flow is computed without a graph). Then every
//   optimiser steps and the critic Polyak-updates its target.
// act: the [sampler] (direct): a = clip(μ_φ(s, z), −1, 1) with a fresh z.
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

class Fql final : public ComposedAlgorithm {
 public:
  struct Config {
    double alpha = 10.0;
    std::int64_t flow_steps = 10;
    bool normalize_q_loss = false;
  };

  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        key(&Config::alpha, "alpha",
            "α, weight of the distillation loss (per-environment values: docs/algorithms.md, FQL)")
            .range(0.0, 1e9),
        key(&Config::flow_steps, "flow_steps",
            "Euler steps N of the BC flow that produces the distillation target")
            .range(1, 100000),
        key(&Config::normalize_q_loss, "normalize_q_loss", "multiply L_q by 1/stop_grad(mean_b |q|)"),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  static Slots slots(const Params& /*params*/) {
    return {slot("critic", Kind::Critic, "the TD critic whose Q the policy climbs"),
            slot("bc_flow", Kind::Denoiser, "the BC flow f(s, x, t)").from("denoiser").need("members", 1),
            slot("one_step_policy", Kind::Denoiser, "μ(s, z): no time input, noise z of the action's width")
                .need("members", 1)
                .need("time_input", 0)
                .need("noise_input", 1),
            slot("sampler", Kind::Sampler, "acts with μ, e.g. direct")};
  }

  Fql(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), config_(keys().read(params)), action_dim_(ctx.spec.action_dim) {
    critic_ = build<Critic>("critic", ctx);
    bc_flow_ = build<Denoiser>("bc_flow", ctx);
    one_step_policy_ = build<Denoiser>("one_step_policy", ctx);
    bc_field_ = ensemble_field(*bc_flow_, action_dim_);
    act_with(build<Sampler>("sampler", ctx), direct_field(*one_step_policy_, action_dim_), critic_.get());

    actor_parameters_ = bc_flow_->parameters();
    for (const auto& p : one_step_policy_->parameters()) actor_parameters_.push_back(p);
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    const auto& obs = batch.observations;
    const auto float_options = at::TensorOptions().dtype(at::kFloat);

    // Critic: bootstrap on the one-step policy's action at s′.
    Batch critic_batch = batch;
    {
      at::NoGradGuard no_grad;
      const auto next_noise =
          at::randn({obs.size(0), action_dim_}, generator, float_options).to(obs.device());
      critic_batch.next_actions = policy_action(batch.next_observations, next_noise).clamp(-1.0, 1.0);
    }
    CriticLoss critic = critic_->compute_loss(critic_batch, generator, with_metrics);
    check_finite(critic.loss, "fql critic loss");

    // BC flow matching.
    const FlowSample flow = flow_sample(batch.actions, generator);
    const auto flow_loss =
        flow_error(bc_flow_->forward_member(0, obs, flow.x_t, flow.t, at::Tensor()), flow.target).mean();

    // Distillation onto the BC flow's Euler map from the same z.
    const auto noise = at::randn({obs.size(0), action_dim_}, generator, float_options).to(obs.device());
    const auto flow_actions = euler_sample(obs, bc_field_, config_.flow_steps, noise);  // no graph, clipped
    const auto actions = policy_action(obs, noise);                                     // [B, d]
    const auto distill_loss = (actions - flow_actions).pow(2).mean();

    // Q term: gradient reaches the policy through its actions only.
    const auto q = critic_->q(obs, actions.clamp(-1.0, 1.0)).mean(0);  // [B]
    auto q_loss = -q.mean();
    if (config_.normalize_q_loss) q_loss = q_loss / q.abs().mean().detach();

    const auto actor_loss = flow_loss + config_.alpha * distill_loss + q_loss;
    check_finite(actor_loss, "fql actor loss");

    critic_->zero_grad();
    bc_flow_->zero_grad();
    one_step_policy_->zero_grad();
    actor_loss.backward({}, /*retain_graph=*/c10::nullopt, /*create_graph=*/false, actor_parameters_);
    Metrics metrics;
    if (with_metrics) {
      // Must be exactly 0: the actor loss left no gradient in the critic (docs/algorithms.md, "Gradient
      // isolation").
      double critic_after_actor = 0.0;
      for (const auto& [name, value] : critic_->grad_norms()) critic_after_actor += value * value;
      metrics = critic.metrics;
      metrics.emplace_back("isolation/critic_grad_norm_after_actor", std::sqrt(critic_after_actor));
    }
    if (critic.loss.requires_grad()) critic.loss.backward();

    if (with_metrics) {
      metrics.emplace_back("loss/flow", flow_loss.item<double>());
      metrics.emplace_back("loss/distill", distill_loss.item<double>());
      metrics.emplace_back("loss/q", q_loss.item<double>());
      metrics.emplace_back("actor/q_mean", q.mean().item<double>());
      for (const auto& m : critic_->grad_norms()) metrics.push_back(m);
      metrics.emplace_back("grad_norm/bc_flow", grad_norm(bc_flow_->parameters()));
      metrics.emplace_back("grad_norm/one_step_policy", grad_norm(one_step_policy_->parameters()));
    }
    critic_->step();
    bc_flow_->step();
    one_step_policy_->step();
    return metrics;
  }

 private:
  /// μ_φ(s, z) → [B, d], unclipped.
  at::Tensor policy_action(const at::Tensor& observations, const at::Tensor& noise) const {
    return one_step_policy_->forward_member(0, observations, noise, at::Tensor(), at::Tensor());
  }

  Config config_;
  std::int64_t action_dim_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> bc_flow_;
  std::shared_ptr<Denoiser> one_step_policy_;
  VelocityField bc_field_;  // refers to *bc_flow_
  std::vector<at::Tensor> actor_parameters_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Fql>("fql",
                                   "flow Q-learning: BC flow + one-step policy distilled and pushed up a TD "
                                   "critic (docs/algorithms.md, \"FQL\")",
                                   dipole::plugins::Fql::schema());
}
