#include "dipole/sdk/sampling.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "dipole/errors.hpp"
#include "dipole/sdk/flow.hpp"

namespace dipole {

namespace {

at::Tensor row0(const VelocityField& field, const at::Tensor& obs, const at::Tensor& x, const at::Tensor& t) {
  if (field.positive_only) return field.positive_only(obs, x, t);
  if (!field.velocity) throw ConfigError("velocity field has neither velocity nor positive_only");
  return field.velocity(obs, x, t).select(0, 0);
}

}  // namespace

at::Tensor euler_sample(const at::Tensor& observations, const VelocityField& field, std::int64_t steps,
                        const at::Tensor& noise) {
  at::NoGradGuard no_grad;
  return euler_integrate(noise, steps, [&](const at::Tensor& x, const at::Tensor& t) {
    return row0(field, observations, x, t);
  });
}

at::Tensor guided_euler_sample(const at::Tensor& observations, const VelocityField& field, std::int64_t steps,
                               double omega, const at::Tensor& noise, bool use_positive_only_at_zero) {
  at::NoGradGuard no_grad;
  if (omega == 0.0 && use_positive_only_at_zero && field.positive_only)
    return euler_sample(observations, field, steps, noise);
  if (!field.velocity) throw ConfigError("guided sampling needs a velocity field with two rows (v⁺, v⁻)");
  return euler_integrate(noise, steps, [&](const at::Tensor& x, const at::Tensor& t) {
    auto v = field.velocity(observations, x, t);
    if (v.dim() != 3 || v.size(0) < 2)
      throw ConfigError("guided sampling needs two velocity sources (v⁺, v⁻); the denoiser provides " +
                        std::to_string(v.dim() == 3 ? v.size(0) : 1) +
                        " (use an ensemble with 2 members or a label-conditioned denoiser)");
    return guided_velocity(v.select(0, 0), v.select(0, 1), omega);
  });
}

at::Tensor select_best(const at::Tensor& candidates, const at::Tensor& scores) {
  at::NoGradGuard no_grad;
  auto best = scores.argmax(1);  // [n]
  auto index = best.view({-1, 1, 1}).expand({candidates.size(0), 1, candidates.size(2)});
  return candidates.gather(1, index).squeeze(1);
}

VelocityField ensemble_field(const Denoiser& denoiser, std::int64_t action_dim) {
  VelocityField field;
  field.action_dim = action_dim;
  const Denoiser* d = &denoiser;
  field.velocity = [d](const at::Tensor& obs, const at::Tensor& x, const at::Tensor& t) {
    return d->forward(obs, x, t, at::Tensor());
  };
  field.positive_only = [d](const at::Tensor& obs, const at::Tensor& x, const at::Tensor& t) {
    return d->forward_member(0, obs, x, t, at::Tensor());
  };
  return field;
}

VelocityField label_field(const Denoiser& denoiser, std::int64_t action_dim, std::int64_t positive_label,
                          std::int64_t negative_label) {
  VelocityField field;
  field.action_dim = action_dim;
  const Denoiser* d = &denoiser;
  field.velocity = [d, positive_label, negative_label](const at::Tensor& obs, const at::Tensor& x,
                                                       const at::Tensor& t) {
    const auto n = x.size(0);
    auto long_options = at::TensorOptions().dtype(at::kLong).device(x.device());
    auto labels =
        at::cat({at::full({n}, positive_label, long_options), at::full({n}, negative_label, long_options)});
    auto v = d->forward_member(0, at::cat({obs, obs}), at::cat({x, x}), at::cat({t, t}), labels);  // [2n, d]
    return v.view({2, n, v.size(-1)});
  };
  field.positive_only = [d, positive_label](const at::Tensor& obs, const at::Tensor& x, const at::Tensor& t) {
    auto labels =
        at::full({x.size(0)}, positive_label, at::TensorOptions().dtype(at::kLong).device(x.device()));
    return d->forward_member(0, obs, x, t, labels);
  };
  return field;
}

VelocityField direct_field(const Denoiser& denoiser, std::int64_t action_dim) {
  VelocityField field;
  field.action_dim = action_dim;
  const Denoiser* d = &denoiser;
  field.positive_only = [d](const at::Tensor& obs, const at::Tensor& z, const at::Tensor&) {
    return d->forward_member(0, obs, z, at::Tensor(), at::Tensor());
  };
  field.velocity = [d](const at::Tensor& obs, const at::Tensor& z, const at::Tensor&) {
    return d->forward_member(0, obs, z, at::Tensor(), at::Tensor()).unsqueeze(0);
  };
  return field;
}

}  // namespace dipole
