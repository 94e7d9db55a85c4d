// Stopping on SIGINT/SIGTERM (docs/reliability.md, "Signals"): one process-wide stop flag that the
// CLI's signal handler sets and every long loop (training, evaluation, collection, sweeps) polls.
//
// Outside a StopScope nothing polls the flag, so a signal ends the process at once with exit code
// 130 (all files Dipole writes are written atomically, so nothing is left half-written). Inside a
// StopScope the handler only sets the flag; the loop finishes its current unit of work, writes what
// is complete and returns, and the CLI exits with 130.
#pragma once

#include <string>

#include "dipole/errors.hpp"

namespace dipole {

/// Ask the running loop to stop (async-signal-safe: the CLI calls it from its signal handler).
void request_stop() noexcept;
/// Whether a stop was requested since the last clear_stop().
bool stop_requested() noexcept;
/// Forget a previous request (a library caller starting a new loop).
void clear_stop() noexcept;

/// Throws Interrupted("<what> interrupted") (dipole/errors.hpp) when a stop was requested.
void throw_if_stop_requested(const std::string& what);

/// Installs the SIGINT/SIGTERM handler described above (the CLI calls it once in main()).
void install_stop_signal_handlers();

/// While at least one StopScope is alive, a signal only requests a stop; outside, it exits with 130.
class StopScope {
 public:
  StopScope() noexcept;
  ~StopScope();
  StopScope(const StopScope&) = delete;
  StopScope& operator=(const StopScope&) = delete;
};

/// Removes "<name>.tmp.<pid>" files (left by a process killed during an atomic write) from `dir`
/// whose pid is not a running process. Returns how many were removed.
int remove_stale_temp_files(const std::string& dir);

}  // namespace dipole
