// Running a command (or the `dipole` CLI) from a test: exit code and combined stdout + stderr.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace dipole::test {

struct CommandResult {
  int code = -1;  ///< exit status, −1 if the command did not exit normally
  std::string output;
};

/// Runs `command` through the shell, stderr merged into stdout.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  while (pipe && std::fgets(buffer, sizeof buffer, pipe)) r.output += buffer;
  const int status = pipe ? ::pclose(pipe) : -1;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// First statement of a test that runs the CLI: skips it in suites built without the CLI
/// (-DDIPOLE_TESTS_NEED_CLI=OFF: the sanitizer job of scripts/sanitize.sh builds core, a few plugins
/// and the suites, not the CLI and every plugin it depends on).
#ifdef DIPOLE_TESTS_WITHOUT_CLI
#define DIPOLE_SKIP_WITHOUT_CLI() \
  GTEST_SKIP() << "runs the dipole CLI, not built here (DIPOLE_TESTS_NEED_CLI=OFF)"
#else
#define DIPOLE_SKIP_WITHOUT_CLI() static_cast<void>(0)
#endif

#ifdef DIPOLE_CLI
/// Runs the `dipole` executable of this build with `args`.
inline CommandResult dipole_cli(const std::string& args) {
  return run_command(std::string(DIPOLE_CLI) + " " + args);
}
#endif

}  // namespace dipole::test
