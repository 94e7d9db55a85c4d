// Samplers (docs/algorithms.md, "Euler sampling and guidance", "Samplers", "Random draws and
// reproducibility", "DIPOLE"). All noise comes from the generator passed to sample(), drawn once per call as
// randn([n, d]) (best_of_n: one draw of [n·N_c, d] through its inner sampler, i.e. [n, N_c, d] row-major).
// Keys: README.md.
#pragma once

#include <memory>

#include <dipole/sampler.hpp>

namespace dipole::plugins {

/// `euler`: x ← z; x ← x + v⁺(s, x, i/N)/N for i < N; clip. Uses field.positive_only.
class EulerSampler : public Sampler {
 public:
  struct Config {
    std::int64_t steps = 10;
    double noise_scale = 1.0;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  EulerSampler(const Params& params, const BuildContext& ctx);
  at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                    const ActOptions& options, at::Generator& generator) const override;
  ActOptions defaults() const override;

 private:
  Config config_;
};

/// `guided_euler`: as euler with v = (1 + ω)·v⁺ − ω·v⁻ from one field.velocity call per step.
class GuidedEulerSampler : public Sampler {
 public:
  struct Config {
    std::int64_t steps = 10;
    double noise_scale = 1.0;
    double omega = 1.0;
    bool skip_negative_at_zero = true;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  GuidedEulerSampler(const Params& params, const BuildContext& ctx);
  at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                    const ActOptions& options, at::Generator& generator) const override;
  ActOptions defaults() const override;

 private:
  Config config_;
};

/// `best_of_n`: runs the inner sampler on every observation repeated N_c times (consecutive rows),
/// scores the candidates with critic->score and returns the argmax per observation.
class BestOfNSampler : public Sampler {
 public:
  struct Config {
    std::int64_t num_candidates = 32;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  static Slots slots(const Params& /*params*/) {
    return {nested_slot("inner", Kind::Sampler, "the sampler producing the candidates")};
  }
  BestOfNSampler(const Params& params, const BuildContext& ctx);
  /// For tests and programmatic composition: wrap an existing inner sampler.
  BestOfNSampler(std::shared_ptr<Sampler> inner, std::int64_t num_candidates);
  at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                    const ActOptions& options, at::Generator& generator) const override;
  ActOptions defaults() const override;

 private:
  std::shared_ptr<Sampler> inner_;
  Config config_;
};

/// `resample`: like best_of_n, but draws ONE candidate per observation with probability ∝ w_c,
/// w_c = τ if A_c > 0 else 1 − τ, A_c = critic->advantage(s, a_c) (IDQL's implicit policy; τ = 0.5 is
/// a uniform choice, i.e. behaviour cloning). One multinomial draw per observation after the inner
/// sampler's draws.
class ResampleSampler : public Sampler {
 public:
  struct Config {
    std::int64_t num_candidates = 64;
    double expectile = 0.7;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  static Slots slots(const Params& /*params*/) {
    return {nested_slot("inner", Kind::Sampler, "the sampler producing the candidates")};
  }
  ResampleSampler(const Params& params, const BuildContext& ctx);
  /// For tests and programmatic composition: wrap an existing inner sampler.
  ResampleSampler(std::shared_ptr<Sampler> inner, std::int64_t num_candidates, double expectile);
  at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                    const ActOptions& options, at::Generator& generator) const override;
  ActOptions defaults() const override;

 private:
  std::shared_ptr<Sampler> inner_;
  Config config_;
};

/// `direct`: a = clip(field.positive_only(s, z, undefined t), −1, 1), z = noise_scale·randn([n, d]).
class DirectSampler : public Sampler {
 public:
  struct Config {
    double noise_scale = 1.0;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  DirectSampler(const Params& params, const BuildContext& ctx);
  at::Tensor sample(const at::Tensor& observations, const VelocityField& field, const Critic* critic,
                    const ActOptions& options, at::Generator& generator) const override;
  ActOptions defaults() const override { return {}; }

 private:
  Config config_;
};

}  // namespace dipole::plugins
