// Algorithm `rebrac`: TD3+BC with decoupled actor/critic behaviour-cloning penalties and LayerNorm
// critics (Tarasov et al. 2023), as the FQL code base runs it (docs/algorithms.md, "ReBRAC").
//
// update i (1-based, counted by the algorithm and kept in its state), random draws: ε, then nothing else:
//   critic (every step): ã′ = clip(π̄(s′) + clip(σ_n·ε, −c_n, c_n), −1, 1), ε ~ N(0, I)      (no gradient)
//            penalty = α_c·Σ_d (ã′ − a′_D)², a′_D = batch.next_actions (the dataset's next action;
//            0 at terminal rows with next_action_mode = "within_trajectory")
//            L_Q = mean_{j,b} (Q_j(s, a) − r − γ·m·(min_j Q̄_j(s′, ã′) − penalty))²   ([critic],
//            rebrac_critic)
//   actor (only when i mod k_a = 0): π = tanh(μ_ψ(s)); q = min_j Q_j(s, π) (gradient into π only);
//            L_π = −mean_b q / stop_grad(mean_b |q|) + α_a·mean_b Σ_d (π − a)²
//   one backward of L_Q (+ L_π); the critic's Adam steps; the actor's Adam steps on actor steps and,
//   with actor_momentum_on_skip (FQL's single optax Adam), also on the others with a zero gradient
//   (its moments decay and the actor still moves by −lr·m̂/(√v̂ + ε)); on actor steps only, Q̄ and π̄
//   Polyak-update (τ_p of the critic, from the post-step parameters, or the pre-step ones with the critic's
//   polyak_source = "pre_step", FQL's code).
// act: Evaluate → clip(tanh μ_ψ(s)); Explore → clip(tanh μ_ψ(s) + clip(σ_n·ξ, −c_n, c_n)).
// Sections it builds: slots(). Keys: README.md.
#include <ATen/ATen.h>

#include <dipole/algorithm.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/slots.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/plugin.hpp>

#include "rebrac_critic.hpp"

namespace dipole::plugins {
namespace {

class Rebrac final : public ComposedAlgorithm {
 public:
  struct Config {
    double alpha_actor = 0.0;
    double alpha_critic = 0.0;
    std::int64_t actor_freq = 2;
    double actor_noise = 0.2;
    double actor_noise_clip = 0.5;
    bool tanh_squash = true;
    bool momentum_on_skip = true;
    bool within_trajectory = false;
  };

