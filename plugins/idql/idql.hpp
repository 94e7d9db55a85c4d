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
  static Schema schema();
  static Slots slots(const Params& params);
  Idql(const Params& params, const BuildContext& ctx);

  Metrics update(const Batch& batch, at::Generator& generator, bool with_metrics) override;
  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override;

 private:
  at::Tensor sample_weights(const Batch& batch, const CriticLoss& critic) const;
  at::Tensor policy_loss(const Batch& batch, const at::Tensor& weights, at::Generator& generator) const;

  FlowTime time_;
  bool ddpm_;
  int objective_;
  double actor_expectile_;
  double actor_temperature_;
  double ema_rate_;
  VpSchedule schedule_;
  std::shared_ptr<Critic> critic_;
  std::shared_ptr<Denoiser> denoiser_;
  std::shared_ptr<Denoiser> ema_;             // null when ema_rate = 0
  std::shared_ptr<Sampler> explore_sampler_;  // null: exploration uses the sampler
  VelocityField field_;                       // refers to *ema_ (or *denoiser_)
};

}  // namespace dipole::plugins
