// Algorithm `idql`: implicit diffusion Q-learning (Hansen-Estruch et al. 2023; docs/algorithms.md,
// "IDQL"). A behaviour-cloning DDPM ε-denoiser (the official version) or, as an ablation switch, a flow
// denoiser (`policy = "flow"`), an IQL critic trained beside it, and selection among N_c samples.
//
// update, one joint step from the pre-update parameters, random draws in this order:
//   critic:  the [critic] (iql) computes L_V + L_Q (it draws nothing).
//   weights: w = 1 (`actor_objective = "bc"`, the official default); soft_adv: τ_a if A > 0 else 1 − τ_a;
//            hard_adv: 1[A ≥ −0.01]; exp_adv: min(exp(β_a·A), 100), A = the critic's advantage
//            (configure advantage_critic = "target" for IDQL's min_j Q̄_j(s, a) − V(s)). No gradient.
//   ddpm:    n ~ uniform{0, …, T−1}, then ε ~ N(0, I); x_n = √ᾱ_n·a + √(1 − ᾱ_n)·ε
//            L_ε = mean_b [ w · Σ_d (ε̂(s, x_n, n) − ε)² ]
//   flow:    z, then t (flow_sample); L_flow = mean_b [ w · mean_d (v_θ(s, x_t, t) − (a − z))² ]
//   L = L_V + L_Q + L_policy; one backward; every optimiser steps (the ddpm_mlp's is AdamW with a cosine
//   lr); the critic Polyak-updates Q̄; the EMA copy θ̄ ← (1 − λ)·θ̄ + λ·θ (post-step, λ = ema_rate).
// act: ActMode::Evaluate uses [sampler] (official: best_of_n over ddpm, argmax of the TARGET min Q̄, via
//   the critic's rs_critic = "target"); ActMode::Explore uses [explore_sampler] when the pipeline has one
//   (the paper's implicit policy: resample with expectile weights), else [sampler]. Both integrate the
//   EMA denoiser (the online one when ema_rate = 0).
//
// Sections it builds: slots(). Keys: README.md.
#include <ATen/ATen.h>

#include <cmath>

#include <dipole/algorithm.hpp>
#include <dipole/critic.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/sampler.hpp>
#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/rl_math.hpp>
#include <dipole/sdk/sampling.hpp>
#include <dipole/sdk/state_prefix.hpp>

#include "ddpm.hpp"
#include "idql.hpp"

