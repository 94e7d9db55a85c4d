#pragma once

#include "dipole/component.hpp"

namespace dipole {

/// One episode as an environment produced it, before any file layout is applied. T = number of
/// steps taken; S = the environment's simulator_state() width (0 if it has none).
struct EpisodeRecord {
  at::Tensor initial_observation;  ///< [obs_dim] float32, after reset()
  at::Tensor initial_state;        ///< [S] float64, after reset() (undefined if S = 0)
  at::Tensor actions;              ///< [T, action_dim] float32, the action applied at step t
  at::Tensor observations;         ///< [T, obs_dim] float32, after step t
  at::Tensor rewards;              ///< [T] float32, reward of step t
  at::Tensor states;               ///< [T, S] float64, after step t (undefined if S = 0)
  at::Tensor terminated;           ///< [T] bool, the environment's terminated flag
  at::Tensor truncated;            ///< [T] bool, the time limit was reached at step t
  at::Tensor successes;            ///< [T] bool, the environment's success flag
};

/// Writes episodes to disk in a benchmark's own file layout (ExORL's per-episode npz files,
/// OGBench's concatenated arrays, ...), so `dipole collect` stays format-agnostic.
/// Writes must be crash-safe: a file is either complete or absent (temp file + rename).
class Recorder : public Component {
 public:
  static constexpr Kind kKind = Kind::Recorder;
  ~Recorder() override;  // defined in core: one home for the vtable and type info

  /// Episodes already stored at the destination; collection appends after them, numbering the
  /// next episode with this index (so an interrupted or extended collection continues).
  virtual std::int64_t existing_episodes() const = 0;
  /// Store episode number `index` (0-based over the whole destination).
  virtual void write(std::int64_t index, const EpisodeRecord& episode) = 0;
  /// Called once after the last write (formats that buffer episodes write their files here).
  virtual void finish() {}
};

}  // namespace dipole
