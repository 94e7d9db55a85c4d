#include "samplers.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <dipole/critic.hpp>
#include <dipole/sdk/sampling.hpp>

namespace dipole::plugins {

namespace {

/// z ~ noise_scale · N(0, I) of shape [n, d], drawn on the generator's device then moved.
at::Tensor draw_noise(const at::Tensor& observations, const VelocityField& field, double noise_scale,
                      at::Generator& generator) {
  if (field.action_dim < 1)
    throw ConfigError("sampler: the velocity field has no action_dim (set VelocityField::action_dim)");
  auto z =
      at::randn({observations.size(0), field.action_dim}, generator, at::TensorOptions().dtype(at::kFloat));
  if (noise_scale != 1.0) z.mul_(noise_scale);
  return z.to(observations.device());
}

std::int64_t checked_steps(std::int64_t steps) {
  if (steps < 1) throw ConfigError("sampler: steps must be at least 1 (got " + std::to_string(steps) + ")");
  return steps;
}

/// The keys `steps` and `noise_scale` of the Euler samplers.
template <class C>
Keys<C> euler_keys() {
  return {
      key(&C::steps, "steps", "number of Euler steps N (t_i = i/N, left endpoints)").range(1, 100000),
      key(&C::noise_scale, "noise_scale", "multiplier of the initial noise z (1 = N(0, I))").range(0.0, 1e3)};
}

}  // namespace

// ---- euler -----------------------------------------------------------------------------------------

const Keys<EulerSampler::Config>& EulerSampler::keys() {
  static const Keys<Config> keys = euler_keys<Config>();
  return keys;
}

EulerSampler::EulerSampler(const Params& params, const BuildContext&) : config_(keys().read(params)) {}

at::Tensor EulerSampler::sample(const at::Tensor& observations, const VelocityField& field, const Critic*,
                                const ActOptions& options, at::Generator& generator) const {
  at::NoGradGuard no_grad;
  auto z = draw_noise(observations, field, config_.noise_scale, generator);
  return euler_sample(observations, field, checked_steps(options.steps.value_or(config_.steps)), z);
}

ActOptions EulerSampler::defaults() const {
  ActOptions out;
  out.steps = config_.steps;
  return out;
}

// ---- guided_euler ----------------------------------------------------------------------------------

const Keys<GuidedEulerSampler::Config>& GuidedEulerSampler::keys() {
  static const Keys<Config> keys = [] {
    Keys<Config> k = euler_keys<Config>();
    k.add(key(&Config::omega, "omega", "guidance weight ω in (1 + ω)·v⁺ − ω·v⁻ (ω = −1 samples v⁻ alone)")
              .range(-1e6, 1e6));
    k.add(key(&Config::skip_negative_at_zero, "skip_negative_at_zero",
              "at ω = 0 evaluate only v⁺ (field.positive_only); equal to the full "
              "combination up to kernel rounding"));
    return k;
  }();
  return keys;
}

GuidedEulerSampler::GuidedEulerSampler(const Params& params, const BuildContext&)
    : config_(keys().read(params)) {}

at::Tensor GuidedEulerSampler::sample(const at::Tensor& observations, const VelocityField& field,
                                      const Critic*, const ActOptions& options,
                                      at::Generator& generator) const {
  at::NoGradGuard no_grad;
  auto z = draw_noise(observations, field, config_.noise_scale, generator);
  return guided_euler_sample(observations, field, checked_steps(options.steps.value_or(config_.steps)),
                             options.omega.value_or(config_.omega), z, config_.skip_negative_at_zero);
}

ActOptions GuidedEulerSampler::defaults() const {
  ActOptions out;
  out.steps = config_.steps;
  out.omega = config_.omega;
  return out;
}

// ---- best_of_n -------------------------------------------------------------------------------------

const Keys<BestOfNSampler::Config>& BestOfNSampler::keys() {
  static const Keys<Config> keys{
      key(&Config::num_candidates, "num_candidates",
          "N_c candidates per observation (1 = no rejection sampling)")
          .range(1, 1000000),
      param::component("inner",
                       "the sampler producing the candidates, e.g. [sampler.inner] type = \"guided_euler\"")};
  return keys;
}

BestOfNSampler::BestOfNSampler(const Params& params, const BuildContext& ctx) : config_(keys().read(params)) {
  if (!ctx.builder)
    throw ConfigError(ctx.section + ": best_of_n needs a builder to create its inner sampler");
  inner_ = ctx.builder->make<Sampler>(ctx.section + ".inner", ctx);
}

BestOfNSampler::BestOfNSampler(std::shared_ptr<Sampler> inner, std::int64_t num_candidates)
    : inner_(std::move(inner)), config_{num_candidates} {}

at::Tensor BestOfNSampler::sample(const at::Tensor& observations, const VelocityField& field,
                                  const Critic* critic, const ActOptions& options,
                                  at::Generator& generator) const {
  if (!critic)
    throw ConfigError(
        "best_of_n scores candidates with a critic, but none was given (the algorithm has no critic)");
  const std::int64_t candidates = options.num_candidates.value_or(config_.num_candidates);
  if (candidates < 1) throw ConfigError("best_of_n: num_candidates must be at least 1");
  at::NoGradGuard no_grad;
  const auto n = observations.size(0);
  // Rows n·N_c in observation-major order: the inner sampler's single randn([n·N_c, d]) is the
  // [n, N_c, d] draw of docs/algorithms.md, "Random draws and reproducibility", and with N_c = 1 it is
  // exactly the plain sampler's draw.
  auto repeated = candidates == 1 ? observations : observations.repeat_interleave(candidates, 0);
  ActOptions inner_options = options;
  inner_options.num_candidates.reset();
  auto actions = inner_->sample(repeated, field, critic, inner_options, generator);  // [n·N_c, d]
  // One candidate is its own argmax: no critic evaluation (same result, one network pass less).
  if (candidates == 1) return actions;
  auto scores = critic->score(repeated, actions).view({n, candidates});
  return select_best(actions.view({n, candidates, actions.size(-1)}), scores);
}

ActOptions BestOfNSampler::defaults() const {
  ActOptions out = inner_->defaults();
  out.num_candidates = config_.num_candidates;
  return out;
}

// ---- resample --------------------------------------------------------------------------------------

const Keys<ResampleSampler::Config>& ResampleSampler::keys() {
  static const Keys<Config> keys{
      key(&Config::num_candidates, "num_candidates",
          "N_c candidates per observation (1 = the inner sampler alone)")
          .range(1, 1000000),
      key(&Config::expectile, "expectile",
          "τ of the selection weights w = τ if A > 0 else 1 − τ (use the critic's τ_e; 0.5 = "
          "uniform choice)")
          .range(0.0, 1.0),
      param::component("inner",
                       "the sampler producing the candidates, e.g. [sampler.inner] type = \"ddpm\"")};
  return keys;
}

ResampleSampler::ResampleSampler(const Params& params, const BuildContext& ctx)
    : config_(keys().read(params)) {
  if (!ctx.builder) throw ConfigError(ctx.section + ": resample needs a builder to create its inner sampler");
  inner_ = ctx.builder->make<Sampler>(ctx.section + ".inner", ctx);
}

ResampleSampler::ResampleSampler(std::shared_ptr<Sampler> inner, std::int64_t num_candidates,
                                 double expectile)
    : inner_(std::move(inner)), config_{num_candidates, expectile} {}

at::Tensor ResampleSampler::sample(const at::Tensor& observations, const VelocityField& field,
                                   const Critic* critic, const ActOptions& options,
                                   at::Generator& generator) const {
  if (!critic) throw ConfigError("resample weighs candidates by the critic's advantage, but none was given");
  const std::int64_t candidates = options.num_candidates.value_or(config_.num_candidates);
  if (candidates < 1) throw ConfigError("resample: num_candidates must be at least 1");
  at::NoGradGuard no_grad;
  const auto n = observations.size(0);
  auto repeated = candidates == 1 ? observations : observations.repeat_interleave(candidates, 0);
  ActOptions inner_options = options;
  inner_options.num_candidates.reset();
  auto actions = inner_->sample(repeated, field, critic, inner_options, generator);  // [n·N_c, d]
  if (candidates == 1) return actions;
  const auto positive = critic->advantage(repeated, actions).gt(0.0).view({n, candidates});
  auto weights = at::where(positive, at::full({}, config_.expectile, at::kDouble),
                           at::full({}, 1.0 - config_.expectile, at::kDouble));
  // τ = 0 or 1 can leave a row without weight (no candidate on the favoured side): choose uniformly.
  weights = at::where(weights.sum(1, true).eq(0.0), at::ones_like(weights), weights);
  // One categorical draw per observation (on the CPU generator), then gather the chosen rows.
  const auto index = at::multinomial(weights.cpu(), 1, /*replacement=*/false, generator)
                         .to(actions.device())
                         .view({n, 1, 1})
                         .expand({n, 1, actions.size(-1)});
  return actions.view({n, candidates, actions.size(-1)}).gather(1, index).view({n, actions.size(-1)});
}

ActOptions ResampleSampler::defaults() const {
  ActOptions out = inner_->defaults();
  out.num_candidates = config_.num_candidates;
  return out;
}

// ---- direct ----------------------------------------------------------------------------------------

const Keys<DirectSampler::Config>& DirectSampler::keys() {
  static const Keys<Config> keys{key(&Config::noise_scale, "noise_scale",
                                     "multiplier of the policy's noise input z (0 = deterministic f(s, 0))")
                                     .range(0.0, 1e3)};
  return keys;
}

DirectSampler::DirectSampler(const Params& params, const BuildContext&) : config_(keys().read(params)) {}

at::Tensor DirectSampler::sample(const at::Tensor& observations, const VelocityField& field, const Critic*,
                                 const ActOptions&, at::Generator& generator) const {
  at::NoGradGuard no_grad;
  if (!field.positive_only)
    throw ConfigError("direct sampler: the field has no positive_only (use direct_field())");
  auto z = draw_noise(observations, field, config_.noise_scale, generator);
  return field.positive_only(observations, z, at::Tensor()).clamp(-1.0, 1.0);
}

}  // namespace dipole::plugins
