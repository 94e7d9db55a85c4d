// Sweep files (docs/experiments.md): one TOML file describing a study as the product of named axes —
// methods (a pipeline each, plus --set overrides), tasks (overrides), seeds and ablation axes over
// pipeline keys (grid, or several keys moving together) — with exclude/include rows, the evaluation
// after training and the executor's resources. Reading is strict like pipelines: every unknown key,
// wrong type or bad value is an error naming "file:line:col". TOML++ stays inside sweep_file.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dipole::sweep {

struct Method {
  std::string name;
  std::string pipeline;          ///< as written (may hold {task} / {method}); relative to the sweep file
  std::vector<std::string> set;  ///< "section.key=value" overrides
  std::string where;             ///< file:line:col of the [methods.<name>] table
};

struct Task {
  std::string name;
  std::vector<std::string> set;
  std::map<std::string, std::vector<std::string>> method_set;  ///< method → overrides for this task only
  std::string where;
};

/// An ablation axis: one key (a grid axis) or several keys that move together (zip). Each point has
/// one TOML value text per key and a label used in run directory names.
struct Axis {
  std::string name;
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> points;  ///< [point][key] TOML value text
  std::vector<std::string> labels;               ///< [point]
  std::vector<std::string> methods;              ///< methods it applies to (empty: all)
  std::string where;
};

/// An exclude or include row: field (method, task, seed or an axis name) → value label.
struct Row {
  std::map<std::string, std::string> fields;
  std::map<std::string, std::string> field_where;
  std::string where;
};

struct Evaluation {
  bool enabled = false;          ///< an [eval] table is present: `dipole eval` after training
  std::string omegas;            ///< "0,0.5,1" (empty: the pipeline's [eval] omegas)
  std::string num_candidates;    ///< "1,32"
  std::int64_t episodes = -1;    ///< -1: the pipeline's [eval] episodes
  std::vector<std::string> set;  ///< overrides for the evaluation (e.g. eval.seed=...)
};

struct Slurm {
  std::int64_t cpus_per_task = 1;
  std::string mem, time, partition, account;
  std::int64_t throttle = 0;        ///< array "%" limit (0: none)
  std::vector<std::string> sbatch;  ///< extra "#SBATCH <line>" lines
  std::vector<std::string> setup;   ///< shell lines run before the task (module load ...)
};

struct Executor {
  std::int64_t jobs = 1;             ///< local: runs at once (--jobs overrides)
  std::int64_t threads_per_run = 0;  ///< OMP/OPENBLAS threads per run (0: cores / jobs, at least 1)
  std::int64_t retries = 2;          ///< local: a failed run is retried this many times
  Slurm slurm;
};

struct SweepFile {
  std::string path;  ///< as given
  std::string name;
  std::string out;               ///< run root (relative to the working directory)
  std::vector<std::string> set;  ///< overrides of every run (applied first)
  std::string set_where;
  std::vector<std::int64_t> seeds;
  std::string seed_key = "trainer.seed";
  std::string seeds_where;
  std::vector<Method> methods;  ///< in file order
  std::vector<Task> tasks;
  std::vector<Axis> axes;
  std::vector<Row> exclude, include;
  Evaluation eval;
  Executor executor;
  std::vector<std::string> report_args;  ///< extra arguments of `dipole report`
};

/// Directory-safe label: letters, digits and . _ - + kept, anything else becomes '_'.
std::string safe_label(const std::string& text);

/// Read and check a sweep file. Throws ConfigError naming file:line:col.
SweepFile read_sweep_file(const std::string& path);

}  // namespace dipole::sweep
