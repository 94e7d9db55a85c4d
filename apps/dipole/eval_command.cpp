#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <type_traits>

#include "dipole/app/plot.hpp"
#include "dipole/app/process_settings.hpp"
#include "dipole/core/checkpoint.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/evaluator.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/pipeline.hpp"
#include "dipole/core/run_lock.hpp"
#include "dipole/core/stop.hpp"
#include "dipole/sdk/npz.hpp"
#include "options.hpp"

namespace dipole::cli {

namespace {

/// "0,0.5,1" and repeated flags both work. Values must be finite; integer lists hold integers >= 1.
template <class T>
std::vector<T> parse_list(const std::vector<std::string>& items, const std::string& flag) {
  std::vector<T> values;
  for (const auto& item : items) {
    std::stringstream ss(item);
    for (std::string part; std::getline(ss, part, ',');) {
      if (part.empty()) continue;
      try {
        std::size_t used = 0;
        const double v = std::stod(part, &used);
        if (used != part.size()) throw std::invalid_argument(part);
        if (!std::isfinite(v)) throw std::invalid_argument(part);
        if (std::is_integral_v<T> && (v < 1 || v > 1e9 || v != std::floor(v)))
          throw ConfigError(fmt::format("--{}: '{}' is not an integer in [1, 1000000000]", flag, part));
        values.push_back(static_cast<T>(v));
      } catch (const ConfigError&) {
        throw;
      } catch (const std::exception&) {
        throw ConfigError(fmt::format("--{}: '{}' is not a finite number", flag, part));
      }
    }
  }
  return values;
}

std::string describe(const std::optional<double>& v) {
  return v ? fmt::format("{}", *v) : "-";
}
std::string describe(const std::optional<std::int64_t>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

/// Per-dimension values as "a;b;c" (a CSV cell) or "[a, b, c]" (JSON).
std::string joined(const std::vector<double>& values, const char* separator) {
  return fmt::format("{}", fmt::join(values, separator));
}

}  // namespace

int eval_command(const Args& args) {
  po::options_description options("options");
  std::string dir, csv, dump_actions;
  std::vector<std::string> omega_args, candidate_args, overrides;
  std::int64_t episodes = -1;
  options.add_options()("run", po::value(&dir)->required(), "run directory written by `dipole train`")(
      "omega", po::value(&omega_args)->composing(), "guidance weights ω, e.g. --omega 0,0.5,1,2")(
      "num-candidates", po::value(&candidate_args)->composing(), "rejection-sampling N_c values, e.g. 1,32")(
      "episodes", po::value(&episodes), "episodes per setting (default: [eval] episodes)")(
      "set", po::value(&overrides)->composing(), "override a key of the run's pipeline (e.g. eval.seed=7)")(
      "csv", po::value(&csv),
      "table output (default: <run>/eval_sweep.csv; the same name with .jsonl beside it)")(
      "dump-actions", po::value(&dump_actions),
      "write every sampled action with its observation to this .npz (arrays observations, actions, omega, "
      "num_candidates, setting)");
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole eval <run-dir> [--omega 0,0.5,1] [--num-candidates 1,32] [--episodes N]\n"
          "Evaluates the run's latest checkpoint at every (ω, N_c) combination without retraining.",
          options, positional, vm))
    return 0;
  const std::string resolved = (std::filesystem::path(dir) / "pipeline.resolved.toml").string();
  const std::string checkpoint = (std::filesystem::path(dir) / "checkpoints" / "latest.npz").string();
  if (!std::filesystem::exists(resolved))
    throw DataError(fmt::format("'{}' is not a run directory: {} is missing", dir, resolved));

