// The DIPOLE + IQL update of `dipole bench overhead` written as one plain function over core's
// building blocks (EnsembleMlp, Adam, flow and RL math), without plugins, virtual calls, builders or
// metrics: the reference the plugin pipeline's update is compared with (issue 5, item 2), in speed
// (the benchmark) and in value (tests/perf: equal to float tolerance from the same state and noise).
//
// It covers the configuration of the benchmark's default pipeline: critic iql (fql preset: GELU,
// Linear→act→LN, LN on every hidden layer), denoiser flow_mlp (2 members, fql preset without LN, raw
// time, input [s, x_t, t]), dipole_sigmoid with a fixed shift, share_noise, uniform t; the numbers
// (τ_e, γ, τ_p, β, k, learning rates) are in PlainDipole::Config. Shapes come from the state.
#pragma once

#include <ATen/core/Generator.h>

#include "dipole/sdk/adam.hpp"
#include "dipole/sdk/nn.hpp"
#include "dipole/types.hpp"

namespace dipole::cli::bench {

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

  /// Networks and Adam states copied from `state` = Algorithm::state() of a `dipole` pipeline with an
  /// iql critic and a 2-member flow_mlp (keys critic.q.*, critic.q_target.*, critic.v.*,
  /// critic.q_adam.*, critic.v_adam.*, denoiser.net.*, denoiser.adam.*). Throws DataError when a key
  /// is missing or the layout differs.
  PlainDipole(const StateDict& state, const Config& config);

  /// One update, drawing its noise from `generator` in the plugin's order (z, then t).
  void update(const Batch& batch, at::Generator& generator);

  /// The same keys as the pipeline's Algorithm::state() for the parts above.
  StateDict state() const;

 private:
  Config config_;
  EnsembleMlp q_, q_target_, v_, denoiser_;
  Adam q_adam_, v_adam_, denoiser_adam_;
};

}  // namespace dipole::cli::bench
