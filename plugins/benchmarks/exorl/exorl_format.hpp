// ExORL's on-disk episode format (plugins/benchmarks/exorl/README.md, "On-disk layout"): file names, per-file
// validation and the arrays of one episode file. No MuJoCo and no LibTorch beyond the light npz header, so
// the validation rules are unit-tested without a simulator (tests/exorl/test_format.cpp).
//
// Layout: <root>/<domain>/<algorithm>/buffer/<prefix>_<index>_<length>.npz, one file per episode,
// rows 0 … T (row 0 = the reset row), members observation, action, reward, discount (float32) and
// physics (float64, qpos | qvel | act).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dipole/sdk/npz.hpp"

namespace dipole::exorl {

/// Widths a domain's files must have (docs/exorl.md, "Tasks"): observation, action and physics-state columns.
struct DomainSizes {
  std::string domain;  ///< named in error messages
  std::int64_t obs_dim = 0;
  std::int64_t action_dim = 0;
  std::int64_t state_dim = 0;  ///< nq + nv + na
};

/// One episode file of a buffer directory.
struct EpisodeFile {
  std::string path;
  std::string prefix;
  std::int64_t index = 0;   ///< the 0-based episode counter of the file name
  std::int64_t length = 0;  ///< T = rows − 1, from the file name
  std::uintmax_t bytes = 0;
  std::int64_t mtime = 0;  ///< last write time, in the file clock's ticks (for cache fingerprints)
};

/// "<buffer>" = <root>/<domain>/<algorithm>/buffer.
std::string buffer_directory(const std::string& root, const std::string& domain,
                             const std::string& algorithm);

/// Parses a file name (no directory) "<prefix>_<index>_<length>.npz": exactly three
/// underscore-separated fields, a non-empty prefix, decimal index ≥ 0 and length ≥ 1.
/// Returns nothing for any other name.
std::optional<EpisodeFile> parse_file_name(const std::string& name);

/// Every *.npz of `buffer_dir`, sorted by numeric index (not by string: episode 10 after 9).
/// Other files are ignored. DataError naming the file for a .npz whose name does not follow the
/// pattern, and naming both files for two files with the same index. `buffer_dir` must exist.
std::vector<EpisodeFile> list_episode_files(const std::string& buffer_dir);

/// The five arrays of a validated episode file (unknown extra members dropped).
struct EpisodeArrays {
  std::int64_t rows = 0;                   ///< T + 1
  npz::Array observation, action, reward;  ///< float32 [rows, obs_dim], [rows, act_dim], [rows, 1]
  npz::Array discount;                     ///< float32 [rows, 1]
  npz::Array physics;                      ///< float64 [rows, state_dim]
};

/// Checks the arrays read from `file` against the rules of plugins/benchmarks/exorl/README.md ("On-disk
/// layout", "Dataset `exorl`") and `sizes`; DataError naming the file and the key: missing key, dtype, rank
/// and width, row count ≠ length + 1 from the name, a non-finite value (naming the row), an action outside
/// [−1, 1] (naming the row and column).
EpisodeArrays validate_episode(const EpisodeFile& file, std::map<std::string, npz::Array> arrays,
                               const DomainSizes& sizes);

/// Checks the length a file name claims against the file's size before anything is allocated for it:
/// its arrays need (length + 1) × (4 × (obs + action + 2) + 8 × state) bytes, which an npz can hold in
/// at most 1032 times its size (deflate's largest ratio). DataError naming the file otherwise (a name
/// claiming 10^9 steps would make the dataset allocate ~100 GB).
void check_claimed_length(const EpisodeFile& file, const DomainSizes& sizes);

/// read_npz + validate_episode.
EpisodeArrays read_episode(const EpisodeFile& file, const DomainSizes& sizes);

/// "<prefix>_<index>_<length>.npz"; ConfigError if the prefix is empty or contains '_' or '/'.
std::string episode_file_name(const std::string& prefix, std::int64_t index, std::int64_t length);

/// A text that changes whenever the file list changes (names, sizes, modification times), prefixed
/// by `salt` (e.g. the domain and task): the key of the relabelled-reward cache.
std::string fingerprint(const std::vector<EpisodeFile>& files, const std::string& salt);

}  // namespace dipole::exorl
