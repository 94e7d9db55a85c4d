// The training loop, written once for every algorithm: sample → update → log → eval → checkpoint.
#pragma once

#include <string>
#include <vector>

#include "dipole/core/pipeline.hpp"
#include "dipole/core/stop.hpp"  // request_stop(): a signal stops train() after the current update

namespace dipole {

struct TrainOptions {
  std::string out_dir;           ///< run directory: pipeline.resolved.toml, metrics.csv/.jsonl, checkpoints/
  bool resume = true;            ///< continue from out_dir/checkpoints/latest.npz when it exists
  bool progress = true;          ///< a progress line with steps/s and ETA on stderr
  std::int64_t stop_after = -1;  ///< testing aid: stop (without final eval) after this many steps
  std::string label;             ///< prefix of this run's messages, e.g. "[seed 3] " (train_seeds sets it)
  bool progress_line = true;     ///< the steps/s line (train_seeds prints one line for all its seeds)
};

struct TrainResult {
  /// stopped by request_stop() (after an update, or during an evaluation, which the resumed run then
  /// redoes); a checkpoint of the last finished step was written
  bool interrupted = false;
  std::int64_t steps_done = 0;
  std::int64_t resumed_from = 0;
  Metrics last_metrics;
  std::string checkpoint;  ///< path of the final checkpoint
};

/// Train `run` in `options.out_dir`. Writes pipeline.resolved.toml (a resumed run must have the same
/// one), metrics.csv and metrics.jsonl (rows after the resumed step are dropped first, so the files
/// equal those of an uninterrupted run), eval.csv and eval.jsonl, and checkpoints/latest.npz (atomically).
TrainResult train(Run& run, const TrainOptions& options);

/// Several seeds of one pipeline (runs from build_seed_runs), trained together: seed N in
/// options.out_dir/seed<N>/, a run directory identical to what train(runs[i], {out_dir/seed<N>}) writes
/// (metrics apart from the time columns, evaluations, checkpoints). The seeds advance in lockstep, one
/// step of every seed at a time, the steps of different seeds on `threads` threads (≤ 0:
/// at::get_num_threads(); docs/seeds.md). A stop request or an error in one seed writes the checkpoint
/// of every seed; the error is then rethrown. Results in the order of `runs`.
std::vector<TrainResult> train_seeds(std::vector<Run>& runs, const TrainOptions& options, int threads = 0);

/// The run directory of seed N of a multi-seed run in `out_dir`: out_dir/seed<N>.
std::string seed_dir(const std::string& out_dir, std::uint64_t seed);

/// Seeds of the trainer's two generators, derived from the run seed.
std::uint64_t data_seed(std::uint64_t seed);
std::uint64_t update_seed(std::uint64_t seed);

}  // namespace dipole
