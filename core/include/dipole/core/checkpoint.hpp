// Checkpoints: an npz holding every component tensor ("algorithm.<key>"), both generators' states,
// the online phase's state ("online.<key>"), the step and the plugin builds that wrote it
// ("meta.plugin_builds", the text of the run's plugins.toml as uint8), written atomically (temp file +
// rename). Restoring one continues a run bit-exactly.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string>

#include "dipole/types.hpp"

namespace dipole {

struct TrainingState {
  std::int64_t step = 0;
  StateDict algorithm;
  at::Tensor data_generator;       ///< at::Generator::get_state() of the data sampler
  at::Tensor algorithm_generator;  ///< of the algorithm's update noise
  /// The online phase's state ("online.<key>" members; empty before the phase starts): replay rows
  /// written online, exploration generator, environment replay logs, counters (docs/online.md).
  StateDict online;
  /// The plugins.toml text of the libraries that wrote the checkpoint (docs/architecture.md, "The plugin
  /// SDK"); empty when not recorded (checkpoints written before it was).
  std::string plugin_builds;
};

void save_checkpoint(const std::string& path, const TrainingState& state);
TrainingState load_checkpoint(const std::string& path);

}  // namespace dipole
