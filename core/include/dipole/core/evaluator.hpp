// Evaluation: K environment instances stepped together, one batched act() per step.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dipole/algorithm.hpp"
#include "dipole/environment.hpp"

namespace dipole {

/// Statistics of the actions an evaluation sent to its environments (after clipping to [-1, 1]): the
/// diagnostic of an ω sweep, whose strong guidance can push samples onto the bounds (docs/reports.md).
struct ActionStats {
  /// A component counts as clipped when |a| >= 1 - kClipTolerance after clipping.
  static constexpr double kClipTolerance = 1e-6;
  std::int64_t count = 0;                ///< action vectors seen
  std::int64_t clipped = 0;              ///< components at a bound
  std::vector<double> sum, sum_squares;  ///< per dimension

  /// Add a [batch, action_dim] tensor of (already clipped) actions.
  void add(const at::Tensor& actions);
  /// clipped / (count · action_dim); 0 before any action.
  double clipped_fraction() const;
  std::vector<double> mean() const;
  std::vector<double> stddev() const;  ///< population std per dimension
};

/// Every (observation, action) pair of an evaluation, in the order the actions were taken.
struct EvalRecording {
  std::vector<at::Tensor> observations;  ///< [batch, obs_dim] per policy call
  std::vector<at::Tensor> actions;       ///< [batch, action_dim] per policy call, after clipping
};

struct EvalResult {
  ActOptions options;
  std::int64_t episodes = 0;
  double return_mean = 0, return_std = 0;
  double success_rate = 0;
  double length_mean = 0;
  ActionStats actions;
};

/// Run `episodes` episodes (episode i reset with seed + i) with up to `parallel` instances at once.
/// Throws Interrupted (core/stop.hpp) between environment steps once a stop was requested.
/// With `recording`, every observation and the action taken on it are appended to it.
EvalResult evaluate(Algorithm& algorithm, const std::function<std::shared_ptr<Environment>()>& make_env,
                    std::int64_t episodes, std::int64_t parallel, const ActOptions& options,
                    std::uint64_t seed, EvalRecording* recording = nullptr);

}  // namespace dipole
