// libFuzzer target: the OGBench file reader (plugins/benchmarks/ogbench/ogbench_format.cpp). The input's
// first line is
// "<dataset name> [pre|post] [max_rows]", e.g. "scene-play-singletask-task2-v0 post 10", the rest the
// .npz file's bytes: the name parser, read_file's validation, the regular-mode transitions and the
// relabelling. What is accepted must satisfy the reader's promises (each transition inside one
// episode, rewards in {−n, …, 0}, masks and terminals 0/1), else the target traps.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "dipole/errors.hpp"
#include "fuzz_util.hpp"
#include "ogbench_format.hpp"
#include "ogbench_tasks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace og = dipole::ogbench;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string::npos || newline > 200) return 0;
  std::istringstream line(input.substr(0, newline));
  std::string name, timing;
  long long max_rows = 0;
  line >> name >> timing >> max_rows;
  if (max_rows < 0 || max_rows > (1LL << 40)) max_rows = 0;
  const std::string bytes = input.substr(newline + 1);
  const std::string path = dipole::fuzz::scratch_file(
      "ogbench.npz", reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  try {
    const og::ParsedName parsed = og::parse_dataset_name(name);
    const og::TaskSpec task = og::task_spec(parsed);
    const og::FileArrays file = og::read_file(path, og::info(parsed.category));
    const og::Transitions tr = og::regular_transitions(file, max_rows);
    const og::Relabelled labels =
        og::relabel(file, tr, task, timing == "post" ? og::RewardTiming::Post : og::RewardTiming::Pre);

    const std::size_t count = tr.rows.size();
    if (labels.rewards.size() != count || labels.masks.size() != count || labels.terminals.size() != count)
      __builtin_trap();
    if (max_rows == 0 && (count == 0 || tr.episode_ends.empty())) __builtin_trap();
    const int n = og::num_indicators(task);
    std::size_t episode = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const std::int64_t row = tr.rows[k];
      if (row < 0 || row + 1 >= file.rows || file.ends[static_cast<std::size_t>(row)]) __builtin_trap();
      if (labels.rewards[k] < static_cast<float>(-n) || labels.rewards[k] > 0.0f) __builtin_trap();
      if (labels.masks[k] != 0.0f && labels.masks[k] != 1.0f) __builtin_trap();
      const bool last = file.ends[static_cast<std::size_t>(row) + 1] != 0;
      if (labels.terminals[k] != (last ? 1.0f : 0.0f)) __builtin_trap();
      if (last && (episode >= tr.episode_ends.size() ||
                   tr.episode_ends[episode++] != static_cast<std::int64_t>(k) + 1))
        __builtin_trap();
    }
    if (episode != tr.episode_ends.size()) __builtin_trap();
  } catch (const dipole::Error&) {
  }
  return 0;
}
