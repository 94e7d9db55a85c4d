// Algorithm `idql` (see idql.cpp for the update and acting rules). Keys: README.md.
#pragma once

#include <memory>

#include <dipole/algorithm.hpp>
#include <dipole/sdk/flow.hpp>
#include <dipole/sdk/slots.hpp>
#include <dipole/critic.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/sampler.hpp>

#include "ddpm.hpp"

namespace dipole::plugins {

class Idql final : public ComposedAlgorithm {
 public:
  enum class Objective { Bc, SoftAdv, HardAdv, ExpAdv };
  struct Config {
    FlowTime time;     ///< t_sampling, time_grid: used with policy = "flow"
    bool ddpm = true;  ///< policy = "ddpm" (else "flow")
    std::int64_t diffusion_steps = 5;
    double beta_min = 0.1;
    double beta_max = 10.0;
    Objective objective = Objective::Bc;
    double actor_expectile = 0.7;
    double actor_temperature = 3.0;
    double ema_rate = 0.001;
  };
  static const Keys<Config>& keys();
  static Schema schema() { return keys().schema(); }
  static Slots slots(const Params& params);
  Idql(const Params& params, const BuildContext& ctx);

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override;
  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override;

 private:
  at::Tensor sample_weights(const Batch& batch, const CriticLoss& critic) const;
  at::Tensor policy_loss(const Batch& batch, const at::Tensor& weights, at::Generator& generator) const;

  Config config_;
  VpSchedule schedule_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> denoiser_;
  std::shared_ptr<Denoiser> ema_;             // null when ema_rate = 0
  std::shared_ptr<Sampler> explore_sampler_;  // null: exploration uses the sampler
  VelocityField field_;                       // refers to *ema_ (or *denoiser_)
};

}  // namespace dipole::plugins
