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

/// [trainer] section. Every key documented in trainer_keys() (core/src/pipeline.cpp).
struct TrainerConfig {
  std::int64_t steps = 1000;
  std::int64_t batch_size = 256;
  std::uint64_t seed = 0;
  /// Several seeds trained together in one process, replacing `seed` (docs/seeds.md); absent: `seed`.
  std::optional<std::vector<std::int64_t>> seeds;
  std::int64_t log_interval = 100;
  std::int64_t eval_interval = 0;        ///< 0: evaluate only at the end
  std::int64_t checkpoint_interval = 0;  ///< 0: only at the end
  std::string device = "cpu";
  std::int64_t threads = 0;  ///< intra-op threads; 0: leave LibTorch's choice (applied by the program)
};
const Keys<TrainerConfig>& trainer_keys();
Schema trainer_schema();

/// [eval] section.
struct EvalConfig {
  std::int64_t episodes = 10;
  std::int64_t parallel = 8;                  ///< environment instances stepped together
  std::optional<std::vector<double>> omegas;  ///< ω values to evaluate (absent: the configured one)
  std::optional<std::vector<std::int64_t>> num_candidates;  ///< N_c values (absent: the configured one)
  std::uint64_t seed = 1000000;                             ///< episode i is reset with seed + i
};
const Keys<EvalConfig>& eval_keys();
Schema eval_schema();

/// [online] section: the offline-to-online phase after the trainer's offline steps (docs/online.md).
/// Every key documented in online_keys(). Absent section or steps = 0: offline only.
struct OnlineConfig {
  std::int64_t steps = 0;                      ///< online updates after trainer.steps offline updates
  std::int64_t buffer_size = 2000000;          ///< ring capacity = max(buffer_size, N_data + 1)
  std::string size_rule = "fql";               ///< fql | count (docs/online.md, "Buffer")
  bool balanced_sampling = false;              ///< half dataset rows, half online rows per batch
  std::int64_t updates_per_step = 1;           ///< gradient updates per environment step
  std::int64_t envs = 1;                       ///< exploration instances stepped together
  std::optional<double> omega;                 ///< exploration ω (absent: the sampler's configured ω)
  std::optional<std::int64_t> num_candidates;  ///< exploration N_c (absent: the configured one)
  std::optional<std::int64_t> eval_interval;   ///< online-phase evaluation interval (absent: trainer's)
  bool enabled() const { return steps > 0; }
};
const Keys<OnlineConfig>& online_keys();
Schema online_schema();

/// Which plugin build produced one component of a run (written to the run's plugins.toml).
struct ComponentBuild {
  std::string section;  ///< the pipeline table, e.g. "critic"
  Kind kind = Kind::Dataset;
  std::string type;
  std::string library;  ///< the library file
  std::string library_name;
  std::string library_version;
  int sdk_version = 0;  ///< the SDK (plugin API) version the library was built against
};

/// The builds as TOML: one [[component]] table per entry, in build order.
std::string plugin_builds_toml(const std::vector<ComponentBuild>& builds);

/// How `loaded` differs from the builds recorded in `recorded` (a plugins.toml text, e.g. a checkpoint's
/// TrainingState::plugin_builds): one line per section whose type, library name, library version or SDK
/// version changed, appeared or disappeared; library paths are not compared. Empty: the same builds.
std::vector<std::string> plugin_build_changes(const std::string& recorded,
                                              const std::vector<ComponentBuild>& loaded);

/// What a pipeline builds.
struct Run {
  explicit Run(config::Pipeline p) : pipeline(std::move(p)) {}
  config::Pipeline pipeline;
  TrainerConfig trainer;
  EvalConfig eval;
  OnlineConfig online;
  Spec spec;
  c10::Device device = c10::kCPU;
  std::shared_ptr<Dataset> dataset;
  std::shared_ptr<Algorithm> algorithm;
  /// Creates a fresh evaluation environment instance (null function when there is no [environment]).
  std::function<std::shared_ptr<Environment>()> make_environment;
  /// Every component built from the pipeline, with the library that provided it.
  std::vector<ComponentBuild> builds;
  /// Offline plus online updates: the trainer's step counter runs from 1 to this.
  std::int64_t total_steps() const { return trainer.steps + online.steps; }
};

/// Validate the whole pipeline without constructing anything: the runtime's sections, then [dataset],
/// [environment] (if present), [algorithm] and, recursively, every slot their types declare
/// (docs/architecture.md, "Slots"). A slot's section must exist (unless optional), name a type of the
/// slot's kind and provide what the slot requires; each failure is a ConfigError naming file:line:col.
/// Marks every reached section used, so unused_sections() afterwards lists only typos.
void check_pipeline(const Registry& registry, config::Pipeline& pipeline);

/// Build every component of `pipeline`. Rejects sections no component consumed (typos) with their
/// position. Runs check_pipeline() before any constructor. The registry must outlive the run's objects only
/// through their own library handles. Process-wide settings (trainer.threads) are recorded in the Run,
/// not applied: that is the program's decision (the CLI applies them, docs/architecture.md "Layers").
Run build_run(const Registry& registry, config::Pipeline pipeline);

/// The runs of a pipeline with trainer.seeds = [N, ...]: one per seed, in that order, each built from
/// pipeline.for_seed(N): each equals build_run() of the same pipeline with trainer.seed = N alone.
/// A pipeline without trainer.seeds gives one run. ConfigError for an empty list or negative or
/// repeated seeds.
std::vector<Run> build_seed_runs(const Registry& registry, config::Pipeline pipeline);

/// Resolve `pipeline` without constructing any component (no data set is read, no environment or
/// network created, no file written): the runtime's sections and check_pipeline() (every section and
/// slot against its type's schema, file:line:col errors), defaults filled in for resolved_toml(), and
/// tables no component would build rejected. `dipole config` prints its resolved_toml().
config::Pipeline resolve_pipeline(const Registry& registry, config::Pipeline pipeline);

}  // namespace dipole