  static const Keys<Config>& keys() {
    using C = Config;
    static const Keys<C> keys{
        key(&C::alpha_actor, "alpha_actor", "α_a, BC weight of the actor loss (per task)").range(0.0, 1e6),
        key(&C::alpha_critic, "alpha_critic",
            "α_c, weight of the BC penalty inside the critic target (per task)")
            .range(0.0, 1e6),
        key(&C::actor_freq, "actor_freq",
            "k_a: the actor and both targets update on steps i with i mod k_a = 0")
            .range(1, 1000000),
        key(&C::actor_noise, "actor_noise", "σ_n, std of the target smoothing and exploration noise")
            .range(0.0, 10.0),
        key(&C::actor_noise_clip, "actor_noise_clip", "c_n, clip of that noise").range(0.0, 10.0),
        key(&C::tanh_squash, "tanh_squash", "π = tanh(μ_ψ(s)) (else clip(μ_ψ(s), −1, 1))"),
        key(&C::momentum_on_skip, "actor_momentum_on_skip",
            "step the actor's Adam with a zero gradient on non-actor steps (FQL's single Adam); "
            "false: the actor's Adam steps only on actor steps (CORL)"),
        key(&C::within_trajectory, "next_action_mode",
            "a′_D of the critic penalty: next_row = batch.next_actions as the dataset gives it (FQL); "
            "within_trajectory = penalty 0 at terminal rows (CORL)")
            .choices({{"next_row", false}, {"within_trajectory", true}}),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  static Slots slots(const Params& /*params*/) {
    return {
        slot("critic", Kind::Critic, "twin Q with the BC penalty in its target").need("rebrac_penalty", 1),
        slot("actor", Kind::Denoiser, "μ_ψ(s): the observation is the only input").need("time_input", 0),
        slot("actor_target", Kind::Denoiser, "target copy of [actor]").from("actor").need("time_input", 0)};
  }

  Rebrac(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), config_(keys().read(params)), action_dim_(ctx.spec.action_dim) {
    critic_ = std::dynamic_pointer_cast<RebracCritic>(build<Critic>("critic", ctx));
    if (!critic_) throw ConfigError("critic: the rebrac algorithm needs critic type \"rebrac_critic\"");
    actor_ = build<Denoiser>("actor", ctx);
    actor_target_ = build<Denoiser>("actor_target", ctx);
    {
      at::NoGradGuard no_grad;
      const auto online = actor_->parameters(), target = actor_target_->parameters();
      for (std::size_t i = 0; i < online.size(); ++i) target[i].copy_(online[i]);
    }
    step_ = at::zeros({}, at::kLong);
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    const auto& obs = batch.observations;
    const std::int64_t i = step_.item<std::int64_t>() + 1;
    step_.fill_(i);
    const bool actor_step = i % config_.actor_freq == 0;

    Batch critic_batch = batch;
    at::Tensor penalty;
    {
      at::NoGradGuard no_grad;
      const auto eps = at::randn({obs.size(0), action_dim_}, generator, at::TensorOptions().dtype(at::kFloat))
                           .to(obs.device());
      const auto next = (policy(*actor_target_, batch.next_observations) + noise(eps)).clamp(-1.0, 1.0);
      critic_batch.next_actions = next;
      if (config_.alpha_critic > 0) {
        if (!batch.next_actions.defined())
          throw ConfigError(
              "rebrac: alpha_critic > 0 needs the dataset's next actions (batch.next_actions); this dataset "
              "does not provide them");
        penalty = config_.alpha_critic * (next - batch.next_actions).pow(2).sum(-1);
        if (config_.within_trajectory) penalty = penalty * (1 - batch.terminals);
      }
    }
    CriticLoss critic = critic_->loss(critic_batch, penalty, with_metrics);
    check_finite(critic.loss, "rebrac critic loss");

    at::Tensor total = critic.loss, actor_loss, q, bc, lambda;
    if (actor_step) {
      const auto pi = policy(*actor_, obs);         // [B, d], graph into the actor
      q = std::get<0>(critic_->q(obs, pi).min(0));  // [B], graph into π only
      lambda = 1.0 / q.abs().mean().detach();
      bc = (pi - batch.actions).pow(2).sum(-1).mean();
      actor_loss = -(lambda * q).mean() + config_.alpha_actor * bc;
      check_finite(actor_loss, "rebrac actor loss");
      total = total + actor_loss;
    }
    critic_->zero_grad();
    actor_->zero_grad();  // on non-actor steps the actor's gradient stays zero (or undefined: also zero)
    total.backward();

    Metrics metrics;
    if (with_metrics) {
      at::NoGradGuard no_grad;
      metrics = critic.metrics;
      metrics.emplace_back("critic/penalty_mean", penalty.defined() ? penalty.mean().item<double>() : 0.0);
      metrics.emplace_back("schedule/actor_step", actor_step ? 1.0 : 0.0);
      if (actor_step) {
        metrics.emplace_back("loss/actor", actor_loss.item<double>());
        metrics.emplace_back("loss/actor_bc", bc.item<double>());
        metrics.emplace_back("actor/q_mean", q.mean().item<double>());
        metrics.emplace_back("actor/lambda", lambda.item<double>());
      }
      for (const auto& m : critic_->grad_norms()) metrics.push_back(m);
      metrics.emplace_back("grad_norm/actor", grad_norm(actor_->parameters()));
    }
    step_with_polyak(
        critic_->config().polyak_source,
        [&] {
          critic_->optimiser_step();
          if (actor_step || config_.momentum_on_skip) actor_->step();
        },
        [&] {
          if (!actor_step) return;
          critic_->update_target();
          polyak_update(actor_target_->parameters(), actor_->parameters(), critic_->config().polyak);
        });
    return metrics;
  }

  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override {
    at::NoGradGuard no_grad;
    auto actions = policy(*actor_, observations);
    if (options.mode == ActMode::Explore) {
      const auto xi = at::randn(actions.sizes(), generator, at::TensorOptions().dtype(at::kFloat));
      actions = actions + noise(xi.to(actions.device()));
    }
    return actions.clamp(-1.0, 1.0);
  }

  StateDict state() const override {
    StateDict out = ComposedAlgorithm::state();
    out["step"] = step_.clone();
    return out;
  }

  void load_state(const StateDict& state) override {
    ComposedAlgorithm::load_state(state);
    const auto it = state.find("step");
    if (it == state.end()) throw DataError("rebrac: state has no entry 'step'");
    step_.copy_(it->second);
  }

 private:
  /// tanh(μ(s)) (or clip(μ(s), −1, 1) without tanh_squash) → [B, d].
  at::Tensor policy(const Denoiser& actor, const at::Tensor& observations) const {
    const auto mu = actor.forward_member(0, observations, at::Tensor(), at::Tensor(), at::Tensor());
    return config_.tanh_squash ? mu.tanh() : mu.clamp(-1.0, 1.0);
  }

  /// clip(σ_n·ξ, −c_n, c_n)
  at::Tensor noise(const at::Tensor& xi) const {
    return (config_.actor_noise * xi).clamp(-config_.actor_noise_clip, config_.actor_noise_clip);
  }

  Config config_;
  std::int64_t action_dim_;
  std::shared_ptr<RebracCritic> critic_;
  std::shared_ptr<Denoiser> actor_;
  std::shared_ptr<Denoiser> actor_target_;
  at::Tensor step_;  ///< int64 scalar: updates taken (the global counter i of the last update)
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Rebrac>(
      "rebrac",
      "ReBRAC: TD3+BC with decoupled actor/critic BC penalties, LayerNorm critics, actor every k_a steps "
      "(docs/algorithms.md, ReBRAC)",
      dipole::plugins::Rebrac::schema());
  plugin.add<dipole::plugins::RebracCritic>(
      "rebrac_critic",
      "ReBRAC's twin-Q critic: min target Q̄ minus a per-sample BC penalty, target updated on the "
      "algorithm's actor steps",
      dipole::plugins::RebracCritic::schema());
}
