// dipole: train and evaluate flow/diffusion RL policies composed from plugins.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "commands.hpp"
#include "dipole/core/stop.hpp"
#include "dipole/errors.hpp"

namespace {

const char* kUsage = R"(usage: dipole <command> [options]

commands:
  plugins   list the loaded plugin types with their documented config keys
  config    print a pipeline fully resolved (extends, --set overrides, defaults)
  train     train a pipeline; writes a run directory and resumes an interrupted one
  eval      evaluate a run's checkpoint at several ω / N_c values, as a table and CSV
  collect   run a policy (random or a checkpoint) in an environment and write the episodes with a
            recorder (e.g. ExORL's per-episode files); extends an existing destination
  report    aggregate run directories (seeds × methods × tasks) into a mean ± std table (Markdown,
            CSV) with learning-curve and return-vs-ω plots
  sweep     studies as one file (methods × tasks × seeds × ablation axes): `dipole sweep plan|run|
            status|report SWEEP.toml`, run by a local process pool or as one Slurm job array
  bench     benchmarks that print figures: `dipole bench train-step` (updates/s, GFLOP/s, and their
            ratio to this machine's float32 matmul GFLOP/s measured in the same run); runs the
            program dipole-bench next to this executable (`dipole bench --help`)

`dipole <command> --help` describes each. Plugins are searched beside libdipole_core
(lib/dipole/plugins) and in DIPOLE_PLUGIN_PATH (colon-separated directories).
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace dipole::cli;
  const std::map<std::string, int (*)(const Args&)> commands = {
      {"plugins", plugins_command}, {"config", config_command},   {"train", train_command},
      {"eval", eval_command},       {"collect", collect_command}, {"bench", bench_command},
      {"report", report_command},   {"sweep", sweep_command}};
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::fprintf(stderr, "error: unknown command '%s'\n\n%s", argv[1], kUsage);
    return 2;
  }
  // SIGINT/SIGTERM: loops inside a dipole::StopScope stop after their unit of work, write what is
  // complete and return 130; elsewhere the process exits with 130 at once.
  dipole::install_stop_signal_handlers();
  try {
    return it->second(Args(argv + 2, argv + argc));
  } catch (const dipole::Interrupted& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 130;
  } catch (const dipole::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
