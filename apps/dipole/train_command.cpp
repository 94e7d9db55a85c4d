#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "dipole/app/process_settings.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/run_lock.hpp"
#include "dipole/core/trainer.hpp"
#include "options.hpp"

namespace dipole::cli {

int train_command(const Args& args) {
  po::options_description options("options");
  std::string file, out;
  std::vector<std::string> overrides;
  std::int64_t stop_after = -1;
  options.add_options()("pipeline", po::value(&file)->required(), "pipeline TOML file")(
      "set", po::value(&overrides)->composing(), "override a key: --set weighting.beta=10 (repeatable)")(
      "out", po::value(&out), "run directory (default: runs/<pipeline name>)")(
      "no-resume", "start from scratch even if the run directory holds a checkpoint")("quiet",
                                                                                      "no progress output")(
      "stop-after", po::value(&stop_after),
      "stop after this many steps, leaving a checkpoint (for testing resumption)");
  po::positional_options_description positional;
  positional.add("pipeline", 1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole train <pipeline.toml> [--set section.key=value ...] [--out DIR] [--no-resume]\n"
          "Writes DIR/pipeline.resolved.toml, metrics.csv/.jsonl, eval.csv/.jsonl and\n"
          "checkpoints/latest.npz. Running the same command again resumes an interrupted run;\n"
          "Ctrl-C stops after the current step and writes a checkpoint. With trainer.seeds = [N, ...]\n"
          "the seeds train together and seed N writes DIR/seed<N>/ (docs/seeds.md).",
          options, positional, vm))
    return 0;
  if (out.empty()) out = (std::filesystem::path("runs") / std::filesystem::path(file).stem()).string();

  const RunLock lock(out, "dipole train");  // before loading data: a second writer fails at once
  auto pipeline = config::Pipeline::load(file, overrides);
  app::apply_process_settings(pipeline);
  const bool multi_seed = pipeline.value_text("trainer.seeds").has_value();  // out/seed<N>/ per seed
  std::vector<Run> runs = build_seed_runs(Registry::with_default_plugins(), std::move(pipeline));
  TrainOptions train_options;
  train_options.out_dir = out;
  train_options.resume = vm.count("no-resume") == 0;
  train_options.progress = vm.count("quiet") == 0;
  train_options.stop_after = stop_after;
  if (!multi_seed) {  // one seed: the run directory is `out` itself
    const TrainResult result = train(runs.front(), train_options);
    std::cout << fmt::format("{} after {} steps; run directory {}\n",
                             result.interrupted ? "interrupted" : "trained", result.steps_done, out);
    return result.interrupted ? 130 : 0;
  }
  const std::vector<TrainResult> results = train_seeds(runs, train_options);
  bool interrupted = false;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    interrupted |= results[i].interrupted;
    std::cout << fmt::format("seed {}: {} after {} steps; run directory {}\n", runs[i].trainer.seed,
                             results[i].interrupted ? "interrupted" : "trained", results[i].steps_done,
                             seed_dir(out, runs[i].trainer.seed));
  }
  return interrupted ? 130 : 0;
}

}  // namespace dipole::cli
