#include "iql_critic.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

const Keys<IqlCritic::Config>& IqlCritic::keys() {
  using C = Config;
  static const Keys<C> keys{
      nested(&C::network, network_keys()),
      key(&C::expectile, "expectile", "IQL expectile τ_e of the V loss").range(0.0, 1.0),
      key(&C::discount, "discount", "discount γ in y = r + γ·m·V(s′)").range(0.0, 1.0),
      key(&C::polyak, "polyak", "Polyak rate τ_p of the target Q").range(0.0, 1.0),
      polyak_source_key(&C::polyak_source),
      key(&C::advantage_from_target, "advantage_critic",
          "Q inside the advantage A = min_j Q_j(s, a) − V(s): target Q̄ or online Q")
          .choices({{"target", true}, {"online", false}}),
      key(&C::score_from_target, "rs_critic", "Q used by score() for rejection sampling (min over members)")
          .choices({{"online", false}, {"target", true}}),
      key(&C::lr, "lr", "Adam learning rate of Q and of V").range(0.0, 1.0),
  };
  return keys;
}

IqlCritic::Config IqlCritic::read_config(const Params& params) {
  Config config = keys().read(params);
  config.mlp = mlp_config(config.network, NetworkRole::Critic);
  return config;
}

IqlCritic::IqlCritic(const Params& params, const BuildContext& ctx) : config_(read_config(params)) {
  const auto obs_dim = ctx.spec.obs_dim, action_dim = ctx.spec.action_dim;
  if (obs_dim < 1 || action_dim < 1)
    throw ConfigError(ctx.section + ": the iql critic needs a spec with obs_dim and action_dim");
  auto generator = at::detail::createCPUGenerator(ctx.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(ctx.device);
  q_ = EnsembleMlp(2, obs_dim + action_dim, 1, config_.mlp, generator, options);
  v_ = EnsembleMlp(1, obs_dim, 1, config_.mlp, generator, options);
  q_target_ = q_.clone(/*requires_grad=*/false);
  AdamConfig adam;
  adam.lr = config_.lr;
  q_adam_ = Adam(q_.parameters(), adam);
  v_adam_ = Adam(v_.parameters(), adam);
}

at::Tensor IqlCritic::value(const at::Tensor& observations) const {
  return v_.forward(observations).view({-1});
}

at::Tensor IqlCritic::target_q(const at::Tensor& observations, const at::Tensor& actions) const {
  at::NoGradGuard no_grad;
  return q_values(q_target_, observations, actions);
}

CriticLoss IqlCritic::compute_loss(const Batch& batch, at::Generator& /*generator*/, bool with_metrics) {
  at::Tensor q_bar, next_v;
  {
    at::NoGradGuard no_grad;
    q_bar = std::get<0>(q_values(q_target_, batch.observations, batch.actions).min(0));  // [B]
    next_v = value(batch.next_observations);                                             // [B]
  }
  auto v = value(batch.observations);  // [B], grad into V
  auto value_loss = expectile_loss(q_bar - v, config_.expectile).mean();
  auto y = td_target(batch.rewards, batch.masks, next_v, config_.discount);  // [B]
  auto q = q_values(q_, batch.observations, batch.actions);                  // [2, B], grad into Q
  auto q_loss = (q - y).pow(2).sum(0).mean();

  CriticLoss out;
  out.loss = value_loss + q_loss;
  {
    at::NoGradGuard no_grad;
    auto q_adv = config_.advantage_from_target ? q_bar : std::get<0>(q.detach().min(0));
    out.advantage = q_adv - v.detach();
  }
  if (with_metrics) {
    at::NoGradGuard no_grad;
    auto qd = q.detach();
    out.metrics = {{"critic/loss", q_loss.item<double>()},
                   {"critic/q_mean", qd.mean().item<double>()},
                   {"critic/q_min", qd.min().item<double>()},
                   {"critic/q_max", qd.max().item<double>()},
                   {"critic/target_mean", y.mean().item<double>()},
                   {"value/loss", value_loss.item<double>()},
                   {"value/v_mean", v.detach().mean().item<double>()}};
  }
  return out;
}

void IqlCritic::step() {
  step_with_polyak(
      config_.polyak_source,
      [this] {
        q_adam_.step();
        v_adam_.step();
      },
      [this] { polyak_update(q_target_.parameters(), q_.parameters(), config_.polyak); });
}

void IqlCritic::zero_grad() {
  q_adam_.zero_grad();
  v_adam_.zero_grad();
}

at::Tensor IqlCritic::q(const at::Tensor& observations, const at::Tensor& actions) const {
  return q_values(q_, observations, actions, /*detach_parameters=*/true);
}

at::Tensor IqlCritic::score(const at::Tensor& observations, const at::Tensor& actions) const {
  at::NoGradGuard no_grad;
  const auto& net = config_.score_from_target ? q_target_ : q_;
  return std::get<0>(q_values(net, observations, actions).min(0));
}

at::Tensor IqlCritic::advantage(const at::Tensor& observations, const at::Tensor& actions) const {
  at::NoGradGuard no_grad;
  const auto& net = config_.advantage_from_target ? q_target_ : q_;
  return std::get<0>(q_values(net, observations, actions).min(0)) - value(observations);
}

Metrics IqlCritic::grad_norms() const {
  return {{"grad_norm/q", grad_norm(q_.parameters())}, {"grad_norm/v", grad_norm(v_.parameters())}};
}

StateDict IqlCritic::state() const {
  StateDict out;
  for (auto part : {q_.state("q."), q_target_.state("q_target."), v_.state("v."), q_adam_.state("q_adam."),
                    v_adam_.state("v_adam.")})
    out.insert(part.begin(), part.end());
  return out;
}

void IqlCritic::load_state(const StateDict& state) {
  q_.load_state(state, "q.");
  q_target_.load_state(state, "q_target.");
  v_.load_state(state, "v.");
  q_adam_.load_state(state, "q_adam.");
  v_adam_.load_state(state, "v_adam.");
}

}  // namespace dipole::plugins
