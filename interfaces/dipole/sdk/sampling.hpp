// Sampling procedures shared by the sampler plugins (docs/algorithms.md, "Euler sampling and guidance",
// "Samplers", "Random draws and reproducibility"), and VelocityField adapters that turn a Denoiser into the
// velocity sources samplers integrate.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "dipole/denoiser.hpp"
#include "dipole/sampler.hpp"

namespace dipole {

/// Euler on field.positive_only (or row 0 of field.velocity when positive_only is empty), starting
/// at `noise` [n, d]; observations [n, obs]. Clipped to [−1, 1] at the end. No gradient.
at::Tensor euler_sample(const at::Tensor& observations, const VelocityField& field, std::int64_t steps,
                        const at::Tensor& noise);
/// Euler on (1 + ω)·v⁺ − ω·v⁻ with (v⁺, v⁻) = rows of ONE field.velocity call per step ([2, n, d]).
/// When ω = 0 and `use_positive_only_at_zero`, uses field.positive_only instead (cheaper).
/// Clipped at the end. No gradient. Throws ConfigError if the field returns fewer than 2 rows.
at::Tensor guided_euler_sample(const at::Tensor& observations, const VelocityField& field, std::int64_t steps,
                               double omega, const at::Tensor& noise, bool use_positive_only_at_zero = true);
/// Picks per observation the candidate with the highest score: candidates [n, N_c, d], scores
/// [n, N_c] → [n, d] (first maximum on ties).
at::Tensor select_best(const at::Tensor& candidates, const at::Tensor& scores);

// ---- VelocityField adapters (fields hold a reference: the denoiser must outlive the field) -------
// `action_dim` is stored in field.action_dim (samplers draw noise of that width).

/// Two ensemble members as (v⁺, v⁻): velocity = denoiser.forward → [M, n, d] (M = 2 for guidance;
/// rows 0 and 1), positive_only = forward_member(0). No labels.
VelocityField ensemble_field(const Denoiser& denoiser, std::int64_t action_dim);
/// One label-conditioned member (M = 1) as (v⁺, v⁻) = (label `positive_label`, label `negative_label`):
/// velocity = ONE forward on the 2n rows [x; x] with labels [pos…; neg…], viewed as [2, n, d].
VelocityField label_field(const Denoiser& denoiser, std::int64_t action_dim, std::int64_t positive_label,
                          std::int64_t negative_label);
/// A time-free policy for the `direct` sampler: positive_only(obs, z, t) = forward_member(0, obs, z,
/// undefined t, no labels) is the (unclipped) action; velocity returns it as [1, n, d].
VelocityField direct_field(const Denoiser& denoiser, std::int64_t action_dim);

}  // namespace dipole
