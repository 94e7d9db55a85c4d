#include "dipole/core/replay_buffer.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "dipole/errors.hpp"
#include "dipole/sdk/batch.hpp"

namespace dipole {

namespace {

const char* const kFields[] = {"observations",      "actions", "rewards",
                               "next_observations", "masks",   "terminals"};

at::Tensor& field(Batch& b, int i) {
  switch (i) {
    case 0:
      return b.observations;
    case 1:
      return b.actions;
    case 2:
      return b.rewards;
    case 3:
      return b.next_observations;
    case 4:
      return b.masks;
    default:
      return b.terminals;
  }
}

const at::Tensor& field(const Batch& b, int i) {
  return field(const_cast<Batch&>(b), i);
}

}  // namespace

std::int64_t ReplayBuffer::fql_capacity(std::int64_t buffer_size, std::int64_t initial_rows) {
  return std::max(buffer_size, initial_rows + 1);
}

ReplayBuffer::ReplayBuffer(std::int64_t capacity, SizeRule rule, std::int64_t obs_dim,
                           std::int64_t action_dim, c10::Device device)
    : capacity_(capacity), rule_(rule) {
  if (capacity < 1) throw ConfigError(fmt::format("replay buffer: capacity {} must be at least 1", capacity));
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  data_.observations = at::zeros({capacity, obs_dim}, options);
  data_.actions = at::zeros({capacity, action_dim}, options);
  data_.rewards = at::zeros({capacity}, options);
  data_.next_observations = at::zeros({capacity, obs_dim}, options);
  data_.masks = at::zeros({capacity}, options);
  data_.terminals = at::zeros({capacity}, options);
}

void ReplayBuffer::fill(const Batch& rows) {
  if (initial_ != 0 || added_ != 0) throw Error("replay buffer: fill() on a buffer that already holds rows");
  const std::int64_t n = rows.observations.size(0);
  if (n >= capacity_)
    throw ConfigError(fmt::format("replay buffer: {} initial rows need a capacity of at least {}, have {}", n,
                                  n + 1, capacity_));
  for (int i = 0; i < 6; ++i) {
    const at::Tensor& src = field(rows, i);
    if (!src.defined() || src.size(0) != n)
      throw DataError(fmt::format("replay buffer: the initial rows' '{}' is missing or has the wrong length",
                                  kFields[i]));
    field(data_, i).narrow(0, 0, n).copy_(src.reshape(field(data_, i).narrow(0, 0, n).sizes()));
  }
  initial_ = size_ = pointer_ = n;
}

void ReplayBuffer::add(const at::Tensor& observation, const at::Tensor& action, double reward,
                       const at::Tensor& next_observation, double mask, double terminal) {
  const std::int64_t slot = pointer_;
  data_.observations[slot].copy_(observation.reshape({-1}));
  data_.actions[slot].copy_(action.reshape({-1}));
  data_.rewards[slot].fill_(reward);
  data_.next_observations[slot].copy_(next_observation.reshape({-1}));
  data_.masks[slot].fill_(mask);
  data_.terminals[slot].fill_(terminal);
  ++added_;
  pointer_ = (pointer_ + 1) % capacity_;
  if (rule_ == SizeRule::Fql)
    size_ = std::max(pointer_, size_);
  else
    size_ = std::min(initial_ + added_, capacity_);
}

Batch ReplayBuffer::sample(std::int64_t batch_size, at::Generator& generator) const {
  if (size_ == 0) throw Error("replay buffer: sample() from an empty buffer");
  const auto index = at::randint(size_, {batch_size}, generator, at::kLong);
  return rows(index.to(data_.observations.device()));
}

Batch ReplayBuffer::rows(const at::Tensor& index) const {
  return select_rows(data_, index);
}

at::Tensor ReplayBuffer::written_slots() const {
  // The last min(added, capacity) writes went to consecutive slots (mod capacity) ending before the
  // pointer; listing them oldest first makes each slot appear once with its current content.
  const std::int64_t m = std::min(added_, capacity_);
  const std::int64_t first = initial_ + (added_ - m);
  return at::remainder(at::arange(first, first + m, at::kLong), capacity_);
}

StateDict ReplayBuffer::state() const {
  StateDict s;
  const auto counter = [](std::int64_t v) { return at::scalar_tensor(v, at::kLong); };
  s["capacity"] = counter(capacity_);
  s["initial_rows"] = counter(initial_);
  s["added"] = counter(added_);
  s["size"] = counter(size_);
  s["pointer"] = counter(pointer_);
  const Batch written = rows(written_slots().to(data_.observations.device()));
  for (int i = 0; i < 6; ++i) s[std::string("rows.") + kFields[i]] = field(written, i).to(at::kCPU).clone();
  return s;
}

void ReplayBuffer::load_state(const StateDict& state) {
  const auto take = [&](const std::string& key) -> const at::Tensor& {
    auto it = state.find(key);
    if (it == state.end() || !it->second.defined())
      throw DataError(fmt::format("replay buffer state: missing entry '{}'", key));
    return it->second;
  };
  const auto counter = [&](const std::string& key) { return take(key).item<std::int64_t>(); };
  if (counter("capacity") != capacity_ || counter("initial_rows") != initial_)
    throw DataError(fmt::format(
        "replay buffer state: saved for capacity {} with {} initial rows, but this buffer has capacity {} "
        "and {} initial rows (was the dataset or online.buffer_size changed?)",
        counter("capacity"), counter("initial_rows"), capacity_, initial_));
  added_ = counter("added");
  const at::Tensor slots = written_slots().to(data_.observations.device());
  for (int i = 0; i < 6; ++i) {
    const std::string key = std::string("rows.") + kFields[i];
    const at::Tensor& rows = take(key);
    if (rows.size(0) != slots.size(0))
      throw DataError(fmt::format("replay buffer state: '{}' has {} rows, expected {}", key, rows.size(0),
                                  slots.size(0)));
    field(data_, i).index_copy_(
        0, slots, rows.to(field(data_, i).device()).reshape(field(data_, i).index_select(0, slots).sizes()));
  }
  size_ = counter("size");
  pointer_ = counter("pointer");
}

}  // namespace dipole
