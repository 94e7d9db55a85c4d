// `dipole sweep plan|run|status|report|exec FILE`: studies as one file (sweep_file.hpp), run on this
// machine or as one Slurm job array. docs/experiments.md.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "dipole/core/config.hpp"
#include "options.hpp"
#include "sweep_executors.hpp"

namespace dipole::cli {

namespace {

namespace fs = std::filesystem;
using namespace dipole::sweep;

const char* kSweepUsage = R"(usage: dipole sweep <plan|run|status|report> SWEEP.toml [options]

  plan    print every run (directory and --set overrides); every run's pipeline is resolved and
          validated first (nothing is built or started)
  run     run the sweep: --executor local --jobs N (a process pool on this machine; rerun to continue
          after any interruption) or --executor slurm (one job array, script in <out>/slurm/job.sh)
  status  done / running / pending / failed of every run (run directories, squeue, sacct)
  report  `dipole report` on the sweep's runs: rows = the tasks' keys, columns = algorithm and axes
  exec    run one run (what the pool's workers and the Slurm array tasks call): --index I

The file format and a worked example: docs/experiments.md.)";

struct Loaded {
  SweepFile sweep;
  std::vector<PlannedRun> runs;
};

Loaded load(const std::string& file) {
  Loaded l{read_sweep_file(file), {}};
  l.runs = expand(l.sweep);
  return l;
}

std::string overrides_line(const PlannedRun& run) {
  std::string out;
  for (const auto& o : run.overrides) out += " --set " + o.text;
  return out;
}

int plan(const Args& args) {
  po::options_description options("options");
  std::string file;
  options.add_options()("sweep", po::value(&file)->required(), "sweep TOML file")(
      "no-validate", "only expand the runs (skip loading and validating their pipelines)");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole sweep plan SWEEP.toml", options, positional, vm)) return 0;
  auto l = load(file);
  if (!vm.count("no-validate")) validate(l.runs, Registry::with_default_plugins());
  std::map<std::string, int> methods, tasks;
  std::size_t done = 0;
  for (const auto& run : l.runs) {
    ++methods[run.method];
    ++tasks[run.task];
    done += is_done(run) ? 1 : 0;
    std::cout << fmt::format("{:>4}  {}{}\n      {}{}\n", run.index, run.dir, is_done(run) ? "  [done]" : "",
                             fs::relative(run.pipeline).string(), overrides_line(run));
  }
  std::cout << fmt::format("sweep '{}': {} runs ({} tasks, {} methods, {} seeds, {} axes), {} done; {}\n",
                           l.sweep.name, l.runs.size(), tasks.size(), methods.size(), l.sweep.seeds.size(),
                           l.sweep.axes.size(), done,
                           vm.count("no-validate") ? "pipelines not validated" : "every pipeline validated");
  return 0;
}

int run(const Args& args) {
  po::options_description options("options");
  std::string file, executor = "local";
  int jobs = 0, threads = -1, retries = -1;
  options.add_options()("sweep", po::value(&file)->required(), "sweep TOML file")(
      "executor", po::value(&executor), "local (a process pool here) or slurm (one job array)")(
      "jobs,j", po::value(&jobs), "local: runs at once (default: executor.jobs of the sweep file)")(
      "threads", po::value(&threads), "local: OMP/OPENBLAS threads per run (default: cores / jobs)")(
      "retries", po::value(&retries), "local: retries of a failed run (default: executor.retries)")(
      "dry-run", "slurm: write the job script but do not submit it");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole sweep run SWEEP.toml [--executor local|slurm] [--jobs N]", options,
                     positional, vm))
    return 0;
  if (executor != "local" && executor != "slurm")
    throw ConfigError(fmt::format("--executor: expected local or slurm, got '{}'", executor));
  auto l = load(file);
  validate(l.runs, Registry::with_default_plugins());
  const std::string abs_file = fs::absolute(file).lexically_normal().string();
  if (executor == "slurm") return run_slurm(l.sweep, l.runs, abs_file, vm.count("dry-run") != 0);
  LocalOptions local;
  local.jobs = static_cast<int>(jobs > 0 ? jobs : l.sweep.executor.jobs);
  local.threads_per_run = static_cast<int>(threads >= 0 ? threads : l.sweep.executor.threads_per_run);
  local.retries = static_cast<int>(retries >= 0 ? retries : l.sweep.executor.retries);
  local.sweep_file = abs_file;
  return run_local(l.sweep, l.runs, local);
}

