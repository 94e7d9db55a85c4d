// The run-directory lock: one writer per run directory (`dipole train`, `dipole eval`, `dipole collect`
// and the sweep runner take it). An advisory lock file `<dir>/.lock` holds the owner's pid, host and
// command; the lock itself is a flock() on that file, so the kernel releases it when the owner dies
// (kill -9 included). A lock file left behind by a dead owner is taken over with a message on stderr;
// a second live writer gets a RunLockError naming the directory and the owner. docs/experiments.md.
#pragma once

#include <optional>
#include <string>

#include "dipole/errors.hpp"

namespace dipole {

// RunLockError (another live process holds the run directory) is declared with every error type in
// dipole/errors.hpp.

/// Who holds (or last held) a run directory's lock, as written in its lock file.
struct RunLockOwner {
  long pid = 0;
  std::string host;
  std::string command;
  std::string since;  ///< UTC time the lock was taken, ISO 8601
};

class RunLock {
 public:
  /// Lock `dir` (created if missing) for `command` (e.g. "dipole train"). Throws RunLockError when a
  /// live process holds it; prints "taking over the stale lock ..." when a dead owner left its file.
  /// Re-entrant within one process: a nested RunLock on a directory this process already holds
  /// succeeds (the sweep runner holds a run's lock while it calls train and eval in-process).
  RunLock(const std::string& dir, const std::string& command);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  /// The lock file's path.
  const std::string& path() const { return path_; }

  /// The owner of `dir`'s lock when a live process holds it now (checked without keeping the lock);
  /// nullopt when it is free (or stale) or this process holds it.
  static std::optional<RunLockOwner> holder(const std::string& dir);

 private:
  std::string path_;
  std::string key_;
  int fd_ = -1;
};

}  // namespace dipole
