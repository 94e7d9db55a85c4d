// DDPM pieces of IDQL (docs/algorithms.md, "IDQL"): the VP noise schedule, the forward noising used by
// the ε-prediction loss, and the `ddpm` sampler (ancestral sampling on an ε-denoiser). Keys: README.md.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include <dipole/sampler.hpp>

namespace dipole::plugins {

/// VP schedule with T discrete steps (index n = 0 … T−1):
///   α_n = exp(−b_min/T − ½(b_max − b_min)(2(n + 1) − 1)/T²),  β_n = 1 − α_n,  ᾱ_n = Π_{k ≤ n} α_k.
/// T = 5: α = (0.8041, 0.5412, 0.3642, 0.2451, 0.1650), ᾱ = (0.80413, 0.43518, 0.15850, 0.03885, 0.00641).
struct VpSchedule {
  std::vector<double> alpha, beta, alpha_bar;
  std::int64_t steps() const { return static_cast<std::int64_t>(alpha.size()); }
};
VpSchedule vp_schedule(std::int64_t steps, double beta_min = 0.1, double beta_max = 10.0);

/// The forward noising of the ε-loss for a batch a [B, d]: n ~ uniform{0, …, T−1} [B, 1] (float), then
/// ε ~ N(0, I) [B, d], both from `generator` in this order; x_n = √ᾱ_n·a + √(1 − ᾱ_n)·ε.
struct DiffusionSample {
  at::Tensor n;      ///< [B, 1] step index as a float (the denoiser's time input)
  at::Tensor noise;  ///< ε [B, d]
  at::Tensor x_n;    ///< [B, d]
};
DiffusionSample diffusion_sample(const at::Tensor& actions, const VpSchedule& schedule,
                                 at::Generator& generator);

/// Ancestral DDPM from x ~ N(0, I) (noise [n, d] given): for n = T−1 … 0,
///   x ← (x − β_n/√(1 − ᾱ_n)·ε̂(s, x, n))/√α_n;  if n > 0: x ← x + temperature·√β_n·ξ (ξ drawn here);
///   x ← clip(x, −1, 1) when `clip_every_step`;  finally clip(x, −1, 1).
/// ε̂ = field.positive_only(obs, x, n as [n, 1] float). No gradient.
at::Tensor ddpm_sample(const at::Tensor& observations, const VelocityField& field, const VpSchedule& schedule,
                       const at::Tensor& noise, double temperature, bool clip_every_step,
                       at::Generator& generator);

/// Sampler `ddpm`: one randn([n, d]) for the start, then one randn([n, d]) per step n > 0.
class DdpmSampler : public Sampler {
 public:
  struct Config {
    std::int64_t steps = 5;
    double temperature = 1.0;
    bool clip_every_step = true;
    double beta_min = 0.1;
    double beta_max = 10.0;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  DdpmSampler(const Params& params, const BuildContext& ctx);
  explicit DdpmSampler(const Config& config);
  at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                    const ActOptions& options, at::Generator& generator) const override;
  ActOptions defaults() const override;

 private:
  VpSchedule schedule_;
  double temperature_ = 1.0;
  bool clip_every_step_ = true;
};

}  // namespace dipole::plugins
