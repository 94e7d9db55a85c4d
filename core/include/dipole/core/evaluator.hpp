// Evaluation: K environment instances stepped together, one batched act() per step.
#pragma once

#include <functional>
#include <memory>

#include "dipole/algorithm.hpp"
#include "dipole/environment.hpp"

namespace dipole {

struct EvalResult {
  ActOptions options;
  std::int64_t episodes = 0;
  double return_mean = 0, return_std = 0;
  double success_rate = 0;
  double length_mean = 0;
};

/// Run `episodes` episodes (episode i reset with seed + i) with up to `parallel` instances at once.
/// Throws Interrupted (core/stop.hpp) between environment steps once a stop was requested.
EvalResult evaluate(Algorithm& algorithm, const std::function<std::shared_ptr<Environment>()>& make_env,
                    std::int64_t episodes, std::int64_t parallel, const ActOptions& options,
                    std::uint64_t seed);

}  // namespace dipole
