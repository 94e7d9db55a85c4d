// Algorithm `cfgrl`: classifier-free guidance for RL (Frans et al., "Diffusion guidance is a
// controllable policy improvement operator"; docs/algorithms.md, "CFGRL"). One label-conditioned flow
// network; sampling combines the positive-conditioned and the unconditional velocity, v = (1 + ω)·v(label⁺) −
// ω·v(label⁰), i.e. cfg = 1 + ω (docs/algorithms.md, "Euler sampling and guidance"), with the same guided
// sampler as DIPOLE.
//
// variant = "exorl" (docs/algorithms.md, "CFGRL"): labels 0 = unconditional, 1 = positive. The [weighting]
// (indicator,
//   mode = "rows", strict) gives row 0 = 1[A > 0] for label 1 and row 1 = 0.1 for label 0; both labels
//   are evaluated on the same x_t: L = mean_b [p_b·ℓ(label 1) + 0.1·ℓ(label 0)]. t on the grid j/32.
//   Sampling: v⁺ = v(label 1), v⁻ = v(label 0).
// variant = "ogbench" (docs/algorithms.md, "CFGRL"): labels 0 = null, 1 = negative, 2 = positive. The
// [weighting]
//   (indicator, mode = "labels", non-strict, label_dropout 0.1) gives one label per transition; one
//   forward per sample with its label: L = mean_b ℓ(label_b). t ~ U[0, 1).
//   Sampling: v⁺ = v(label 2), v⁻ = v(label 0) (the negative token is trained but not sampled).
//
// The update computes every loss from pre-update parameters: critic (the [critic], IQL), advantage
// (which critic feeds A is the critic's advantage_critic key: target for exorl, online for ogbench),
// labels/weights, one flow sample (z, t), then one backward and every optimiser steps.
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
#include <dipole/weighting.hpp>

namespace dipole::plugins {
namespace {

class Cfgrl final : public ComposedAlgorithm {
 public:
  enum class Variant { Exorl, Ogbench };

  struct Config {
    Variant variant = Variant::Exorl;
    std::optional<TimeSampling> t_sampling_choice;  ///< key t_sampling (absent: the variant's)
    std::int64_t time_grid = kDefaultTimeGrid;
    TimeSampling t_sampling = TimeSampling::Grid;  ///< resolved by read_config()
  };

