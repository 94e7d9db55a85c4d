// Critic `td` (docs/algorithms.md, "FQL" and "Critics: …"): twin Q_j(s, a) as one 2-member ensemble with
// Polyak target Q̄, no V. y = r + γ·m·agg_j Q̄_j(s′, clip(a′)), with a′ = batch.next_actions set by the
// algorithm; L_Q = mean_b mean_j (Q_j(s, a) − y)². Keys: README.md.
#pragma once

#include <dipole/critic.hpp>
#include <dipole/sdk/adam.hpp>
#include <dipole/sdk/nn.hpp>
#include <dipole/sdk/rl_math.hpp>

namespace dipole::plugins {

class TdCritic : public Critic {
 public:
  struct Config {
    NetworkSettings network;  ///< the network keys (network_keys())
    MlpConfig mlp;            ///< `network` resolved for the critic role
    double discount = 0.99;
    double polyak = 0.005;
    PolyakSource polyak_source = PolyakSource::PostStep;  ///< key polyak_source
    bool aggregate_min = false;                           ///< q_agg = "min" (else "mean")
    double lr = 3e-4;
  };

  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  static Config read_config(const Params& params);

  TdCritic(const Params& params, const BuildContext& ctx);

  /// Throws ConfigError if batch.next_actions is undefined. CriticLoss::advantage is left undefined.
  CriticLoss compute_loss(const Batch& batch, at::Generator& generator, bool with_metrics) override;
  void step() override;
  void zero_grad() override { adam_.zero_grad(); }
  at::Tensor q(const at::Tensor& observations, const at::Tensor& actions) const override;
  /// min_j of the online Q.
  at::Tensor score(const at::Tensor& observations, const at::Tensor& actions) const override;
  /// Throws ConfigError: the td critic has no V, so it defines no advantage.
  at::Tensor advantage(const at::Tensor& observations, const at::Tensor& actions) const override;
  Metrics grad_norms() const override;
  StateDict state() const override;
  void load_state(const StateDict& state) override;

  const EnsembleMlp& q_network() const { return q_; }
  const EnsembleMlp& q_target_network() const { return q_target_; }

 private:
  Config config_;
  std::string section_;
  EnsembleMlp q_;
  EnsembleMlp q_target_;
  Adam adam_;
};

}  // namespace dipole::plugins
