// dipole-bench: the benchmark suite (docs/performance.md). A program of its own next to `dipole`
// (build/bin/, or bin/ of an installation), which `dipole bench <args>` runs with the same arguments.
// Each benchmark prints ratios measured in one run (these machines are shared and noisy) and lives in
// its own file <name>.cpp; shared helpers are in bench_common.hpp. The pipelines it times are TOML
// files (configs/bench/, found by find_bench_pipeline) or any --pipeline FILE.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>

#include "bench_common.hpp"
#include "dipole/core/stop.hpp"
#include "dipole/errors.hpp"

namespace {

const char* kUsage =
    "usage: dipole-bench <benchmark> [options]   (also `dipole bench ...`; `<benchmark> --help`)\n"
    "benchmarks:\n"
    "  train-step   updates/s of one training update (--algorithm NAME: configs/bench/NAME.toml, or\n"
    "               --pipeline FILE) and its GFLOP/s relative to this machine's float32 matmul GFLOP/s;\n"
    "               --profile splits the time; --seeds S: S seeds in lockstep on the threads vs\n"
    "               the same seeds as single-thread runs side by side\n"
    "  overhead     the DIPOLE update through the plugin pipeline vs the same update as one plain\n"
    "               function (tests/support/reference/plain_dipole.cpp), alternated in one run\n"
    "  act          action latency for one observation (ω-guided Euler, with and without best-of-N)\n"
    "               against the weight-streaming (memory bandwidth) and FLOP bounds\n"
    "  eval         evaluation episodes/s with batched policy calls vs one environment at a time\n"
    "  kernels      no-grad ensemble products of 1-256 rows: EnsembleMlp's kernel vs baddbmm + GELU\n"
    "  blas-check   the BLAS products against a long-double reference (exit 1 on a mismatch); run by\n"
    "               scripts/blas_env.sh before it selects non-default OpenBLAS kernels\n"
    "`dipole bench` runs the program dipole-bench next to the dipole executable; this one is";

int dispatch(const dipole::bench::Args& args) {
  using namespace dipole::bench;
  std::string usage = kUsage;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  usage += "\n  " + (ec ? std::string("(unknown: /proc/self/exe unreadable)") : self.string());
  usage += "\nbenchmark pipelines (--algorithm NAME) are searched in:";
  for (const auto& dir : bench_config_dirs()) usage += "\n  " + dir.string();
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage << "\n";
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "train-step") return train_step(rest);
  if (args[0] == "overhead") return overhead(rest);
  if (args[0] == "act") return act_latency(rest);
  if (args[0] == "eval") return eval_rate(rest);
  if (args[0] == "kernels") return kernels(rest);
  if (args[0] == "blas-check") return blas_check(rest);
  throw dipole::ConfigError("unknown benchmark '" + args[0] + "'\n" + usage);
}

}  // namespace

int main(int argc, char** argv) {
  dipole::install_stop_signal_handlers();
  try {
    return dispatch(dipole::bench::Args(argv + 1, argv + argc));
  } catch (const dipole::Interrupted& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 130;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
