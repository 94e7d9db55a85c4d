#include "rebrac_critic.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

const Keys<RebracCritic::Config>& RebracCritic::keys() {
  using C = Config;
  static const Keys<C> keys{
      nested(&C::network, network_keys()),
      key(&C::discount, "discount", "discount γ in y = r + γ·m·(min_j Q̄_j(s′, a′) − penalty)")
          .range(0.0, 1.0),
      key(&C::polyak, "polyak",
          "Polyak rate τ_p of the target Q (and of the rebrac algorithm's target actor)")
          .range(0.0, 1.0),
      polyak_source_key(&C::polyak_source).append_doc("; also the rebrac algorithm's target actor"),
      key(&C::lr, "lr", "Adam learning rate of Q").range(0.0, 1.0),
  };
  return keys;
}

RebracCritic::Config RebracCritic::read_config(const Params& params) {
  Config config = keys().read(params);
  config.mlp = mlp_config(config.network, NetworkRole::Critic);
  return config;
}

RebracCritic::RebracCritic(const Params& params, const BuildContext& ctx)
    : config_(read_config(params)), section_(ctx.section) {
  if (ctx.spec.obs_dim < 1 || ctx.spec.action_dim < 1)
    throw ConfigError(section_ + ": rebrac_critic needs a spec with obs_dim and action_dim");
  auto generator = at::detail::createCPUGenerator(ctx.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(ctx.device);
  q_ = EnsembleMlp(2, ctx.spec.obs_dim + ctx.spec.action_dim, 1, config_.mlp, generator, options);
  q_target_ = q_.clone(/*requires_grad=*/false);
  AdamConfig adam;
  adam.lr = config_.lr;
  adam_ = Adam(q_.parameters(), adam);
}

CriticLoss RebracCritic::loss(const Batch& batch, const at::Tensor& penalty, bool with_metrics) const {
  if (!batch.next_actions.defined())
    throw ConfigError(section_ + ": rebrac_critic bootstraps on batch.next_actions (a′), which is undefined");
  at::Tensor y;
  {
    at::NoGradGuard no_grad;
    auto next = std::get<0>(q_values(q_target_, batch.next_observations, batch.next_actions).min(0));  // [B]
    if (penalty.defined()) next = next - penalty;
    y = td_target(batch.rewards, batch.masks, next, config_.discount);
  }
  auto q = q_values(q_, batch.observations, batch.actions);  // [2, B]
  CriticLoss out;
  out.loss = (q - y).pow(2).mean();
  if (with_metrics) {
    at::NoGradGuard no_grad;
    auto qd = q.detach();
    out.metrics = {{"critic/loss", out.loss.item<double>()},
                   {"critic/q_mean", qd.mean().item<double>()},
                   {"critic/q_min", qd.min().item<double>()},
                   {"critic/q_max", qd.max().item<double>()},
                   {"critic/target_mean", y.mean().item<double>()}};
  }
  return out;
}

CriticLoss RebracCritic::compute_loss(const Batch& batch, at::Generator& /*generator*/, bool with_metrics) {
  return loss(batch, at::Tensor(), with_metrics);
}

void RebracCritic::step() {
  step_with_polyak(
      config_.polyak_source, [this] { optimiser_step(); }, [this] { update_target(); });
}

void RebracCritic::update_target() {
  polyak_update(q_target_.parameters(), q_.parameters(), config_.polyak);
}

at::Tensor RebracCritic::q(const at::Tensor& observations, const at::Tensor& actions) const {
  return q_values(q_, observations, actions, /*detach_parameters=*/true);
}

at::Tensor RebracCritic::score(const at::Tensor& observations, const at::Tensor& actions) const {
  at::NoGradGuard no_grad;
  return std::get<0>(q_values(q_, observations, actions).min(0));
}

at::Tensor RebracCritic::advantage(const at::Tensor& /*observations*/, const at::Tensor& /*actions*/) const {
  throw ConfigError(section_ + ": rebrac_critic has no V network, so it defines no advantage");
}

Metrics RebracCritic::grad_norms() const {
  return {{"grad_norm/q", grad_norm(q_.parameters())}};
}

StateDict RebracCritic::state() const {
  StateDict out;
  for (auto part : {q_.state("q."), q_target_.state("q_target."), adam_.state("adam.")})
    out.insert(part.begin(), part.end());
  return out;
}

void RebracCritic::load_state(const StateDict& state) {
  q_.load_state(state, "q.");
  q_target_.load_state(state, "q_target.");
  adam_.load_state(state, "adam.");
}

}  // namespace dipole::plugins
