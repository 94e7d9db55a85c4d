// The replay buffer of the online phase (docs/online.md): a ring of transitions that starts with the
// offline dataset's rows and receives the online transitions after them, as FQL's offline-to-online
// protocol does. Rows live in preallocated tensors on the run's device; sampling draws uniform
// indices from [0, size()) with the trainer's data generator.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>

#include "dipole/types.hpp"

namespace dipole {

/// How size() follows the writes (docs/online.md, "Buffer"):
/// - Fql: size = max(write pointer, size) after each write, so the last slot (capacity − 1) is
///   written when the pointer wraps but never sampled, and a buffer holding N_data + 1 slots keeps
///   size N_data while online rows overwrite dataset rows from row 0 on (FQL's ring).
/// - Count: size = min(rows ever written, capacity), the textbook ring.
enum class SizeRule { Fql, Count };

class ReplayBuffer {
 public:
  /// FQL's capacity rule: max(buffer_size, initial_rows + 1), so the dataset always fits.
  static std::int64_t fql_capacity(std::int64_t buffer_size, std::int64_t initial_rows);

  ReplayBuffer(std::int64_t capacity, SizeRule rule, std::int64_t obs_dim, std::int64_t action_dim,
               c10::Device device);

  /// Copy the initial rows (the offline dataset) into slots [0, n); size and pointer become n.
  /// Only on an empty buffer; n must be < capacity. Rows need observations, actions, rewards,
  /// next_observations, masks and terminals.
  void fill(const Batch& rows);

  /// Append one transition at the write pointer (overwriting what is there) and advance it modulo
  /// capacity. observation/next_observation [obs_dim], action [action_dim].
  void add(const at::Tensor& observation, const at::Tensor& action, double reward,
           const at::Tensor& next_observation, double mask, double terminal);

  /// `batch_size` uniform rows of [0, size()), drawn with `generator` (CPU). Throws if empty.
  Batch sample(std::int64_t batch_size, at::Generator& generator) const;
  /// The rows at `index` [n] (int64), e.g. for tests.
  Batch rows(const at::Tensor& index) const;

  std::int64_t capacity() const { return capacity_; }
  std::int64_t size() const { return size_; }
  std::int64_t pointer() const { return pointer_; }
  std::int64_t initial_rows() const { return initial_; }
  /// Transitions added with add() so far.
  std::int64_t added() const { return added_; }

  /// What add() changed, for checkpoints: the counters and the current contents of every slot written
  /// by add() (the initial rows are rebuilt by fill() from the dataset on resume).
  StateDict state() const;
  /// Restore state() on a buffer constructed and filled exactly as the saved one; DataError names
  /// the entry on a mismatch.
  void load_state(const StateDict& state);

 private:
  at::Tensor written_slots() const;  ///< slots written by add(), in write order of their last write

  std::int64_t capacity_;
  SizeRule rule_;
  std::int64_t size_ = 0, pointer_ = 0, initial_ = 0, added_ = 0;
  Batch data_;  ///< [capacity, ...] each
};

}  // namespace dipole