int exec(const Args& args) {
  po::options_description options("options");
  std::string file, expect_name;
  std::size_t index = 0, expect_runs = 0;
  options.add_options()("sweep", po::value(&file)->required(), "sweep TOML file")(
      "index", po::value(&index)->required(), "run index (as `dipole sweep plan` numbers them)")(
      "runs", po::value(&expect_runs), "expected number of runs (guards against an edited sweep file)")(
      "name", po::value(&expect_name), "expected run name (guards against an edited sweep file)");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole sweep exec SWEEP.toml --index I", options, positional, vm))
    return 0;
  auto l = load(file);
  if (expect_runs > 0 && l.runs.size() != expect_runs)
    throw ConfigError(
        fmt::format("{} now has {} runs, the submitted sweep had {}: the file changed since; "
                    "submit it again",
                    file, l.runs.size(), expect_runs));
  if (index >= l.runs.size())
    throw ConfigError(fmt::format("--index {}: the sweep has {} runs", index, l.runs.size()));
  const PlannedRun& r = l.runs[index];
  if (!expect_name.empty() && r.name != expect_name)
    throw ConfigError(
        fmt::format("run {} is now {}, expected {}: the sweep file changed", index, r.name, expect_name));
  return execute_run(l.sweep, r);
}

int status(const Args& args) {
  po::options_description options("options");
  std::string file;
  options.add_options()("sweep", po::value(&file)->required(), "sweep TOML file")(
      "all", "list every run (default: only runs not done)");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole sweep status SWEEP.toml [--all]", options, positional, vm))
    return 0;
  auto l = load(file);
  return sweep_status(l.sweep, l.runs, vm.count("all") != 0);
}

int report(const Args& args) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    std::cout
        << "usage: dipole sweep report SWEEP.toml [dipole report options]\n"
           "Runs `dipole report` on the sweep's finished runs with --out <out>/report, rows labelled by\n"
           "the sweep's task names, columns by its method names and axis values, then the sweep\n"
           "file's report.args and the options given here (later ones win).\n";
    return 0;
  }
  auto l = load(args.front());
  // The sweep file's report.args, then the command line's; defaults only for options neither gives.
  Args given(l.sweep.report_args.begin(), l.sweep.report_args.end());
  given.insert(given.end(), args.begin() + 1, args.end());
  const auto has = [&](const std::string& flag) {
    for (const auto& a : given)
      if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
    return false;
  };
  // Only finished runs: a run still training has no final evaluation yet.
  Args report_args;
  for (const auto& r : l.runs)
    if (is_done(r)) report_args.push_back(r.dir);
  const std::size_t done = report_args.size();
  if (report_args.empty())
    throw DataError(fmt::format("no run of the sweep '{}' is done yet (`dipole sweep status {}`)",
                                l.sweep.name, args.front()));
  if (!has("--out"))
    report_args.insert(report_args.end(), {"--out", (fs::path(l.sweep.out) / "report").string()});
  // Rows are the sweep's task names, columns its method names and axis values, read from the run
  // directories' paths <out>/<task>/<method>/<axis=value>.../seed<k> (two methods of one algorithm type
  // stay apart). --rows/--columns/--layout given by the user label by pipeline keys instead.
  if (!has("--rows") && !has("--columns") && !has("--layout"))
    report_args.insert(report_args.end(), {"--layout", "paths"});
  if (!has("--layout-root")) report_args.insert(report_args.end(), {"--layout-root", l.sweep.out});
  report_args.insert(report_args.end(), given.begin(), given.end());
  std::cout << fmt::format("sweep '{}': reporting the {} of {} runs that are done\n", l.sweep.name, done,
                           l.runs.size());
  return report_command(report_args);
}

}  // namespace

int sweep_command(const Args& args) {
  static const std::map<std::string, int (*)(const Args&)> subcommands = {
      {"plan", plan}, {"run", run}, {"exec", exec}, {"status", status}, {"report", report}};
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    std::cout << kSweepUsage << "\n";
    return args.empty() ? 2 : 0;
  }
  const auto it = subcommands.find(args.front());
  if (it == subcommands.end())
    throw ConfigError(fmt::format("unknown sweep command '{}'\n{}", args.front(), kSweepUsage));
  return it->second(Args(args.begin() + 1, args.end()));
}

}  // namespace dipole::cli
