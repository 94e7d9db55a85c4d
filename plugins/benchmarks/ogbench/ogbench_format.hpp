// The OGBench file format as the `ogbench` dataset reads it (docs/ogbench.md): validation of the
// arrays of one `<name>.npz` / `<name>-val.npz` file, the regular-mode transitions and the
// single-task rewards and masks computed from the stored state. No MuJoCo, and no ATen beyond the
// npz header: the fuzz target fuzz/fuzz_ogbench.cpp runs this code on arbitrary bytes
// (docs/reliability.md, "Fuzzing").
//
// A file holds, with N stored rows: observations (N, obs_dim), actions (N, act_dim), qpos (N, nq),
// qvel (N, nv) (optional) as float32 or float64; terminals (N,) of any dtype with values 0 or 1;
// button_states (N, num_buttons) as an integer dtype with values 0 or 1 for scene and puzzle.
// Other members (e.g. the `rewards` or `masks` of other formats) are ignored.
//
// Limits, each an error naming the file, the key and what was expected:
//   - every member's size is checked by npz::read_npz against the zip directory and the file's real
//     size before it is inflated (core/src/npz.cpp);
//   - shapes and dtypes are checked before anything is derived from them; the buffers this reader
//     allocates afterwards (one byte per row for the episode ends, 8 bytes per transition, three
//     floats per transition) are sized by that validated row count, i.e. bounded by the arrays
//     already read;
//   - N ≥ 2; terminals 1 exactly on the last row of every episode, every episode ≥ 2 rows;
//   - every float finite; |action| ≤ 1 + 1e-6 (OGBench stores clipped actions).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dipole/sdk/npz.hpp"
#include "ogbench_tasks.hpp"

namespace dipole::ogbench {

/// Actions may exceed ±1 by this much (float rounding of files written by other tools).
inline constexpr double kActionTolerance = 1e-6;

/// The validated contents of one OGBench file.
struct FileArrays {
  std::string path;                ///< named in error messages
  std::int64_t rows = 0;           ///< N, stored rows
  npz::Array observations;         ///< float32 or float64, (N, obs_dim)
  npz::Array actions;              ///< float32 or float64, (N, act_dim)
  npz::Array qpos;                 ///< float32 or float64, (N, nq)
  npz::Array button_states;        ///< integer or bool, (N, num_buttons); empty without buttons
  std::vector<std::uint8_t> ends;  ///< terminals as 0/1, one per stored row
  const CategoryInfo* category = nullptr;
};

/// Checks the arrays read from `path` for `category` (see the header comment for the rules).
/// DataError naming `path` and the key: missing key (listing those found), dtype, shape, fewer
/// than 2 rows, a non-finite value (row and column), a terminal or button state other than 0/1
/// (row), an episode end misplaced, an action outside [−1, 1] (row).
FileArrays validate_file(const std::string& path, std::map<std::string, npz::Array> arrays,
                         const CategoryInfo& category);

/// npz::read_npz + validate_file.
FileArrays read_file(const std::string& path, const CategoryInfo& category);

/// OGBench's regular mode (docs/ogbench.md): the last stored row of every episode is dropped and
/// s′ of a transition is the next stored row.
struct Transitions {
  std::vector<std::int64_t> rows;          ///< stored row of each transition, in order
  std::vector<std::int64_t> episode_ends;  ///< one past the last transition of each episode
};

/// The transitions of the whole episodes within the first `max_rows` stored rows (0 = all rows).
/// Empty when `max_rows` holds no whole episode.
Transitions regular_transitions(const FileArrays& file, std::int64_t max_rows);

/// When the single-task reward and mask of a transition are evaluated.
enum class RewardTiming {
  Pre,   ///< of s_t (OGBench ≥ 1.2, relabel_utils in every version)
  Post,  ///< of s_{t+1}, the next stored row (the env timing of OGBench ≤ 1.1.5)
};

/// Per transition: reward and mask from the stored qpos (and button states) of the row the timing
/// selects, and terminal = 1 on the last transition of each episode.
struct Relabelled {
  std::vector<float> rewards, masks, terminals;
};

/// Relabels `transitions` of `file` for `task` (whose category must be the file's).
Relabelled relabel(const FileArrays& file, const Transitions& transitions, const TaskSpec& task,
                   RewardTiming timing);

}  // namespace dipole::ogbench
