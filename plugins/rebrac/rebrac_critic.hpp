// Critic `rebrac_critic` (docs/algorithms.md, "ReBRAC"): twin Q_j(s, a) (one 2-member ensemble,
// LayerNorm by preset `fql`) with a Polyak target Q̄ and its own Adam. Unlike the `td` critic, the target
// takes a per-sample penalty and the algorithm decides when the target moves:
//   y = r + γ·m·(min_j Q̄_j(s′, a′) − penalty),  a′ = batch.next_actions,  L_Q = mean_{j,b} (Q_j(s, a) − y)²
// Keys: README.md.
#pragma once

#include <dipole/critic.hpp>
#include <dipole/sdk/adam.hpp>
#include <dipole/sdk/nn.hpp>
#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

class RebracCritic : public Critic {
 public:
  struct Config {
    NetworkSettings network;  ///< the network keys (network_keys())
    MlpConfig mlp;            ///< `network` resolved for the critic role
    double discount = 0.99;
    double polyak = 0.005;
    PolyakSource polyak_source = PolyakSource::PostStep;  ///< key polyak_source
    double lr = 3e-4;
  };

  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// "rebrac_penalty": the BC penalty the rebrac algorithm passes into its target.
  static Provides provides(const Params& /*params*/) { return {{"rebrac_penalty", 1}}; }
  static Config read_config(const Params& params);

  RebracCritic(const Params& params, const BuildContext& ctx);

  /// L_Q with `penalty` [B] (undefined: none) subtracted from min_j Q̄_j(s′, a′) inside y.
  CriticLoss loss(const Batch& batch, const at::Tensor& penalty, bool with_metrics) const;
  CriticLoss compute_loss(const Batch& batch, at::Generator& generator, bool with_metrics) override;
  /// Adam step and Polyak in the order of polyak_source (the Critic contract); the `rebrac` algorithm
  /// uses the two halves below.
  void step() override;
  void optimiser_step() { adam_.step(); }
  void update_target();
  void zero_grad() override { adam_.zero_grad(); }
  at::Tensor q(const at::Tensor& observations, const at::Tensor& actions) const override;
  at::Tensor score(const at::Tensor& observations, const at::Tensor& actions) const override;
  /// Throws ConfigError: no V network.
  at::Tensor advantage(const at::Tensor& observations, const at::Tensor& actions) const override;
  Metrics grad_norms() const override;
  StateDict state() const override;
  void load_state(const StateDict& state) override;

  const Config& config() const { return config_; }

 private:
  Config config_;
  std::string section_;
  EnsembleMlp q_;
  EnsembleMlp q_target_;
  Adam adam_;
};

}  // namespace dipole::plugins
