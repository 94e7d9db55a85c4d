// `dipole bench <benchmark>`: the benchmark suite of issue 5. Each benchmark prints ratios measured
// in one run (these machines are shared and noisy) and lives in its own file bench_<name>.cpp; shared
// helpers are in bench_common.hpp. Figures and commands: docs/performance.md.
#include <iostream>

#include "bench_common.hpp"
#include "dipole/errors.hpp"

namespace dipole::cli {

namespace bench {
int blas_check(const Args& args);  // bench_blas_check.cpp
}  // namespace bench

int bench_command(const Args& args) {
  const char* usage =
      "usage: dipole bench <benchmark> [options]   (`dipole bench <benchmark> --help`)\n"
      "benchmarks:\n"
      "  train-step   updates/s of one training update (--algorithm dipole|fql|cfgrl|ifql|idql|iql|rebrac)\n"
      "               and its GFLOP/s\n"
      "               relative to this machine's float32 matmul GFLOP/s; --profile splits the time\n"
      "  overhead     the DIPOLE update through the plugin pipeline vs the same update as one plain\n"
      "               function, alternated in one run\n"
      "  act          action latency for one observation (ω-guided Euler, with and without best-of-N)\n"
      "               against the weight-streaming (memory bandwidth) and FLOP bounds\n"
      "  eval         evaluation episodes/s with batched policy calls vs one environment at a time\n"
      "  kernels      no-grad ensemble products of 1-256 rows: EnsembleMlp's kernel vs baddbmm + GELU\n"
      "  blas-check   the BLAS products against a long-double reference (exit 1 on a mismatch); run by\n"
      "               scripts/blas_env.sh before it selects non-default OpenBLAS kernels";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage << "\n";
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "train-step") return bench::train_step(rest);
  if (args[0] == "overhead") return bench::overhead(rest);
  if (args[0] == "act") return bench::act_latency(rest);
  if (args[0] == "eval") return bench::eval_rate(rest);
  if (args[0] == "kernels") return bench::kernels(rest);
  if (args[0] == "blas-check") return bench::blas_check(rest);
  throw ConfigError("unknown benchmark '" + args[0] + "'\n" + usage);
}

}  // namespace dipole::cli
