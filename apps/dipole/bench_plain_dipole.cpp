#include "bench_plain_dipole.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "dipole/errors.hpp"
#include "dipole/sdk/flow.hpp"
#include "dipole/sdk/rl_math.hpp"

namespace dipole::cli::bench {

namespace {

/// Strips `prefix` from the keys that have it.
StateDict with_prefix_removed(const StateDict& state, const std::string& prefix) {
  StateDict out;
  for (const auto& [key, value] : state)
    if (key.compare(0, prefix.size(), prefix) == 0) out[key.substr(prefix.size())] = value;
  return out;
}

/// An ensemble shaped like the one stored under `prefix` (weights [M, in, out] per layer), with the
/// fql preset of `role`, loaded from `state`.
EnsembleMlp network_from(const StateDict& state, const std::string& prefix, NetworkRole role) {
  std::vector<std::int64_t> widths;
  std::int64_t members = 0, input = 0;
  for (std::int64_t l = 0;; ++l) {
    const auto it = state.find(prefix + "layers." + std::to_string(l) + ".weight");
    if (it == state.end()) break;
    if (it->second.dim() != 3) throw DataError("plain DIPOLE: " + it->first + " is not [M, in, out]");
    if (l == 0) {
      members = it->second.size(0);
      input = it->second.size(1);
    }
    widths.push_back(it->second.size(2));
  }
  if (widths.size() < 2) throw DataError("plain DIPOLE: no layers under '" + prefix + "' in the state");
  MlpConfig config = mlp_preset("fql", role);
  const std::int64_t output = widths.back();
  widths.pop_back();
  config.hidden_dims = widths;
  auto generator = at::detail::createCPUGenerator(0);
  EnsembleMlp net(members, input, output, config, generator);
  net.load_state(state, prefix);
  return net;
}

Adam adam_from(const StateDict& state, const std::string& prefix, const std::vector<at::Tensor>& params,
               double lr) {
  AdamConfig config;
  config.lr = lr;
  Adam adam(params, config);
  adam.load_state(state, prefix);
  return adam;
}

}  // namespace

PlainDipole::PlainDipole(const StateDict& state, const Config& config) : config_(config) {
  const StateDict critic = with_prefix_removed(state, "critic.");
  const StateDict denoiser = with_prefix_removed(state, "denoiser.");
  q_ = network_from(critic, "q.", NetworkRole::Critic);
  q_target_ = network_from(critic, "q_target.", NetworkRole::Critic);
  q_target_.set_requires_grad(false);
  v_ = network_from(critic, "v.", NetworkRole::Critic);
  denoiser_ = network_from(denoiser, "net.", NetworkRole::Actor);
  if (denoiser_.members() != 2) throw DataError("plain DIPOLE: the denoiser must have 2 members");
  q_adam_ = adam_from(critic, "q_adam.", q_.parameters(), config.critic_lr);
  v_adam_ = adam_from(critic, "v_adam.", v_.parameters(), config.critic_lr);
  denoiser_adam_ = adam_from(denoiser, "adam.", denoiser_.parameters(), config.denoiser_lr);
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

}  // namespace dipole::cli::bench
