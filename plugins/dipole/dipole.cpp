// Algorithm `dipole`: DIPOLE, dichotomous policy learning with a positive and a negative flow policy
// (arXiv 2601.00898; docs/algorithms.md, "DIPOLE"). Target π* ∝ μ·σ(βA + k)·e^{ωβA} = (π⁺)^{1+ω}/(π⁻)^ω with
// π⁺ ∝ μσ(βA + k) and π⁻ ∝ μσ(−(βA + k)).
//
// update (docs/algorithms.md, "DIPOLE"), every loss from the pre-update parameters:
//   1. critic terms (the [critic]'s compute_loss, e.g. IQL: L_V, L_Q) and A(s, a), no gradient;
//   2. weights from the [weighting] (dipole_sigmoid: row 0 = w⁺ = σ(βA + k), row 1 = w⁻ = σ(−βA − k));
//   3. one flow sample (z, t) per transition, shared by both branches (share_noise);
//   4. one ensemble forward → v⁺, v⁻ [2, B, d]; ℓ± = mean_d (v± − u)²;
//   5. L⁺ = mean_b w⁺ℓ⁺, L⁻ = mean_b w⁻ℓ⁻ (no weight normalisation); one backward of
//      L_critic + L⁺ + L⁻ (disjoint parameters), then every optimiser steps, then Polyak (critic).
// act (docs/algorithms.md, "DIPOLE"): the [sampler] (best_of_n over guided_euler by default) on v = (1 + ω)v⁺
// − ωv⁻,
//   candidates scored by the critic.
//
// Deliberate choices where the paper is silent (all [DECISION] in docs/algorithms.md, "DIPOLE"): flow
// matching with the linear interpolant and Euler, IQL critic, same (z, t) for both branches, the target
// critic for A, the online critic for rejection. The shared-network ablation (docs/algorithms.md, "DIPOLE")
// uses label 1 = positive, label 0 = negative and two forwards (one per label) on the same x_t. Keys:
// README.md. Sections it builds: slots().
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
#include <dipole/weighting.hpp>

namespace dipole::plugins {
namespace {

constexpr std::int64_t kPositiveLabel = 1;  // shared-network ablation: label of π⁺
constexpr std::int64_t kNegativeLabel = 0;  // and of π⁻

class Dipole final : public ComposedAlgorithm {
 public:
  struct Config {
    bool shared_network = false;
    bool share_noise = true;
    FlowTime time;  ///< t_sampling, time_grid
  };

  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        key(&Config::shared_network, "shared_network",
            "ablation (docs/algorithms.md, \"DIPOLE\"): one network with a 2-label embedding (1 = "
            "positive, 0 = negative) instead of two independent ensemble members"),
        key(&Config::share_noise, "share_noise",
            "draw (z, t) once per transition for both branches; false: an independent draw for "
            "the negative branch"),
        nested(&Config::time, flow_time_keys()),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  static Slots slots(const Params& params) {
    Slot denoiser = slot("denoiser", Kind::Denoiser, "the positive and negative flow policies");
    if (keys().read(params).shared_network)
      denoiser.need("members", 1).need("n_labels", 2);
    else
      denoiser.need("members", 2);  // member 0 = θ⁺, member 1 = θ⁻
    return {slot("critic", Kind::Critic, "advantages for the weights, Q for rejection").need("advantage", 1),
            denoiser,
            slot("weighting", Kind::Weighting, "rows (w⁺, w⁻), e.g. dipole_sigmoid").need("rows", 2),
            slot("sampler", Kind::Sampler, "guided sampling with ω, e.g. best_of_n over guided_euler")};
  }

