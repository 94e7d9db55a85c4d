// Networks shared by every network-owning plugin: MLP configuration and presets (docs/algorithms.md,
// "Networks and presets"), the ensemble MLP with stacked parameters (docs/algorithms.md, "Ensembles"), the
// sinusoidal time embedding and the learned label embedding. Parameters are plain at::Tensors (no torch::nn
// modules), so this header stays light.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dipole/params.hpp"
#include "dipole/types.hpp"

namespace dipole {

enum class Activation { GeluTanh, Mish, Relu };
/// Order inside a hidden layer: `ActThenNorm` = Linear → act → LN (preset fql),
/// `NormThenAct` = Linear → LN → act (preset cfgrl_exorl).
enum class LayerOrder { ActThenNorm, NormThenAct };
/// Which hidden layers carry a LayerNorm.
enum class NormPlacement {
  None,        ///< no LayerNorm
  All,         ///< every hidden layer
  AllButLast,  ///< every hidden layer except the last (cfgrl_exorl actor quirk)
};
enum class Init { XavierUniform, LecunNormal };
/// The role of a network decides which preset column applies (critics have LN in both presets).
enum class NetworkRole { Actor, Critic };

struct MlpConfig {
  std::vector<std::int64_t> hidden_dims{512, 512, 512, 512};
  Activation activation = Activation::GeluTanh;
  LayerOrder order = LayerOrder::ActThenNorm;
  NormPlacement layer_norm = NormPlacement::None;
  /// Apply the hidden-layer treatment (activation, and LN when every layer has one) after the output
  /// layer too (FQL's "activate_final"; unused by the presets).
  bool activate_final = false;
  /// Hidden layers: Xavier-uniform (fan_avg, scale 1), zero bias. Output layer: `output_init` whose
  /// variance is multiplied by `output_scale` (Gaussian actor mean head: Xavier with scale 0.01).
  Init output_init = Init::XavierUniform;
  double output_scale = 1.0;
  double layer_norm_eps = 1e-6;
};

/// Presets of docs/algorithms.md, "Networks and presets". `name` is "fql" or "cfgrl_exorl"; throws
/// ConfigError otherwise.
///   fql:         hidden 4×512, GELU(tanh), Linear→act→LN, LN only for critics, Xavier everywhere.
///   cfgrl_exorl: hidden 3×512, mish, Linear→LN→act, LN for critics (all layers) and actors (all but
///                the last hidden layer), actor output LeCun-normal, critic output Xavier.
MlpConfig mlp_preset(const std::string& name, NetworkRole role);
const char* to_string(Activation activation);

/// The network keys every network-owning plugin shares (so configs read the same everywhere), as a
/// section writes them: a preset and optional overrides of its fields (absent: the preset's).
///   preset       "fql" | "cfgrl_exorl"
///   hidden_dims  int list
///   activation   "gelu_tanh" | "mish" | "relu"
///   layer_norm   "none" | "all" | "all_but_last"
///   layer_order  "act_norm" | "norm_act"
///   output_init  "xavier" | "lecun_normal"
///   output_scale float: variance multiplier of the output layer's init
///   activate_final bool
/// A plugin binds them to a member with nested(&Config::network, network_keys()); the member's
/// initializer gives the defaults (e.g. `NetworkSettings network{"cfgrl_exorl"};`).
struct NetworkSettings {
  std::string preset = "fql";
  std::optional<std::vector<std::int64_t>> hidden_dims;
  std::optional<Activation> activation;
  std::optional<NormPlacement> layer_norm;
  std::optional<LayerOrder> layer_order;
  std::optional<Init> output_init;
  double output_scale = 1.0;
  bool activate_final = false;
};
const Keys<NetworkSettings>& network_keys();
/// The preset of `settings` for `role` with the overrides applied.
MlpConfig mlp_config(const NetworkSettings& settings, NetworkRole role);
/// network_keys() as a schema with the default preset `default_preset`.
Schema mlp_schema(const std::string& default_preset);
/// Reads the keys of network_keys() from validated params.
MlpConfig mlp_config(const Params& params, NetworkRole role);

/// An ensemble of M independent MLPs with stacked parameters (docs/algorithms.md, "Ensembles"):
///   layer l: weight [M, n_{l−1}, n_l], bias [M, 1, n_l], LN scale/bias [M, 1, n_l] (only where LN).
/// One baddbmm per layer; no operation mixes the member axis, so a loss on member j reaches only
/// slice j of each parameter. Every member is initialised from its own draw of the generator.
class EnsembleMlp {
 public:
  struct Layer {
    at::Tensor weight;    ///< [M, in, out]
    at::Tensor bias;      ///< [M, 1, out]
    at::Tensor ln_scale;  ///< [M, 1, out] or undefined
    at::Tensor ln_bias;   ///< [M, 1, out] or undefined
  };

