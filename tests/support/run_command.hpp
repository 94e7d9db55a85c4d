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

#ifdef DIPOLE_CLI
/// Runs the `dipole` executable of this build with `args`.
inline CommandResult dipole_cli(const std::string& args) {
  return run_command(std::string(DIPOLE_CLI) + " " + args);
}
#endif

}  // namespace dipole::test
