#include "plain_dipole.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <string>

#include "dipole/errors.hpp"
#include "dipole/sdk/flow.hpp"
#include "dipole/sdk/rl_math.hpp"

namespace dipole::test {

PlainDipole::PlainDipole(const Shape& shape, const Config& config, std::uint64_t seed) : config_(config) {
  if (shape.obs_dim < 1 || shape.action_dim < 1 || shape.hidden.empty())
    throw ConfigError("plain DIPOLE: obs_dim, action_dim and hidden widths are required");
  auto generator = at::detail::createCPUGenerator(seed);
  MlpConfig critic = mlp_preset("fql", NetworkRole::Critic), actor = mlp_preset("fql", NetworkRole::Actor);
  critic.hidden_dims = actor.hidden_dims = shape.hidden;
  const std::int64_t obs = shape.obs_dim, act = shape.action_dim;
  q_ = EnsembleMlp(2, obs + act, 1, critic, generator);
  v_ = EnsembleMlp(1, obs, 1, critic, generator);
  q_target_ = q_.clone(/*requires_grad=*/false);
  denoiser_ = EnsembleMlp(2, obs + act + 1, act, actor, generator);  // input [s, x_t, t]
  AdamConfig critic_adam, denoiser_adam;
  critic_adam.lr = config.critic_lr;
  denoiser_adam.lr = config.denoiser_lr;
  q_adam_ = Adam(q_.parameters(), critic_adam);
  v_adam_ = Adam(v_.parameters(), critic_adam);
  denoiser_adam_ = Adam(denoiser_.parameters(), denoiser_adam);
}

void PlainDipole::update(const Batch& batch, at::Generator& generator) {
  // Critic (IQL): L_V = mean L2_τ(min_j Q̄_j(s, a) − V(s)), L_Q = mean Σ_j (Q_j(s, a) − y)².
  at::Tensor q_bar, next_v;
  {
    at::NoGradGuard no_grad;
    q_bar = std::get<0>(q_values(q_target_, batch.observations, batch.actions).min(0));
    next_v = v_.forward(batch.next_observations).view({-1});
  }
  const auto v = v_.forward(batch.observations).view({-1});
  const auto value_loss = expectile_loss(q_bar - v, config_.expectile).mean();
  const auto y = td_target(batch.rewards, batch.masks, next_v, config_.discount);
  const auto q = q_values(q_, batch.observations, batch.actions);
  const auto q_loss = (q - y).pow(2).sum(0).mean();
  const auto critic_loss = value_loss + q_loss;
  check_finite(critic_loss, "dipole critic loss");
  at::Tensor weights;
  {
    at::NoGradGuard no_grad;
    weights = sigmoid_weights(q_bar - v.detach(), config_.beta, config_.shift);  // [2, B]
  }
  // Denoiser: both members on the same (x_t, t); L± = mean_b w± ℓ±.
  const FlowSample flow = flow_sample(batch.actions, generator, TimeSampling::Uniform, kDefaultTimeGrid);
  const auto velocity = denoiser_.forward(at::cat({batch.observations, flow.x_t, flow.t}, -1));  // [2, B, d]
  const auto error = at::stack(
      {flow_error(velocity.select(0, 0), flow.target), flow_error(velocity.select(0, 1), flow.target)});
  const auto denoiser_loss = weighted_flow_loss(error, weights).sum();
  check_finite(denoiser_loss, "dipole denoiser loss");

  q_adam_.zero_grad();
  v_adam_.zero_grad();
  denoiser_adam_.zero_grad();
  (critic_loss + denoiser_loss).backward();
  q_adam_.step();
  v_adam_.step();
  polyak_update(q_target_.parameters(), q_.parameters(), config_.polyak);
  denoiser_adam_.step();
}

StateDict PlainDipole::state() const {
  StateDict out;
  auto add = [&out](const std::string& prefix, const StateDict& part) {
    for (const auto& [key, value] : part) out[prefix + key] = value;
  };
  add("critic.", q_.state("q."));
  add("critic.", q_target_.state("q_target."));
  add("critic.", v_.state("v."));
  add("critic.", q_adam_.state("q_adam."));
  add("critic.", v_adam_.state("v_adam."));
  add("denoiser.", denoiser_.state("net."));
  add("denoiser.", denoiser_adam_.state("adam."));
  return out;
}

void require_same_keys(const StateDict& actual, const StateDict& expected) {
  std::string only_actual, only_expected;
  for (const auto& [key, value] : actual)
    if (!expected.count(key)) only_actual += " " + key;
  for (const auto& [key, value] : expected)
    if (!actual.count(key)) only_expected += " " + key;
  if (!only_actual.empty() || !only_expected.empty())
    throw Error("plain DIPOLE: the pipeline's state and the reference's differ; only in the pipeline's:" +
                (only_actual.empty() ? std::string(" -") : only_actual) +
                "; only in the reference's:" + (only_expected.empty() ? std::string(" -") : only_expected));
}

}  // namespace dipole::test