  const RunLock lock(dir, "dipole eval");  // no train or other eval writing this run meanwhile
  auto pipeline = config::Pipeline::load(resolved, overrides);
  app::apply_process_settings(pipeline);
  Run run = build_run(Registry::with_default_plugins(), std::move(pipeline));
  const TrainingState state = load_checkpoint(checkpoint);
  run.algorithm->load_state(state.algorithm);
  // A checkpoint records the plugin builds that wrote it (docs/architecture.md, "The plugin SDK"); results
  // of other builds are worth knowing about, not an error (a rebuilt library may be bit-identical).
  if (!state.plugin_builds.empty())
    for (const std::string& change : plugin_build_changes(state.plugin_builds, run.builds))
      std::fprintf(stderr, "[eval] note: %s: other plugin build: %s\n", checkpoint.c_str(), change.c_str());

  auto omegas = parse_list<double>(omega_args, "omega");
  auto candidates = parse_list<std::int64_t>(candidate_args, "num-candidates");
  if (omegas.empty() && run.eval.omegas) omegas = *run.eval.omegas;
  if (candidates.empty() && run.eval.num_candidates) candidates = *run.eval.num_candidates;
  std::vector<std::optional<double>> omega_set(omegas.begin(), omegas.end());
  std::vector<std::optional<std::int64_t>> candidate_set(candidates.begin(), candidates.end());
  if (omega_set.empty()) omega_set.push_back(std::nullopt);
  if (candidate_set.empty()) candidate_set.push_back(std::nullopt);
  if (vm.count("episodes") && (episodes < 1 || episodes > 1000000))
    throw ConfigError(fmt::format("--episodes: {} is outside [1, 1000000]", episodes));
  if (episodes < 0) episodes = run.eval.episodes;
  const ActOptions configured = run.algorithm->act_defaults();

