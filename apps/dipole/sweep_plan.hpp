// Expanding a sweep file into its runs (methods × tasks × ablation axes × seeds, minus exclude rows,
// plus include rows), each with its pipeline, its --set overrides and a stable run directory
// `<out>/<task>/<method>/<axis=label,...>/seed<k>`; and validating every run's pipeline before
// anything starts, without building datasets or networks.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dipole/core/registry.hpp"
#include "sweep_file.hpp"

namespace dipole::sweep {

struct Override {
  std::string text;   ///< section.key=value
  std::string where;  ///< sweep file position that introduced it
};

struct PlannedRun {
  std::size_t index = 0;
  std::string method, task;
  std::int64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> axes;  ///< axis name → label, in file order
  std::string pipeline;                                   ///< absolute path
  std::vector<Override> overrides;
  std::string name;   ///< <task>/<method>/[<axes>/]seed<k>
  std::string dir;    ///< <out>/<name>
  std::string where;  ///< sweep file position of the method (or include row)

  std::vector<std::string> override_texts() const;
};

/// Every run, in a stable order (task, method, axis values, seed). Throws ConfigError for rows naming
/// unknown fields/values, duplicate run names and unknown methods in an axis' `methods`.
std::vector<PlannedRun> expand(const SweepFile& sweep);

/// Load every run's pipeline with its overrides and validate each section against the registry's
/// schemas (no dataset is read, no network created). Throws ConfigError naming the first failing run,
/// the sweep file line that set the offending value and the number of other failing runs.
void validate(const std::vector<PlannedRun>& runs, const Registry& registry);

/// Runs finished by the sweep runner (train + evaluation): `<dir>/sweep.done` exists.
bool is_done(const PlannedRun& run);

}  // namespace dipole::sweep