namespace dipole::plugins {

const Keys<Idql::Config>& Idql::keys() {
  using C = Config;
  static const Keys<C> keys{
      nested(&C::time, flow_time_keys()),
      key(&C::ddpm, "policy",
          "ddpm: ε-prediction DDPM (official IDQL; [denoiser] ddpm_mlp, [sampler.inner] "
          "ddpm); flow: flow-matching BC ablation ([denoiser] flow_mlp, euler)")
          .choices({{"ddpm", true}, {"flow", false}}),
      key(&C::diffusion_steps, "diffusion_steps", "T of the VP schedule of the ε-loss (policy = ddpm)")
          .range(1, 10000),
      key(&C::beta_min, "beta_min", "b_min of the VP schedule").range(0.0, 1e3),
      key(&C::beta_max, "beta_max", "b_max of the VP schedule").range(0.0, 1e3),
      key(&C::objective, "actor_objective",
          "per-sample weight of the policy loss: bc (w = 1), soft_adv, hard_adv, exp_adv")
          .choices({{"bc", Objective::Bc},
                    {"soft_adv", Objective::SoftAdv},
                    {"hard_adv", Objective::HardAdv},
                    {"exp_adv", Objective::ExpAdv}}),
      key(&C::actor_expectile, "actor_expectile", "τ_a of soft_adv: w = τ_a if A > 0 else 1 − τ_a")
          .range(0.0, 1.0),
      key(&C::actor_temperature, "actor_temperature", "β_a of exp_adv: w = min(exp(β_a·A), 100)")
          .range(0.0, 1e6),
      key(&C::ema_rate, "ema_rate",
          "λ of the EMA copy used for acting, θ̄ ← (1 − λ)θ̄ + λθ after each step (0: act "
          "with the trained network, no copy)")
          .range(0.0, 1.0),
  };
  return keys;
}

Slots Idql::slots(const Params& params) {
  Slot critic =
      slot("critic", Kind::Critic, "IQL critic; advantages for the actor objective, Q for best-of-N");
  const Config config = keys().read(params);
  if (config.objective != Objective::Bc) critic.need("advantage", 1);
  Slots slots{critic, slot("denoiser", Kind::Denoiser, "the flow or DDPM policy").need("members", 1)};
  if (config.ema_rate > 0.0)
    slots.push_back(slot("denoiser_ema", Kind::Denoiser, "EMA copy of [denoiser] that acts")
                        .from("denoiser")
                        .need("members", 1));
  slots.push_back(slot("sampler", Kind::Sampler, "acting (evaluation), e.g. best_of_n"));
  slots.push_back(
      slot("explore_sampler", Kind::Sampler, "acting in the online phase (default: [sampler])").if_present());
  return slots;
}

Idql::Idql(const Params& params, const BuildContext& ctx)
    : ComposedAlgorithm(slots(params)),
      config_(keys().read(params)),
      schedule_(vp_schedule(config_.diffusion_steps, config_.beta_min, config_.beta_max)) {
  critic_ = build<Critic>("critic", ctx);
  denoiser_ = build<Denoiser>("denoiser", ctx);
  if (config_.ema_rate > 0.0) {
    ema_ = build<Denoiser>("denoiser_ema", ctx);
    polyak_update(ema_->parameters(), denoiser_->parameters(), 1.0);  // θ̄ = θ at the start
  }
  auto sampler = build<Sampler>("sampler", ctx);
  if (present("explore_sampler", ctx)) explore_sampler_ = build<Sampler>("explore_sampler", ctx);
  field_ = ensemble_field(ema_ ? *ema_ : *denoiser_, ctx.spec.action_dim);
  act_with(sampler, field_, critic_.get());
  if (config_.ddpm) {
    for (const auto& [name, sampler] :
         {std::pair{"sampler", sampler}, std::pair{"explore_sampler", explore_sampler_}}) {
      if (!sampler) continue;
      const auto steps = sampler->defaults().steps;
      if (steps && *steps != schedule_.steps())
        throw ConfigError(ctx.section + ": [" + name + "] samples with " + std::to_string(*steps) +
                          " steps, but diffusion_steps = " + std::to_string(schedule_.steps()) +
                          " (the DDPM sampler's steps must equal the training schedule's T)");
    }
  }
}

at::Tensor Idql::sample_weights(const Batch& batch, const CriticLoss& critic) const {
  const auto objective = config_.objective;
  if (objective == Objective::Bc) return at::Tensor();
  at::NoGradGuard no_grad;
  const auto& a = critic.advantage;
  switch (objective) {
    case Objective::SoftAdv:
      return at::where(a.gt(0.0), at::full({}, config_.actor_expectile, a.options()),
                       at::full({}, 1.0 - config_.actor_expectile, a.options()));
    case Objective::HardAdv:
      return a.ge(-0.01).to(a.scalar_type());
    case Objective::ExpAdv:
      return exponential_weights(a, config_.actor_temperature, 100.0);
    case Objective::Bc:
      break;
  }
  (void)batch;
  return at::Tensor();
}

at::Tensor Idql::policy_loss(const Batch& batch, const at::Tensor& weights, at::Generator& generator) const {
  at::Tensor per_sample;  // [B]
  if (config_.ddpm) {
    const DiffusionSample d = diffusion_sample(batch.actions, schedule_, generator);
    const auto eps = denoiser_->forward_member(0, batch.observations, d.x_n, d.n, at::Tensor());
    per_sample = (eps - d.noise).pow(2).sum(-1);
  } else {
    const FlowSample f = flow_sample(batch.actions, generator, config_.time.sampling, config_.time.grid);
    per_sample =
        flow_error(denoiser_->forward_member(0, batch.observations, f.x_t, f.t, at::Tensor()), f.target);
  }
  return weights.defined() ? (weights * per_sample).mean() : per_sample.mean();
}

Metrics Idql::update(const Batch& batch, at::Generator& generator, bool with_metrics) {
  CriticLoss critic = critic_->compute_loss(batch, generator, with_metrics);
  const auto weights = sample_weights(batch, critic);
  const auto actor_loss = policy_loss(batch, weights, generator);
  const auto loss = critic.loss + actor_loss;
  check_finite(loss, "idql loss");
  critic_->zero_grad();
  denoiser_->zero_grad();
  loss.backward();
  Metrics metrics;
  if (with_metrics) {
    metrics = std::move(critic.metrics);
    metrics.emplace_back(config_.ddpm ? "loss/epsilon" : "loss/flow", actor_loss.item<double>());
    metrics.emplace_back("loss/total", loss.item<double>());
    if (weights.defined()) metrics.emplace_back("actor/weight_mean", weights.mean().item<double>());
    for (const auto& m : critic_->grad_norms()) metrics.push_back(m);
    metrics.emplace_back("grad_norm/denoiser", grad_norm(denoiser_->parameters()));
  }
  critic_->step();
  denoiser_->step();
  if (ema_) polyak_update(ema_->parameters(), denoiser_->parameters(), config_.ema_rate);
  return metrics;
}

at::Tensor Idql::act(const at::Tensor& observations, const ActOptions& options, at::Generator& generator) {
  if (options.mode != ActMode::Explore || !explore_sampler_)
    return ComposedAlgorithm::act(observations, options, generator);
  at::NoGradGuard no_grad;
  return explore_sampler_->sample(observations, field_, critic_.get(), options, generator);
}

}  // namespace dipole::plugins
