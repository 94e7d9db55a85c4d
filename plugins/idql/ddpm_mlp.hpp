// Denoiser `ddpm_mlp`: IDQL's ε-prediction network ε̂(s, x, n) (docs/algorithms.md, "IDQL"):
//   learnable Fourier features of the step index n (W [F, 1] ~ N(0, σ_f²): [cos 2πnWᵀ, sin 2πnWᵀ]),
//   a time MLP 2F → H_t → mish → H_t, then an LN-ResNet on [x, s, time code]:
//   Linear(W) (Xavier); B blocks h ← h + Linear_W(mish(Linear_4W(LN(dropout(h))))) (LeCun normal);
//   mish → Linear(d) (Xavier).
// Its optimiser is AdamW (decoupled weight decay on every parameter) with a cosine learning-rate
// decay to 0 over `decay_steps` (or a constant lr). Dropout is active only while autograd records
// (training forwards); every no-grad evaluation (sampling, targets) is deterministic. Dropout masks
// come from the denoiser's own generator (seeded from the component seed, kept in its state).
// Keys: README.md.
#pragma once

#include <ATen/core/Generator.h>

#include <dipole/denoiser.hpp>
#include <dipole/sdk/adam.hpp>
#include <dipole/sdk/nn.hpp>

namespace dipole::plugins {

class DdpmMlp : public Denoiser {
 public:
  struct Config {
    std::int64_t fourier_features = 32;  ///< F (2F time features)
    double fourier_std = 0.2;
    std::int64_t time_hidden = 128;  ///< H_t
    std::int64_t width = 256;        ///< W
    std::int64_t blocks = 3;
    std::int64_t block_expansion = 4;  ///< inner width = expansion·W
    double dropout = 0.1;
    bool layer_norm = true;
    double lr = 3e-4;
    double weight_decay = 1e-4;
    bool cosine = true;  ///< lr_schedule = "cosine" (else "constant")
    std::int64_t decay_steps = 3000000;
  };

  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// One ε-network with a time input.
  static Provides provides(const Params& /*params*/) {
    return {{"members", 1}, {"n_labels", 0}, {"time_input", 1}, {"noise_input", 0}};
  }
  static Config read_config(const Params& params);

  DdpmMlp(const Params& params, const BuildContext& ctx);

  DenoiserShape shape() const override { return DenoiserShape{}; }
  at::Tensor forward(const at::Tensor& observations, const at::Tensor& x, const at::Tensor& t,
                     const at::Tensor& labels) const override;
  at::Tensor forward_member(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                            const at::Tensor& t, const at::Tensor& labels) const override;
  std::vector<at::Tensor> parameters() const override;
  /// AdamW step at lr(k) = lr·½(1 + cos(π·min(k, D)/D)), k = updates taken before this one.
  void step() override;
  void zero_grad() override { adam_.zero_grad(); }
  StateDict state() const override;
  void load_state(const StateDict& state) override;

  /// The learning rate the next step() uses.
  double current_lr() const;
  const Config& config() const { return config_; }

 private:
  struct Block {
    at::Tensor ln_scale, ln_bias;  ///< [W] (undefined without layer_norm)
    EnsembleMlp inner, outer;      ///< W → 4W, 4W → W (one member, no hidden layer)
  };

  Config config_;
  std::string section_;
  at::Tensor fourier_;  ///< [F, 1]
  EnsembleMlp time_mlp_, input_, output_;
  std::vector<Block> blocks_;
  Adam adam_;
  mutable at::Generator dropout_generator_;
};

}  // namespace dipole::plugins
