// The online phase of an offline-to-online run (docs/online.md): exploration environments stepped
// with the algorithm's own act() in ActMode::Explore, a replay buffer that starts from the offline
// dataset, and the state a checkpoint needs to continue the phase bit for bit.
#pragma once

#include <ATen/core/Generator.h>

#include <memory>
#include <vector>

#include "dipole/core/pipeline.hpp"
#include "dipole/core/replay_buffer.hpp"

namespace dipole {

/// Every transition of `dataset`, in row order, gathered through its episodes (the Dataset interface
/// gives no other access to all rows). ConfigError if the dataset has no episode structure, DataError
/// if its episodes do not cover size() rows.
Batch dataset_rows(const Dataset& dataset);

class OnlinePhase {
 public:
  /// Builds the buffer (from run.dataset unless balanced sampling) and run.online.envs exploration
  /// environments. `run` must outlive the phase.
  explicit OnlinePhase(Run& run);

  /// Everything of online update `index` (0-based within the phase) before its gradient step: an
  /// exploration step of every environment when index is a multiple of updates_per_step, then the
  /// batch (from the buffer; with balanced sampling B/2 dataset rows drawn first, then B/2 online rows).
  Batch next_batch(std::int64_t index, at::Generator& data_generator);

  /// Row for metrics.csv: exploration episodes finished since the previous call (their mean return,
  /// success and length), the total episode and environment-step counts and the buffer size. Resets
  /// the window.
  Metrics log_metrics();
  /// Names log_metrics() returns, in order (for the metrics.csv header).
  static std::vector<std::string> metric_names();
  /// Environment steps and seconds spent exploring (acting + stepping + storing) since the last call.
  std::pair<std::int64_t, double> take_env_timing();

  StateDict state() const;
  /// Restores state(): counters, buffer rows, the exploration generator, and each environment's
  /// episode by resetting it with its recorded seed and replaying its recorded actions (DataError if
  /// the replay does not reproduce the saved observation bit for bit).
  void load_state(const StateDict& state);

  const ReplayBuffer& buffer() const { return *buffer_; }

 private:
  struct Slot {
    std::shared_ptr<Environment> env;
    bool active = false;              ///< inside an episode
    std::int64_t seed = 0;            ///< reset seed of the current episode
    std::vector<at::Tensor> actions;  ///< actions of the current episode, for replay on resume
    at::Tensor obs;                   ///< current observation [obs_dim]
    double ret = 0;
    std::int64_t length = 0;
  };
  void explore_step();

  Run& run_;
  std::unique_ptr<ReplayBuffer> buffer_;
  std::vector<Slot> slots_;
  at::Generator explore_generator_;
  std::uint64_t episode_seed_base_;
  std::int64_t limit_ = 0;
  std::int64_t episodes_started_ = 0, episodes_done_ = 0, env_steps_ = 0;
  // Window of log_metrics().
  std::int64_t window_episodes_ = 0;
  double window_return_ = 0, window_success_ = 0, window_length_ = 0;
  // Timing window (not checkpointed: wall-clock).
  std::int64_t timing_steps_ = 0;
  double timing_seconds_ = 0;
};

}  // namespace dipole
