#include "td_critic.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

const Keys<TdCritic::Config>& TdCritic::keys() {
  using C = Config;
  static const Keys<C> keys{
      nested(&C::network, network_keys()),
      key(&C::discount, "discount", "discount γ in y = r + γ·m·agg_j Q̄_j(s′, a′)").range(0.0, 1.0),
      key(&C::polyak, "polyak", "Polyak rate τ_p of the target Q").range(0.0, 1.0),
      polyak_source_key(&C::polyak_source),
      key(&C::aggregate_min, "q_agg", "aggregation of the target members in y: mean (FQL default) or min")
          .choices({{"mean", false}, {"min", true}}),
      key(&C::lr, "lr", "Adam learning rate of Q").range(0.0, 1.0),
  };
  return keys;
}

TdCritic::Config TdCritic::read_config(const Params& params) {
  Config config = keys().read(params);
  config.mlp = mlp_config(config.network, NetworkRole::Critic);
  return config;
}

TdCritic::TdCritic(const Params& params, const BuildContext& ctx)
    : config_(read_config(params)), section_(ctx.section) {
  if (ctx.spec.obs_dim < 1 || ctx.spec.action_dim < 1)
    throw ConfigError(section_ + ": the td critic needs a spec with obs_dim and action_dim");
  auto generator = at::detail::createCPUGenerator(ctx.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(ctx.device);
  q_ = EnsembleMlp(2, ctx.spec.obs_dim + ctx.spec.action_dim, 1, config_.mlp, generator, options);
  q_target_ = q_.clone(/*requires_grad=*/false);
  AdamConfig adam;
  adam.lr = config_.lr;
  adam_ = Adam(q_.parameters(), adam);
}

CriticLoss TdCritic::compute_loss(const Batch& batch, at::Generator& /*generator*/, bool with_metrics) {
  if (!batch.next_actions.defined())
    throw ConfigError(
        section_ +
        ": the td critic bootstraps on batch.next_actions (a′), which is undefined; the algorithm "
        "must set it (e.g. FQL: a′ = clip(μ(s′, z′), −1, 1)) before compute_loss");
  at::Tensor y;
  {
    at::NoGradGuard no_grad;
    auto next_q =
        q_values(q_target_, batch.next_observations, batch.next_actions.clamp(-1.0, 1.0));  // [2, B]
    auto next = config_.aggregate_min ? std::get<0>(next_q.min(0)) : next_q.mean(0);
    y = td_target(batch.rewards, batch.masks, next, config_.discount);
  }
  auto q = q_values(q_, batch.observations, batch.actions);  // [2, B]
  auto loss = (q - y).pow(2).mean();

  CriticLoss out;
  out.loss = loss;
  if (with_metrics) {
    at::NoGradGuard no_grad;
    auto qd = q.detach();
    out.metrics = {{"critic/loss", loss.item<double>()},
                   {"critic/q_mean", qd.mean().item<double>()},
                   {"critic/q_min", qd.min().item<double>()},
                   {"critic/q_max", qd.max().item<double>()},
                   {"critic/target_mean", y.mean().item<double>()}};
  }
  return out;
}

void TdCritic::step() {
  step_with_polyak(
      config_.polyak_source, [this] { adam_.step(); },
      [this] { polyak_update(q_target_.parameters(), q_.parameters(), config_.polyak); });
}

at::Tensor TdCritic::q(const at::Tensor& observations, const at::Tensor& actions) const {
  return q_values(q_, observations, actions, /*detach_parameters=*/true);
}

at::Tensor TdCritic::score(const at::Tensor& observations, const at::Tensor& actions) const {
  at::NoGradGuard no_grad;
  return std::get<0>(q_values(q_, observations, actions).min(0));
}

at::Tensor TdCritic::advantage(const at::Tensor& /*observations*/, const at::Tensor& /*actions*/) const {
  throw ConfigError(section_ +
                    ": the td critic has no V network, so it defines no advantage; use critic type \"iql\" "
                    "with a weighting that needs advantages");
}

Metrics TdCritic::grad_norms() const {
  return {{"grad_norm/q", grad_norm(q_.parameters())}};
}

StateDict TdCritic::state() const {
  StateDict out;
  for (auto part : {q_.state("q."), q_target_.state("q_target."), adam_.state("adam.")})
    out.insert(part.begin(), part.end());
  return out;
}

void TdCritic::load_state(const StateDict& state) {
  q_.load_state(state, "q.");
  q_target_.load_state(state, "q_target.");
  adam_.load_state(state, "adam.");
}

}  // namespace dipole::plugins
