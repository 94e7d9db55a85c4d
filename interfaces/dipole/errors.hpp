// Typed errors, every one Dipole throws (the one home of its exception types, plugins' and the
// runtime's alike: docs/architecture.md, "The plugin SDK"). Every message says what went wrong, where
// (file:line:column, key, path) and what was expected; the CLI prints `error: <message>` without a
// stack trace.
#pragma once

#include <stdexcept>
#include <string>

namespace dipole {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A pipeline file or override is wrong (unknown key, wrong type, out of range, bad syntax).
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A plugin library is missing, incompatible or does not provide the requested type.
class PluginError : public Error {
 public:
  using Error::Error;
};

/// A dataset or checkpoint file is missing, corrupt or does not match what was expected.
class DataError : public Error {
 public:
  using Error::Error;
};

/// Training produced a non-finite value or another numeric failure.
class NumericError : public Error {
 public:
  using Error::Error;
};

/// Another live process holds a run directory (core/include/dipole/core/run_lock.hpp).
class RunLockError : public Error {
 public:
  using Error::Error;
};

/// Thrown by a loop that is stopped in the middle of a unit of work it cannot finish (an
/// evaluation, a collection) after SIGINT/SIGTERM; the caller writes what is complete and exits with
/// 130 (core/include/dipole/core/stop.hpp, docs/reliability.md "Signals").
class Interrupted : public Error {
 public:
  using Error::Error;
};

}  // namespace dipole
