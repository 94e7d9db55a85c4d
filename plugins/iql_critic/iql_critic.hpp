// Critic `iql` (docs/algorithms.md, "Critics: expectile value, TD target, Polyak"): V(s), twin Q_j(s, a) as
// one 2-member ensemble, Polyak target Q̄.
//   L_V = mean_b L2_τ(min_j Q̄_j(s, a) − V(s)),  y = r + γ·m·V(s′),  L_Q = mean_b Σ_j (Q_j(s, a) − y)².
// Keys: README.md.
#pragma once

#include <dipole/critic.hpp>
#include <dipole/sdk/adam.hpp>
#include <dipole/sdk/nn.hpp>
#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

class IqlCritic : public Critic {
 public:
  struct Config {
    NetworkSettings network;  ///< the network keys (network_keys())
    MlpConfig mlp;            ///< `network` resolved for the critic role
    double expectile = 0.9;
    double discount = 0.99;
    double polyak = 0.005;
    PolyakSource polyak_source = PolyakSource::PostStep;  ///< key polyak_source
    bool advantage_from_target = true;                    ///< advantage_critic = "target" (else "online")
    bool score_from_target = false;                       ///< rs_critic = "target" (else "online")
    double lr = 3e-4;
  };

  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  /// compute_loss() returns A(s, a) for the batch.
  static Provides provides(const Params& /*params*/) { return {{"advantage", 1}}; }
  static Config read_config(const Params& params);

  IqlCritic(const Params& params, const BuildContext& ctx);

  CriticLoss compute_loss(const Batch& batch, at::Generator& generator, bool with_metrics) override;
  void step() override;
  void zero_grad() override;
  at::Tensor q(const at::Tensor& observations, const at::Tensor& actions) const override;
  at::Tensor score(const at::Tensor& observations, const at::Tensor& actions) const override;
  at::Tensor advantage(const at::Tensor& observations, const at::Tensor& actions) const override;
  Metrics grad_norms() const override;
  StateDict state() const override;
  void load_state(const StateDict& state) override;

  /// V(s) → [B] (with gradient into V).
  at::Tensor value(const at::Tensor& observations) const;
  /// Target Q̄ of every member → [2, B]. No gradient.
  at::Tensor target_q(const at::Tensor& observations, const at::Tensor& actions) const;
  const EnsembleMlp& q_network() const { return q_; }
  const EnsembleMlp& q_target_network() const { return q_target_; }
  const EnsembleMlp& v_network() const { return v_; }
  const Config& config() const { return config_; }

 private:
  Config config_;
  EnsembleMlp q_;
  EnsembleMlp q_target_;
  EnsembleMlp v_;
  Adam q_adam_;
  Adam v_adam_;
};

}  // namespace dipole::plugins
