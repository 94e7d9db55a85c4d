// Denoiser `flow_mlp`: an ensemble of M independent MLPs f(s, x_t, t[, label]) (docs/algorithms.md, "Networks
// and presets", docs/algorithms.md, "Ensembles"), or a time-free policy f(s[, label], z) (docs/algorithms.md,
// "Networks and presets"), with its own Adam. Keys: README.md.
#pragma once

#include <dipole/denoiser.hpp>
#include <dipole/sdk/adam.hpp>
#include <dipole/sdk/nn.hpp>

namespace dipole::plugins {

class FlowMlp : public Denoiser {
 public:
  enum class TimeFeatures { Raw, Sin16 };
  /// fql: [s, label_emb?, x_t, t]; cfgrl_exorl: [s, x_t, t_emb, label_emb?].
  enum class InputOrder { Fql, CfgrlExorl };

  struct Config {
    NetworkSettings network;                           ///< the network keys (network_keys())
    std::optional<TimeFeatures> time_features_choice;  ///< key time_features (absent: the preset's)
    std::optional<InputOrder> input_order_choice;      ///< key input_order (absent: the preset's)
    std::int64_t label_dim = 32;
    double lr = 3e-4;
    // Resolved by read_config() from the preset and the keys above:
    MlpConfig mlp;
    TimeFeatures time_features = TimeFeatures::Raw;
    InputOrder input_order = InputOrder::Fql;
  };

  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  static Config read_config(const Params& params);
  /// Builds whatever shape the slot requires (docs/architecture.md, "Slots").
  static Provides provides(const Params& /*params*/) {
    return {{"members", std::nullopt},
            {"n_labels", std::nullopt},
            {"time_input", std::nullopt},
            {"noise_input", std::nullopt}};
  }

  FlowMlp(const Params& params, const BuildContext& ctx);

  DenoiserShape shape() const override { return shape_; }
  at::Tensor forward(const at::Tensor& observations, const at::Tensor& x, const at::Tensor& t,
                     const at::Tensor& labels) const override;
  at::Tensor forward_member(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                            const at::Tensor& t, const at::Tensor& labels) const override;
  std::vector<at::Tensor> parameters() const override;
  void step() override { adam_.step(); }
  void zero_grad() override { adam_.zero_grad(); }
  StateDict state() const override;
  void load_state(const StateDict& state) override;

  const EnsembleMlp& network() const { return net_; }
  const Config& config() const { return config_; }
  std::int64_t input_dim() const { return net_.input_dim(); }

 private:
  /// Concatenates the inputs in the configured order; `member` < 0: all members ([M, B, in] or [B, in]).
  at::Tensor input(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                   const at::Tensor& t, const at::Tensor& labels) const;

  Config config_;
  DenoiserShape shape_;
  std::int64_t action_dim_ = 0;
  std::string section_;
  EnsembleMlp net_;
  LabelEmbedding labels_;
  Adam adam_;
};

}  // namespace dipole::plugins
