// Typed errors. Every message says what went wrong, where (file:line:column, key, path) and what
// was expected; the CLI prints `error: <message>` without a stack trace.
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

}  // namespace dipole