  Dipole(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), config_(keys().read(params)) {
    critic_ = build<Critic>("critic", ctx);
    denoiser_ = build<Denoiser>("denoiser", ctx);
    weighting_ = build<WeightingFunction>("weighting", ctx);
    const auto d = ctx.spec.action_dim;
    act_with(build<Sampler>("sampler", ctx),
             config_.shared_network ? label_field(*denoiser_, d, kPositiveLabel, kNegativeLabel)
                                    : ensemble_field(*denoiser_, d),
             critic_.get());
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    // 1–2. Critic losses and the advantage (no gradient), from the pre-update critic.
    CriticLoss critic = critic_->compute_loss(batch, generator, with_metrics);
    check_finite(critic.loss, "dipole critic loss");
    // 3. w⁺, w⁻ (constants).
    const Weights weights = weighting_->weights(critic.advantage.detach(), generator, with_metrics);

    // 4. Flow sample(s) and the two branches' velocities.
    const FlowSample flow = flow_sample(batch.actions, generator, config_.time.sampling, config_.time.grid);
    FlowSample negative_flow = flow;
    if (!config_.share_noise)
      negative_flow = flow_sample(batch.actions, generator, config_.time.sampling, config_.time.grid);
    const auto velocity = branch_velocities(batch.observations, flow, negative_flow);  // [2, B, d]

    // 5. Per-sample errors [2, B] and the weighted losses [2] = (L⁺, L⁻).
    const auto error = at::stack({flow_error(velocity.select(0, 0), flow.target),
                                  flow_error(velocity.select(0, 1), negative_flow.target)});
    const auto branch_losses = weighted_flow_loss(error, weights.rows);
    const auto denoiser_loss = branch_losses.sum();
    check_finite(denoiser_loss, "dipole denoiser loss");

    critic_->zero_grad();
    denoiser_->zero_grad();
    const auto total = critic.loss.requires_grad() ? critic.loss + denoiser_loss : denoiser_loss;
    total.backward();

    Metrics metrics;
    if (with_metrics) {
      metrics = critic.metrics;
      metrics.insert(metrics.end(), weights.metrics.begin(), weights.metrics.end());
      const auto unweighted = error.detach().mean(1);
      metrics.emplace_back("loss/pos", branch_losses[0].item<double>());
      metrics.emplace_back("loss/neg", branch_losses[1].item<double>());
      metrics.emplace_back("loss/pos_unweighted", unweighted[0].item<double>());
      metrics.emplace_back("loss/neg_unweighted", unweighted[1].item<double>());
      for (const auto& m : critic_->grad_norms()) metrics.push_back(m);
      metrics.emplace_back("grad_norm/denoiser", grad_norm(denoiser_->parameters()));
    }

    critic_->step();  // optimiser step, then Polyak
    denoiser_->step();
    return metrics;
  }

 private:
  /// (v⁺, v⁻) at the positive branch's (x_t, t) and the negative branch's → [2, B, d].
  at::Tensor branch_velocities(const at::Tensor& observations, const FlowSample& positive,
                               const FlowSample& negative) const {
    if (config_.shared_network) {
      // One label-conditioned network: both labels in one forward on 2B rows.
      const auto batch = observations.size(0);
      const auto long_options = at::TensorOptions().dtype(at::kLong).device(observations.device());
      const auto labels = at::cat(
          {at::full({batch}, kPositiveLabel, long_options), at::full({batch}, kNegativeLabel, long_options)});
      const auto v = denoiser_->forward_member(0, at::cat({observations, observations}),
                                               at::cat({positive.x_t, negative.x_t}),
                                               at::cat({positive.t, negative.t}), labels);  // [2B, d]
      return v.view({2, batch, v.size(-1)});
    }
    if (config_.share_noise) return denoiser_->forward(observations, positive.x_t, positive.t, at::Tensor());
    // Independent draws: member j sees its own (x_t, t), [2, B, ·] inputs.
    return denoiser_->forward(observations, at::stack({positive.x_t, negative.x_t}),
                              at::stack({positive.t, negative.t}), at::Tensor());
  }

  Config config_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> denoiser_;
  std::shared_ptr<WeightingFunction> weighting_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Dipole>(
      "dipole",
      "DIPOLE: positive/negative flow policies, guided sampling with ω (docs/algorithms.md, \"DIPOLE\")",
      dipole::plugins::Dipole::schema());
}