  std::string table =
      "| step | omega | num_candidates | episodes | return_mean | return_std | success_rate |\n"
      "|---:|---:|---:|---:|---:|---:|---:|\n";
  // The first eight columns are the original layout; eval_seed and the action diagnostics follow
  // (docs/reports.md): clipped_fraction = share of action components at |a| >= 1 - 1e-6 after clipping,
  // action_mean / action_std per dimension, ';'-separated.
  std::string rows =
      "step,omega,num_candidates,episodes,return_mean,return_std,success_rate,length_mean,eval_seed,"
      "clipped_fraction,action_mean,action_std\n";
  std::string jsonl;
  EvalRecording recording;
  std::vector<double> dump_omega;
  std::vector<std::int64_t> dump_candidates, dump_setting;
  std::int64_t setting_index = 0;  // rows of the table, in order
  std::vector<PlotSeries> series;
  // SIGINT/SIGTERM abandon the running setting; the finished ones are written, then exit 130.
  StopScope stop_scope;
  std::cout << fmt::format("evaluating {} at step {} ({} episodes per setting)", dir, state.step, episodes)
            << std::endl;
  bool interrupted = false;
  for (const auto& nc : candidate_set) {
    if (interrupted) break;
    series.push_back({"N_c = " + describe(nc ? nc : configured.num_candidates), {}, {}});
    for (const auto& omega : omega_set) {
      ActOptions opts;
      opts.omega = omega;
      opts.num_candidates = nc;
      const std::size_t recorded = recording.actions.size();
      EvalResult r;
      try {
        r = evaluate(*run.algorithm, run.make_environment, episodes, run.eval.parallel, opts, run.eval.seed,
                     dump_actions.empty() ? nullptr : &recording);
      } catch (const Interrupted&) {
        // The abandoned setting's actions are not dumped.
        recording.actions.resize(recorded);
        recording.observations.resize(recorded);
        interrupted = true;
        break;
      }
      const std::string w = describe(omega ? omega : configured.omega);
      const std::string n = describe(nc ? nc : configured.num_candidates);
      const auto effective_omega = omega ? omega : configured.omega;
      const auto effective_nc = nc ? nc : configured.num_candidates;
      for (std::size_t k = recorded; k < recording.actions.size(); ++k)
        for (std::int64_t i = 0; i < recording.actions[k].size(0); ++i) {
          dump_omega.push_back(effective_omega ? *effective_omega : std::nan(""));
          dump_candidates.push_back(effective_nc ? *effective_nc : -1);
          dump_setting.push_back(setting_index);
        }
      ++setting_index;
      const double clipped = r.actions.clipped_fraction();
      table += fmt::format("| {} | {} | {} | {} | {:.4f} | {:.4f} | {:.3f} |\n", state.step, w, n, r.episodes,
                           r.return_mean, r.return_std, r.success_rate);
      rows += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", state.step, w, n, r.episodes,
                          r.return_mean, r.return_std, r.success_rate, r.length_mean, run.eval.seed, clipped,
                          joined(r.actions.mean(), ";"), joined(r.actions.stddev(), ";"));
      jsonl += fmt::format(
          "{{\"step\": {}, \"omega\": {}, \"num_candidates\": {}, \"episodes\": {}, \"return_mean\": {}, "
          "\"return_std\": {}, \"success_rate\": {}, \"length_mean\": {}, \"eval_seed\": {}, "
          "\"clipped_fraction\": {}, \"action_mean\": [{}], \"action_std\": [{}]}}\n",
          state.step, effective_omega ? fmt::format("{}", *effective_omega) : "null",
          effective_nc ? fmt::format("{}", *effective_nc) : "null", r.episodes, r.return_mean, r.return_std,
          r.success_rate, r.length_mean, run.eval.seed, clipped, joined(r.actions.mean(), ", "),
          joined(r.actions.stddev(), ", "));
      if (const auto x = omega ? omega : configured.omega) {
        series.back().points.emplace_back(*x, r.return_mean);
        series.back().errors.push_back(r.return_std /
                                       std::sqrt(static_cast<double>(std::max<std::int64_t>(r.episodes, 1))));
      }
      std::cerr << fmt::format("[eval] omega {} N_c {}: return {:.4f} ± {:.4f}, clipped fraction {:.3f}\n", w,
                               n, r.return_mean, r.return_std, clipped);
    }
  }
  std::cout << table;
  if (csv.empty()) csv = (std::filesystem::path(dir) / "eval_sweep.csv").string();
  write_text_atomic(csv, rows);
  const std::string jsonl_path = (std::filesystem::path(csv).replace_extension(".jsonl")).string();
  write_text_atomic(jsonl_path, jsonl);
  std::cout << fmt::format("wrote {} and {}\n", csv, jsonl_path);
  if (!dump_actions.empty() && !(interrupted && recording.actions.empty())) {
    if (recording.actions.empty()) throw DataError("--dump-actions: the evaluation took no action");
    using npz::from_tensor;
    const auto count = static_cast<std::int64_t>(dump_omega.size());
    npz::write_npz_ordered(
        dump_actions,
        {{"observations", from_tensor(at::cat(recording.observations).to(at::kFloat))},
         {"actions", from_tensor(at::cat(recording.actions).to(at::kFloat))},
         {"omega", from_tensor(at::from_blob(dump_omega.data(), {count}, at::kDouble).clone())},
         {"num_candidates", from_tensor(at::from_blob(dump_candidates.data(), {count}, at::kLong).clone())},
         {"setting", from_tensor(at::from_blob(dump_setting.data(), {count}, at::kLong).clone())}},
        true);
    std::cout << fmt::format("wrote {} ({} actions)\n", dump_actions, count);
  }
  if (interrupted) {
    std::cout << "interrupted: the table holds the settings finished before the stop request\n";
    return 130;
  }
  if (omega_set.size() > 1) {
    const std::string png = (std::filesystem::path(csv).parent_path() / "return_vs_omega.png").string();
    if (plot_lines(png, fmt::format("{} at step {}", dir, state.step), "omega",
                   "mean return (± standard error)", series))
      std::cout << fmt::format("wrote {}\n", png);
    else
      std::cout << fmt::format("gnuplot unavailable: the plot's data and script are {}.dat and {}.gp\n", png,
                               png);
  }
  return 0;
}

}  // namespace dipole::cli