  static const Keys<Config>& keys() {
    static const Keys<Config> keys{
        key(&Config::variant, "variant",
            "exorl: labels {0 uncond, 1 positive}, weights from the weighting's two rows "
            "(docs/algorithms.md, \"CFGRL\"); "
            "ogbench: labels {0 null, 1 negative, 2 positive} from the weighting "
            "(docs/algorithms.md, \"CFGRL\")")
            .choices({{"exorl", Variant::Exorl}, {"ogbench", Variant::Ogbench}}),
        key(&Config::t_sampling_choice, "t_sampling",
            "flow time draw: uniform t ~ U[0, 1) or grid t = j/G (absent: the variant's, exorl → grid, "
            "ogbench → uniform)")
            .choices({{"uniform", TimeSampling::Uniform}, {"grid", TimeSampling::Grid}}),
        key(&Config::time_grid, "time_grid", "G of t_sampling = grid").range(1, 1000000),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  static Config read_config(const Params& params) {
    Config config = keys().read(params);
    config.t_sampling = config.t_sampling_choice.value_or(
        config.variant == Variant::Exorl ? TimeSampling::Grid : TimeSampling::Uniform);
    return config;
  }

  static Slots slots(const Params& params) {
    const bool exorl = keys().read(params).variant == Variant::Exorl;
    Slot weighting = slot("weighting", Kind::Weighting,
                          "exorl: two rows (indicator with mode = \"rows\"); ogbench: labels");
    if (exorl) weighting.need("rows", 2);
    return {slot("critic", Kind::Critic, "advantages for the weighting").need("advantage", 1),
            slot("denoiser", Kind::Denoiser, "the label-conditioned flow").need("n_labels", exorl ? 2 : 3),
            weighting, slot("sampler", Kind::Sampler, "guided sampling with ω")};
  }

  Cfgrl(const Params& params, const BuildContext& ctx)
      : ComposedAlgorithm(slots(params)), config_(read_config(params)) {
    positive_label_ = config_.variant == Variant::Exorl ? 1 : 2;
    unconditional_label_ = 0;
    critic_ = build<Critic>("critic", ctx);
    denoiser_ = build<Denoiser>("denoiser", ctx);
    weighting_ = build<WeightingFunction>("weighting", ctx);
    act_with(build<Sampler>("sampler", ctx),
             label_field(*denoiser_, ctx.spec.action_dim, positive_label_, unconditional_label_),
             critic_.get());
  }

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override {
    CriticLoss critic = critic_->compute_loss(batch, generator, with_metrics);
    check_finite(critic.loss, "cfgrl critic loss");
    const Weights weights = weighting_->weights(critic.advantage.detach(), generator, with_metrics);
    const FlowSample flow = flow_sample(batch.actions, generator, config_.t_sampling, config_.time_grid);
    const auto& obs = batch.observations;
    const auto batch_size = obs.size(0);

    Metrics metrics;
    at::Tensor loss;
    if (config_.variant == Variant::Exorl) {
      // Both labels on the same x_t, one forward on 2B rows: row r of the weights trains label (1, 0)[r].
      const auto long_options = at::TensorOptions().dtype(at::kLong).device(obs.device());
      const auto labels = at::cat({at::full({batch_size}, positive_label_, long_options),
                                   at::full({batch_size}, unconditional_label_, long_options)});
      const auto v = denoiser_->forward_member(0, at::cat({obs, obs}), at::cat({flow.x_t, flow.x_t}),
                                               at::cat({flow.t, flow.t}), labels);
      const auto error = flow_error(v.view({2, batch_size, v.size(-1)}), flow.target);  // [2, B]
      const auto branch_losses = weighted_flow_loss(error, weights.rows);               // [2]
      loss = branch_losses.sum();
      if (with_metrics) {
        metrics.emplace_back("loss/pos", branch_losses[0].item<double>());
        metrics.emplace_back("loss/uncond", branch_losses[1].item<double>());
      }
    } else {
      if (!weights.labels.defined())
        throw ConfigError(
            "cfgrl variant ogbench needs a weighting that produces labels (indicator with "
            "mode = \"labels\")");
      const auto v = denoiser_->forward_member(0, obs, flow.x_t, flow.t, weights.labels.to(obs.device()));
      loss = flow_error(v, flow.target).mean();
      if (with_metrics) {
        const auto labels = weights.labels;
        metrics.emplace_back("label/frac_pos", (labels == 2).to(at::kDouble).mean().item<double>());
        metrics.emplace_back("label/frac_null", (labels == 0).to(at::kDouble).mean().item<double>());
        metrics.emplace_back("loss/flow", loss.item<double>());
      }
    }
    check_finite(loss, "cfgrl denoiser loss");

    critic_->zero_grad();
    denoiser_->zero_grad();
    const auto total = critic.loss.requires_grad() ? critic.loss + loss : loss;
    total.backward();

    if (with_metrics) {
      Metrics all = critic.metrics;
      all.insert(all.end(), weights.metrics.begin(), weights.metrics.end());
      all.insert(all.end(), metrics.begin(), metrics.end());
      for (const auto& m : critic_->grad_norms()) all.push_back(m);
      all.emplace_back("grad_norm/denoiser", grad_norm(denoiser_->parameters()));
      metrics = std::move(all);
    }
    critic_->step();
    denoiser_->step();
    return metrics;
  }

 private:
  Config config_;
  std::int64_t positive_label_ = 1;
  std::int64_t unconditional_label_ = 0;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> denoiser_;
  std::shared_ptr<WeightingFunction> weighting_;
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::Cfgrl>("cfgrl",
                                     "CFGRL: label-conditioned flow with classifier-free guidance "
                                     "(docs/algorithms.md, \"CFGRL\", variants A/B)",
                                     dipole::plugins::Cfgrl::schema());
}
