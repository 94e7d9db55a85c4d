// The reference DIPOLE + IQL update: one plain function over the SDK's building blocks (EnsembleMlp,
// Adam, flow and RL math), without plugins, virtual calls, builders or metrics. The plugin pipeline's
// update is compared with it in value (tests/perf/test_plain_update.cpp: equal to float tolerance
// from the same parameters, batches and noise) and in speed (`dipole bench overhead`, issue 5 item 2).
//
// It implements the update of configs/bench/dipole.toml: critic iql (fql preset: GELU,
// Linear→act→LN, LN on every hidden layer), denoiser flow_mlp (2 members, fql preset without LN, raw
// time, input [s, x_t, t]), dipole_sigmoid with a fixed shift, share_noise, uniform t; the numbers
// (τ_e, γ, τ_p, β, k, learning rates) are in PlainDipole::Config, the widths in PlainDipole::Shape.
//
// Its networks are initialised from a seed of its own. state() writes them in the checkpoint layout
// of a dipole pipeline: each slot's state under "<slot>." (docs/architecture.md, "Slots": critic,
// denoiser) with the keys the plugins document (plugins/iql_critic/README.md, plugins/flow_mlp/README.md,
// "State keys"), so the pipeline takes the same parameters through its public Algorithm::load_state().
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <vector>

#include "dipole/sdk/adam.hpp"
#include "dipole/sdk/nn.hpp"
#include "dipole/types.hpp"

namespace dipole::test {

class PlainDipole {
 public:
  struct Config {
    double expectile = 0.9;
    double discount = 0.99;
    double polyak = 0.005;
    double beta = 3.0;
    double shift = 0.0;
    double critic_lr = 3e-4;
    double denoiser_lr = 3e-4;
  };

  struct Shape {
    std::int64_t obs_dim = 0;
    std::int64_t action_dim = 0;
    std::vector<std::int64_t> hidden;  ///< hidden widths of every network
  };

  /// Networks initialised from `seed` (Q: 2 members, V: 1, denoiser: 2; Q̄ a copy of Q), fresh Adam states.
  PlainDipole(const Shape& shape, const Config& config, std::uint64_t seed);

  /// One update, drawing its noise from `generator` in the plugin's order (z, then t).
  void update(const Batch& batch, at::Generator& generator);

  /// Every network and Adam state in the checkpoint layout of a dipole pipeline (see above).
  StateDict state() const;

 private:
  Config config_;
  EnsembleMlp q_, q_target_, v_, denoiser_;
  Adam q_adam_, v_adam_, denoiser_adam_;
};

/// Throws dipole::Error naming the keys in which `actual` and `expected` differ (a key only one has).
void require_same_keys(const StateDict& actual, const StateDict& expected);

}  // namespace dipole::test
