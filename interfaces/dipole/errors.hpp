// Typed errors, every one Dipole throws (the one home of its exception types, plugins' and the
// runtime's alike: docs/architecture.md, "The plugin SDK"). Every message says what went wrong, where
// (file:line:column, key, path) and what was expected; the CLI prints `error: <message>` without a
// stack trace.
#pragma once

#include <stdexcept>
#include <string>

namespace dipole {

// Every class below has its destructor defined in libdipole_core (core/src/errors.cpp), so its
// vtable and type_info live there only: an error thrown by a plugin stays valid after the plugin's
// library is unloaded while the stack unwinds (the CLI prints e.what() after the run is destroyed).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;
  ~Error() override;
};

/// A pipeline file or override is wrong (unknown key, wrong type, out of range, bad syntax).
class ConfigError : public Error {
 public:
  using Error::Error;
  ConfigError(const ConfigError&) = default;
  ConfigError& operator=(const ConfigError&) = default;
  ~ConfigError() override;
};

/// A plugin library is missing, incompatible or does not provide the requested type.
class PluginError : public Error {
 public:
  using Error::Error;
  PluginError(const PluginError&) = default;
  PluginError& operator=(const PluginError&) = default;
  ~PluginError() override;
};

/// A dataset or checkpoint file is missing, corrupt or does not match what was expected.
class DataError : public Error {
 public:
  using Error::Error;
  DataError(const DataError&) = default;
  DataError& operator=(const DataError&) = default;
  ~DataError() override;
};

/// Training produced a non-finite value or another numeric failure.
class NumericError : public Error {
 public:
  using Error::Error;
  NumericError(const NumericError&) = default;
  NumericError& operator=(const NumericError&) = default;
  ~NumericError() override;
};

/// Another live process holds a run directory (core/include/dipole/core/run_lock.hpp).
class RunLockError : public Error {
 public:
  using Error::Error;
  RunLockError(const RunLockError&) = default;
  RunLockError& operator=(const RunLockError&) = default;
  ~RunLockError() override;
};

/// Thrown by a loop that is stopped in the middle of a unit of work it cannot finish (an
/// evaluation, a collection) after SIGINT/SIGTERM; the caller writes what is complete and exits with
/// 130 (core/include/dipole/core/stop.hpp, docs/reliability.md "Signals").
class Interrupted : public Error {
 public:
  using Error::Error;
  Interrupted(const Interrupted&) = default;
  Interrupted& operator=(const Interrupted&) = default;
  ~Interrupted() override;
};

}  // namespace dipole