  EnsembleMlp() = default;
  /// Parameters are created with `options` (dtype/device), drawn from `generator` (a CPU generator;
  /// drawn on CPU then moved), layer by layer: weight of layer 0, weight of layer 1, ... then label
  /// tables etc. of the owner. requires_grad is set on every parameter.
  EnsembleMlp(std::int64_t members, std::int64_t input_dim, std::int64_t output_dim, const MlpConfig& config,
              at::Generator& generator, const at::TensorOptions& options = {});

  /// x [B, in] (broadcast to every member as a view) or [M, B, in] → [M, B, out].
  /// `detach_parameters`: the graph reaches the input but not the parameters (an actor's Q term).
  at::Tensor forward(const at::Tensor& x, bool detach_parameters = false) const;
  /// Member j only: x [B, in] → [B, out] (plain addmm on slice j; equal to forward()[j] to ~1e-6).
  at::Tensor forward_member(std::int64_t member, const at::Tensor& x, bool detach_parameters = false) const;

  /// All parameters in a fixed order (layer by layer: weight, bias, ln_scale, ln_bias).
  std::vector<at::Tensor> parameters() const;
  /// Keys: <prefix>layers.<l>.weight / .bias / .ln_scale / .ln_bias
  StateDict state(const std::string& prefix) const;
  /// Copies (in place, no grad) from `state`; throws DataError naming a missing key or a shape mismatch.
  void load_state(const StateDict& state, const std::string& prefix);
  /// θ ← other's θ in place, no grad (target networks). Shapes must match.
  void copy_from(const EnsembleMlp& other);
  /// A deep copy with its own storage (a target network: `requires_grad` false).
  EnsembleMlp clone(bool requires_grad) const;
  void set_requires_grad(bool requires_grad);

  std::int64_t members() const { return members_; }
  std::int64_t input_dim() const { return input_dim_; }
  std::int64_t output_dim() const { return output_dim_; }
  const MlpConfig& config() const { return config_; }
  const std::vector<Layer>& layers() const { return layers_; }

 private:
  at::Tensor hidden(const at::Tensor& h, std::size_t layer, const at::Tensor& scale,
                    const at::Tensor& bias) const;

  std::int64_t members_ = 0;
  std::int64_t input_dim_ = 0;
  std::int64_t output_dim_ = 0;
  MlpConfig config_;
  std::vector<Layer> layers_;
};

/// Applies `activation` elementwise (GELU with the tanh approximation; GELU and mish by fused float32
/// CPU kernels with analytic backward passes, core/src/nn.cpp).
at::Tensor activate(const at::Tensor& x, Activation activation);

/// Sinusoidal time features (docs/algorithms.md, "Networks and presets", time_features = "sin16"): t [..., 1]
/// → [..., 16] = [cos(t·c_0) … cos(t·c_7), sin(t·c_0) … sin(t·c_7)], c_i = 10000^{1 − i/8}.
at::Tensor sin16(const at::Tensor& t);
inline constexpr std::int64_t kSin16Dim = 16;

/// A learned label table per ensemble member: [M, n_labels, dim], init N(0, 1/dim) (std 1/√dim).
class LabelEmbedding {
 public:
  LabelEmbedding() = default;
  LabelEmbedding(std::int64_t members, std::int64_t n_labels, std::int64_t dim, at::Generator& generator,
                 const at::TensorOptions& options = {});
  /// labels [B] int64 → [M, B, dim]
  at::Tensor forward(const at::Tensor& labels) const;
  /// labels [B] int64 → [B, dim] of member j
  at::Tensor forward_member(std::int64_t member, const at::Tensor& labels) const;
  const at::Tensor& table() const { return table_; }
  std::int64_t dim() const { return table_.defined() ? table_.size(2) : 0; }
  bool defined() const { return table_.defined(); }

 private:
  at::Tensor table_;
};

/// Online Q of a [s, a] → 1 ensemble: obs [B, obs], actions [B, d] → [M, B].
at::Tensor q_values(const EnsembleMlp& q, const at::Tensor& observations, const at::Tensor& actions,
                    bool detach_parameters = false);

}  // namespace dipole
