// `dipole bench <args>`: runs the benchmark program `dipole-bench` (apps/bench/, docs/performance.md)
// that sits next to this executable (build/bin/ in a build tree, bin/ in an installation), with the
// same arguments. The benchmarks are a program of their own (docs/architecture.md, "Layers"); this
// command keeps `dipole bench ...` working.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"
#include "dipole/errors.hpp"

namespace dipole::cli {

namespace {

std::filesystem::path bench_program() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("dipole bench: cannot find the dipole executable (/proc/self/exe)");
  return self.parent_path() / "dipole-bench";
}

}  // namespace

int bench_command(const Args& args) {
  const std::string program = bench_program().string();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  throw Error("dipole bench: cannot run " + program + " (" + std::strerror(errno) +
              "): the benchmarks are the program dipole-bench, built and installed next to dipole");
}

}  // namespace dipole::cli
