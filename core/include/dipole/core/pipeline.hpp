// Builds a run from a pipeline file: the trainer/eval settings, the dataset, the (optional)
// evaluation environment and the algorithm with all the components it composes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dipole/algorithm.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/registry.hpp"
#include "dipole/dataset.hpp"
#include "dipole/environment.hpp"

namespace dipole {

/// [trainer] section. Every key documented in trainer_schema().
struct TrainerConfig {
  std::int64_t steps = 1000;
  std::int64_t batch_size = 256;
  std::uint64_t seed = 0;
  std::int64_t log_interval = 100;
  std::int64_t eval_interval = 0;        ///< 0: evaluate only at the end
  std::int64_t checkpoint_interval = 0;  ///< 0: only at the end
  std::string device = "cpu";
  std::int64_t threads = 0;  ///< intra-op threads; 0: leave LibTorch's choice
};
Schema trainer_schema();

/// [eval] section.
struct EvalConfig {
  std::int64_t episodes = 10;
  std::int64_t parallel = 8;                 ///< environment instances stepped together
  std::vector<double> omegas;                ///< ω values to evaluate (empty: the configured one)
  std::vector<std::int64_t> num_candidates;  ///< N_c values (empty: the configured one)
  std::uint64_t seed = 1000000;              ///< episode i is reset with seed + i
};
Schema eval_schema();

/// What a pipeline builds.
struct Run {
  explicit Run(config::Pipeline p) : pipeline(std::move(p)) {}
  config::Pipeline pipeline;
  TrainerConfig trainer;
  EvalConfig eval;
  Spec spec;
  c10::Device device = c10::kCPU;
  std::shared_ptr<Dataset> dataset;
  std::shared_ptr<Algorithm> algorithm;
  /// Creates a fresh evaluation environment instance (null function when there is no [environment]).
  std::function<std::shared_ptr<Environment>()> make_environment;
};

/// Build every component of `pipeline`. Rejects sections no component consumed (typos) with their
/// position. The registry must outlive the run's objects only through their own library handles.
Run build_run(const Registry& registry, config::Pipeline pipeline);

}  // namespace dipole
