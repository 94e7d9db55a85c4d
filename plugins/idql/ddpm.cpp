#include "ddpm.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace dipole::plugins {

VpSchedule vp_schedule(std::int64_t steps, double beta_min, double beta_max) {
  if (steps < 1)
    throw ConfigError("DDPM schedule: steps must be at least 1 (got " + std::to_string(steps) + ")");
  VpSchedule s;
  const double t = static_cast<double>(steps);
  double product = 1.0;
  for (std::int64_t i = 1; i <= steps; ++i) {
    const double alpha = std::exp(-beta_min / t - 0.5 * (beta_max - beta_min) * (2.0 * i - 1.0) / (t * t));
    product *= alpha;
    s.alpha.push_back(alpha);
    s.beta.push_back(1.0 - alpha);
    s.alpha_bar.push_back(product);
  }
  return s;
}

DiffusionSample diffusion_sample(const at::Tensor& actions, const VpSchedule& schedule,
                                 at::Generator& generator) {
  const auto batch = actions.size(0), dim = actions.size(1);
  const auto float_options = at::TensorOptions().dtype(at::kFloat);
  DiffusionSample out;
  const auto index =
      at::randint(0, schedule.steps(), {batch, 1}, generator, at::TensorOptions().dtype(at::kLong));
  out.noise = at::randn({batch, dim}, generator, float_options).to(actions.device());
  const auto alpha_bar =
      at::tensor(schedule.alpha_bar, at::kDouble).index_select(0, index.view({-1})).view({batch, 1});
  const auto signal = alpha_bar.sqrt().to(at::kFloat).to(actions.device());
  const auto sigma = (1.0 - alpha_bar).sqrt().to(at::kFloat).to(actions.device());
  out.n = index.to(float_options).to(actions.device());
  out.x_n = signal * actions + sigma * out.noise;
  return out;
}

at::Tensor ddpm_sample(const at::Tensor& observations, const VelocityField& field, const VpSchedule& schedule,
                       const at::Tensor& noise, double temperature, bool clip_every_step,
                       at::Generator& generator) {
  at::NoGradGuard no_grad;
  if (!field.positive_only)
    throw ConfigError("ddpm sampler: the field has no positive_only (use ensemble_field())");
  const auto rows = observations.size(0);
  auto x = noise;
  for (std::int64_t n = schedule.steps() - 1; n >= 0; --n) {
    const auto k = static_cast<std::size_t>(n);
    const auto t = at::full({rows, 1}, static_cast<double>(n), x.options());
    const auto eps = field.positive_only(observations, x, t);
    x = (x - (schedule.beta[k] / std::sqrt(1.0 - schedule.alpha_bar[k])) * eps) /
        std::sqrt(schedule.alpha[k]);
    if (n > 0) {
      auto xi = at::randn(x.sizes(), generator, at::TensorOptions().dtype(at::kFloat)).to(x.device());
      x = x + (temperature * std::sqrt(schedule.beta[k])) * xi;
    }
    if (clip_every_step) x = x.clamp(-1.0, 1.0);
  }
  return x.clamp(-1.0, 1.0);
}

const Keys<DdpmSampler::Config>& DdpmSampler::keys() {
  using C = Config;
  static const Keys<C> keys{
      key(&C::steps, "steps", "T of the VP schedule; must equal the algorithm's diffusion_steps")
          .range(1, 10000),
      key(&C::temperature, "temperature",
          "multiplier of the noise added at each step n > 0 (ddpm_temperature)")
          .range(0.0, 1e3),
      key(&C::clip_every_step, "clip_every_step", "clip x to [−1, 1] after every step (clip_sampler)"),
      key(&C::beta_min, "beta_min", "b_min of the VP schedule").range(0.0, 1e3),
      key(&C::beta_max, "beta_max", "b_max of the VP schedule").range(0.0, 1e3),
  };
  return keys;
}

DdpmSampler::DdpmSampler(const Params& params, const BuildContext&) : DdpmSampler(keys().read(params)) {}

DdpmSampler::DdpmSampler(const Config& config)
    : schedule_(vp_schedule(config.steps, config.beta_min, config.beta_max)),
      temperature_(config.temperature),
      clip_every_step_(config.clip_every_step) {}

at::Tensor DdpmSampler::sample(const at::Tensor& observations, const VelocityField& field, const Critic*,
                               const ActOptions& options, at::Generator& generator) const {
  if (options.steps && *options.steps != schedule_.steps())
    throw ConfigError("ddpm sampler: " + std::to_string(*options.steps) +
                      " steps were asked for, but the denoiser was trained on a schedule of " +
                      std::to_string(schedule_.steps()) + " (a DDPM cannot change its step count at acting)");
  if (field.action_dim < 1) throw ConfigError("ddpm sampler: the velocity field has no action_dim");
  at::NoGradGuard no_grad;
  auto z =
      at::randn({observations.size(0), field.action_dim}, generator, at::TensorOptions().dtype(at::kFloat))
          .to(observations.device());
  return ddpm_sample(observations, field, schedule_, z, temperature_, clip_every_step_, generator);
}

ActOptions DdpmSampler::defaults() const {
  ActOptions out;
  out.steps = schedule_.steps();
  return out;
}

}  // namespace dipole::plugins
