// Algorithm `iql`: implicit Q-learning with a Gaussian actor extracted by advantage-weighted
// regression, as the FQL code base runs it (docs/algorithms.md, "IQL").
//
// update, one joint step from the pre-update parameters:
//   critic: the [critic] (`iql`) computes L_V + L_Q and the advantage A (advantage_critic = "online"
//           for FQL's IQL: A = min_j Q_j(s, a) − V(s), online Q and V, no gradient)
//   actor:  μ = μ_ψ(s) (the [actor] denoiser: no time input, no noise input), ℓ = log-std (const 0 or a
//           learned vector, clipped to [−5, 2]), σ = exp(ℓ)
//           awr:    w = min(exp(β·A), w_max);  L_π = −mean_b [w · log N(a; μ, diag σ²)]
//           ddpgbc: π = clip(μ) (const) or clip(μ + σ·ξ) (learned); q = min_j Q_j(s, π) (gradient into π
//                   only);  L_π = −mean_b q / stop_grad(mean_b |q|) − β·mean_b log N(a; μ, diag σ²)
//   L_V + L_Q + L_π is back-propagated once; the critic steps (Adam, Polyak) and the actor steps.
// act: Evaluate → clip(μ, −1, 1); Explore → clip(μ + σ·ξ, −1, 1), ξ ~ N(0, I).
// Sections it builds: slots(). Keys: README.md.
#include <ATen/ATen.h>

#include <cmath>

#include <dipole/algorithm.hpp>
#include <dipole/sdk/adam.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/slots.hpp>
#include <dipole/critic.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/plugin.hpp>

namespace dipole::plugins {
namespace {

constexpr double kLogStdMin = -5.0, kLogStdMax = 2.0;

class Iql final : public ComposedAlgorithm {
 public:
  struct Config {
    double alpha = 10.0;
    double max_weight = 100.0;
    bool ddpgbc = false;       ///< actor_loss = "ddpgbc" (else "awr")
    bool learned_std = false;  ///< std = "learned" (else "const")
    double log_std_lr = 3e-4;
    std::optional<double> mean_clip;
  };

  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        key(&Config::alpha, "alpha",
            "β_awr: AWR inverse temperature (actor_loss = awr) or BC weight (actor_loss = ddpgbc); per "
            "task")
            .range(0.0, 1e6),
        key(&Config::max_weight, "max_weight", "w_max, clip of the AWR weights min(exp(β·A), w_max)")
            .range(0.0, 1e30),
        key(&Config::ddpgbc, "actor_loss", "awr (advantage-weighted log-likelihood) or ddpgbc (Q + β·BC)")
            .choices({{"awr", false}, {"ddpgbc", true}}),
        key(&Config::learned_std, "std",
            "actor log-std: const (σ = 1, FQL) or learned (a state-independent vector, init 0, "
            "CFGRL's ExORL IQL); clipped to [−5, 2]")
            .choices({{"const", false}, {"learned", true}}),
        key(&Config::log_std_lr, "log_std_lr", "Adam learning rate of the learned log-std").range(0.0, 1.0),
        key(&Config::mean_clip, "mean_clip",
            "clip the actor mean to [−c, c] before the loss and acting (CFGRL's ExORL IQL: 5); absent: no "
            "clip (FQL)")
            .range(0.0, 1e6),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  static Slots slots(const Params& /*params*/) {
    return {slot("critic", Kind::Critic, "the IQL critic (advantages for AWR)").need("advantage", 1),
            slot("actor", Kind::Denoiser, "μ_ψ(s): the observation is the only input").need("time_input", 0)};
  }

