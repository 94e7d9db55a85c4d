// The sweep runners: `dipole sweep exec` (one run: train, then the sweep's evaluation, under the run
// directory's lock), the local process pool and the Slurm job array. docs/experiments.md.
#pragma once

#include <string>
#include <vector>

#include "sweep_plan.hpp"

namespace dipole::sweep {

/// Exit code of `dipole sweep exec` when another process holds the run directory (EX_TEMPFAIL).
constexpr int kRunBusy = 75;

/// Train then evaluate one run; writes <dir>/sweep.done when both finished. Returns the exit code
/// (0, 130 when stopped by a signal, kRunBusy, or the failing command's code).
int execute_run(const SweepFile& sweep, const PlannedRun& run);

struct LocalOptions {
  int jobs = 1;
  int threads_per_run = 0;  ///< 0: cores / jobs (at least 1)
  int retries = 2;
  std::string sweep_file;  ///< absolute path handed to the workers
};
/// The process pool. Returns 0 when every run is done, 1 when some failed, 130 when stopped.
int run_local(const SweepFile& sweep, const std::vector<PlannedRun>& runs, const LocalOptions& options);

/// Writes <out>/slurm/job.sh (one array task per unfinished run) and submits it with sbatch unless
/// `dry_run`. Returns the exit code.
int run_slurm(const SweepFile& sweep, const std::vector<PlannedRun>& runs, const std::string& sweep_file,
              bool dry_run);

/// done / running / pending / failed of every run, from run directories plus squeue (and sacct when it
/// has data). Returns 0.
int sweep_status(const SweepFile& sweep, const std::vector<PlannedRun>& runs, bool all);

/// The absolute path of the running `dipole` executable.
std::string self_executable();

}  // namespace dipole::sweep
