// Plain data that crosses plugin interfaces. Tensors are at::Tensor (the light ATen header, never
// <torch/torch.h>); shapes are given in comments, B = batch size.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dipole {

/// What a dataset or environment looks like. Observations are flat vectors of `obs_dim` floats.
struct Spec {
  std::int64_t obs_dim = 0;
  std::int64_t action_dim = 0;
  std::vector<double> action_low;   ///< [action_dim]
  std::vector<double> action_high;  ///< [action_dim]
};

/// One batch of transitions; all float32 on the run's device.
struct Batch {
  at::Tensor observations;       ///< [B, obs_dim]
  at::Tensor actions;            ///< [B, action_dim]
  at::Tensor rewards;            ///< [B]
  at::Tensor next_observations;  ///< [B, obs_dim]
  at::Tensor masks;              ///< [B], 1 − terminated: enters every TD target
  at::Tensor terminals;          ///< [B], 1 at the last row of a stored trajectory (never in TD targets)
  /// [B, d] optional: the action a′ a TD critic bootstraps on at s′ (set by an algorithm such as
  /// FQL from its policy before calling Critic::compute_loss; undefined otherwise).
  at::Tensor next_actions;
};

/// Named scalars reported by an update or an evaluation, in insertion order.
using Metrics = std::vector<std::pair<std::string, double>>;

/// Named tensors holding a component's complete state (parameters, optimiser moments, counters).
/// Keys are dotted paths; the checkpoint stores them as npz members.
using StateDict = std::map<std::string, at::Tensor>;

/// Run-time options of `Algorithm::act` and samplers; unset fields use the configured value.
/// Why an action is asked for. Evaluation acts as the method's paper evaluates it (deterministic
/// mean, greedy selection); exploration adds the method's own exploration noise or sampling, used by
/// the online phase to collect data (docs/algorithms.md says what each algorithm does in each mode).
enum class ActMode { Evaluate, Explore };

struct ActOptions {
  ActMode mode = ActMode::Evaluate;            ///< evaluation or exploration acting
  std::optional<double> omega;                 ///< guidance weight ω in (1+ω)·v⁺ − ω·v⁻
  std::optional<std::int64_t> num_candidates;  ///< N_c of best-of-N rejection sampling
  std::optional<std::int64_t> steps;           ///< number of Euler steps N
};

}  // namespace dipole