  Iql(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), config_(keys().read(params)), action_dim_(ctx.spec.action_dim) {
    critic_ = build<Critic>("critic", ctx);
    actor_ = build<Denoiser>("actor", ctx);
    log_std_ = at::zeros({action_dim_}, at::TensorOptions().dtype(at::kFloat).device(ctx.device));
    if (config_.learned_std) {
      log_std_.set_requires_grad(true);
      AdamConfig adam;
      adam.lr = config_.log_std_lr;
      log_std_adam_ = Adam({log_std_}, adam);
    }
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    const auto& obs = batch.observations;
    CriticLoss critic = critic_->compute_loss(batch, generator, with_metrics);
    check_finite(critic.loss, "iql critic loss");

    const auto mu = mean(obs);                                      // [B, d], graph into the actor
    const auto log_std = log_std_.clamp(kLogStdMin, kLogStdMax);    // [d]
    const auto log_prob = log_density(batch.actions, mu, log_std);  // [B]
    at::Tensor actor_loss, weights, q_term;
    if (!config_.ddpgbc) {
      weights = exponential_weights(critic.advantage, config_.alpha, config_.max_weight);  // no gradient
      actor_loss = -(weights * log_prob).mean();
    } else {
      auto policy = mu;
      if (config_.learned_std) {
        const auto xi = at::randn(mu.sizes(), generator, mu.options().device(at::kCPU)).to(mu.device());
        policy = mu + log_std.exp() * xi;
      }
      const auto q = std::get<0>(critic_->q(obs, policy.clamp(-1.0, 1.0)).min(0));  // [B]
      q_term = -q.mean() / q.abs().mean().detach();
      actor_loss = q_term - config_.alpha * log_prob.mean();
    }
    check_finite(actor_loss, "iql actor loss");

    critic_->zero_grad();
    actor_->zero_grad();
    if (config_.learned_std) log_std_adam_.zero_grad();
    (critic.loss + actor_loss).backward();

    Metrics metrics;
    if (with_metrics) {
      at::NoGradGuard no_grad;
      metrics = critic.metrics;
      metrics.emplace_back("loss/actor", actor_loss.item<double>());
      metrics.emplace_back("actor/adv", critic.advantage.mean().item<double>());
      metrics.emplace_back("actor/bc_log_prob", log_prob.mean().item<double>());
      metrics.emplace_back("actor/mse", (mu - batch.actions).pow(2).mean().item<double>());
      metrics.emplace_back("actor/std", log_std.exp().mean().item<double>());
      if (weights.defined()) {
        metrics.emplace_back("actor/weight_mean", weights.mean().item<double>());
        metrics.emplace_back("actor/weight_clipped_fraction",
                             weights.ge(config_.max_weight).to(at::kDouble).mean().item<double>());
      }
      if (q_term.defined()) metrics.emplace_back("actor/q_loss", q_term.item<double>());
      for (const auto& m : critic_->grad_norms()) metrics.push_back(m);
      metrics.emplace_back("grad_norm/actor", grad_norm(actor_->parameters()));
    }
    critic_->step();
    actor_->step();
    if (config_.learned_std) log_std_adam_.step();
    return metrics;
  }

  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override {
    at::NoGradGuard no_grad;
    auto actions = mean(observations);
    if (options.mode == ActMode::Explore) {
      const auto sigma = log_std_.clamp(kLogStdMin, kLogStdMax).exp();
      const auto xi =
          at::randn(actions.sizes(), generator, actions.options().device(at::kCPU)).to(actions.device());
      actions = actions + sigma * xi;
    }
    return actions.clamp(-1.0, 1.0);
  }

  StateDict state() const override {
    StateDict out = ComposedAlgorithm::state();
    out["log_std"] = log_std_.detach().clone();
    if (config_.learned_std)
      for (auto& [key, value] : log_std_adam_.state("log_std_adam.")) out[key] = value;
    return out;
  }

  void load_state(const StateDict& state) override {
    ComposedAlgorithm::load_state(state);
    const auto it = state.find("log_std");
    if (it == state.end()) throw DataError("iql: state has no entry 'log_std'");
    if (it->second.sizes() != log_std_.sizes())
      throw DataError("iql: state entry 'log_std' has the wrong shape");
    {
      at::NoGradGuard no_grad;
      log_std_.copy_(it->second);
    }
    if (config_.learned_std) log_std_adam_.load_state(state, "log_std_adam.");
  }

 private:
  /// μ_ψ(s) → [B, d] (clipped to ±mean_clip when set).
  at::Tensor mean(const at::Tensor& observations) const {
    auto mu = actor_->forward_member(0, observations, at::Tensor(), at::Tensor(), at::Tensor());
    if (config_.mean_clip && *config_.mean_clip > 0) mu = mu.clamp(-*config_.mean_clip, *config_.mean_clip);
    return mu;
  }

  /// log N(a; μ, diag exp(ℓ)²) summed over action dimensions → [B].
  static at::Tensor log_density(const at::Tensor& actions, const at::Tensor& mu, const at::Tensor& log_std) {
    const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
    const auto z = (actions - mu) * (-log_std).exp();
    return (-0.5 * z.pow(2) - log_std - half_log_2pi).sum(-1);
  }

  Config config_;
  std::int64_t action_dim_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> actor_;
  at::Tensor log_std_;  ///< [d]; a parameter only with std = "learned"
  Adam log_std_adam_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Iql>(
      "iql",
      "IQL: expectile critic + Gaussian actor extracted by advantage-weighted regression with clipped "
      "exponential weights (docs/algorithms.md, IQL)",
      dipole::plugins::Iql::schema());
}
