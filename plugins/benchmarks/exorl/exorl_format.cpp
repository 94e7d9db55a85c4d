#include "exorl_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "dipole/errors.hpp"

namespace dipole::exorl {

namespace fs = std::filesystem;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

struct KeySpec {
  const char* key;
  npz::DType dtype;
  std::int64_t width;
  const char* width_name;
};

/// First row holding a non-finite entry, or −1.
template <class T>
std::int64_t first_non_finite_row(const npz::Array& a) {
  const std::int64_t rows = a.shape[0], cols = a.shape[1];
  std::vector<T> row(static_cast<std::size_t>(cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    std::memcpy(row.data(), a.data.data() + static_cast<std::size_t>(r * cols) * sizeof(T),
                static_cast<std::size_t>(cols) * sizeof(T));
    for (const T v : row)
      if (!std::isfinite(v)) return r;
  }
  return -1;
}

}  // namespace

std::string buffer_directory(const std::string& root, const std::string& domain,
                             const std::string& algorithm) {
  return (fs::path(root) / domain / algorithm / "buffer").string();
}

std::optional<EpisodeFile> parse_file_name(const std::string& name) {
  const std::string suffix = ".npz";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string stem = name.substr(0, name.size() - suffix.size());
  const auto first = stem.find('_');
  if (first == std::string::npos || first == 0) return std::nullopt;
  const auto second = stem.find('_', first + 1);
  if (second == std::string::npos || stem.find('_', second + 1) != std::string::npos) return std::nullopt;
  const std::string index = stem.substr(first + 1, second - first - 1), length = stem.substr(second + 1);
  if (!all_digits(index) || !all_digits(length)) return std::nullopt;
  EpisodeFile file;
  file.path = name;
  file.prefix = stem.substr(0, first);
  file.index = std::stoll(index);
  file.length = std::stoll(length);
  if (file.length < 1) return std::nullopt;
  return file;
}

std::vector<EpisodeFile> list_episode_files(const std::string& buffer_dir) {
  std::vector<EpisodeFile> files;
  std::error_code ec;
  for (fs::directory_iterator it(buffer_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (it->path().extension() != ".npz") continue;
    auto file = parse_file_name(name);
    if (!file)
      throw DataError(fmt::format(
          "{}: the file name does not follow ExORL's '<prefix>_<index>_<length>.npz' (three fields separated "
          "by '_', a prefix without '_', a decimal episode index and a length ≥ 1), e.g. episode_0_1000.npz",
          it->path().string()));
    file->path = it->path().string();
    file->bytes = it->file_size();
    file->mtime = static_cast<std::int64_t>(it->last_write_time().time_since_epoch().count());
    files.push_back(std::move(*file));
  }
  if (ec) throw DataError(fmt::format("{}: cannot list the directory: {}", buffer_dir, ec.message()));
  std::sort(files.begin(), files.end(), [](const EpisodeFile& a, const EpisodeFile& b) {
    return a.index != b.index ? a.index < b.index : a.path < b.path;
  });
  for (std::size_t i = 1; i < files.size(); ++i)
    if (files[i].index == files[i - 1].index)
      throw DataError(fmt::format("{} and {}: two files hold episode index {}; remove one of them",
                                  files[i - 1].path, files[i].path, files[i].index));
  return files;
}

EpisodeArrays validate_episode(const EpisodeFile& file, std::map<std::string, npz::Array> arrays,
                               const DomainSizes& sizes) {
  const std::int64_t rows = file.length + 1;
  const std::array<KeySpec, 5> keys = {{
      {"observation", npz::DType::Float32, sizes.obs_dim, "the observation size"},
      {"action", npz::DType::Float32, sizes.action_dim, "the action size"},
      {"reward", npz::DType::Float32, 1, "one column"},
      {"discount", npz::DType::Float32, 1, "one column"},
      {"physics", npz::DType::Float64, sizes.state_dim, "the physics state size nq + nv + na"},
  }};
  for (const KeySpec& k : keys) {
    const auto it = arrays.find(k.key);
    if (it == arrays.end()) {
      std::string have;
      for (const auto& [name, value] : arrays) have += (have.empty() ? "" : ", ") + name;
      throw DataError(
          fmt::format("{}: missing array '{}' (found: {}); an ExORL episode holds observation, "
                      "action, reward, discount and physics",
                      file.path, k.key, have.empty() ? "none" : have));
    }
    const npz::Array& a = it->second;
    if (a.dtype != k.dtype)
      throw DataError(fmt::format("{}: '{}' has dtype {}, expected {}", file.path, k.key,
                                  npz::to_string(a.dtype), npz::to_string(k.dtype)));
    if (a.shape.size() != 2 || a.shape[1] != k.width)
      throw DataError(fmt::format("{}: '{}' has shape {}, expected ({}, {}) ({} of {} is {})", file.path,
                                  k.key, shape_string(a.shape), rows, k.width, k.width_name, sizes.domain,
                                  k.width));
    if (a.shape[0] != rows)
      throw DataError(fmt::format(
          "{}: '{}' has {} rows, expected {}: the file name gives length {} and every array holds length + 1 "
          "rows (row 0 is the reset row)",
          file.path, k.key, a.shape[0], rows, file.length));
    const std::int64_t bad =
        k.dtype == npz::DType::Float64 ? first_non_finite_row<double>(a) : first_non_finite_row<float>(a);
    if (bad >= 0)
      throw DataError(fmt::format("{}: '{}' has a non-finite value at row {}", file.path, k.key, bad));
  }
  EpisodeArrays out;
  out.rows = rows;
  out.observation = std::move(arrays["observation"]);
  out.action = std::move(arrays["action"]);
  out.reward = std::move(arrays["reward"]);
  out.discount = std::move(arrays["discount"]);
  out.physics = std::move(arrays["physics"]);

  std::vector<float> action(out.action.data.size() / sizeof(float));
  std::memcpy(action.data(), out.action.data.data(), out.action.data.size());
  for (std::size_t i = 0; i < action.size(); ++i)
    if (action[i] < -1.0F || action[i] > 1.0F) {
      const auto cols = static_cast<std::size_t>(sizes.action_dim);
      throw DataError(
          fmt::format("{}: 'action' at row {}, column {} is {}, outside the agent's range [-1, 1]", file.path,
                      i / cols, i % cols, action[i]));
    }
  return out;
}

void check_claimed_length(const EpisodeFile& file, const DomainSizes& sizes) {
  const auto row_bytes =
      static_cast<std::uintmax_t>(4 * (sizes.obs_dim + sizes.action_dim + 2) + 8 * sizes.state_dim);
  const std::uintmax_t capacity = file.bytes * 1032 + 4096;
  const auto rows = static_cast<std::uintmax_t>(file.length) + 1;
  if (row_bytes > 0 && rows > capacity / row_bytes)
    throw DataError(
        fmt::format("{}: the file name claims {} steps ({} rows of {} bytes of arrays for {}), more than a "
                    "file of {} bytes "
                    "can hold; the name or the file is wrong",
                    file.path, file.length, rows, row_bytes, sizes.domain, file.bytes));
}

EpisodeArrays read_episode(const EpisodeFile& file, const DomainSizes& sizes) {
  return validate_episode(file, npz::read_npz(file.path), sizes);
}

std::string episode_file_name(const std::string& prefix, std::int64_t index, std::int64_t length) {
  if (prefix.empty() || prefix.find_first_of("_/\\") != std::string::npos)
    throw ConfigError(
        fmt::format("episode file prefix '{}' must be non-empty and contain no '_' or '/' (ExORL's readers "
                    "split the name "
                    "into exactly three '_'-separated fields)",
                    prefix));
  return fmt::format("{}_{}_{}.npz", prefix, index, length);
}

std::string fingerprint(const std::vector<EpisodeFile>& files, const std::string& salt) {
  // FNV-1a 64 over one line per file; the count and the first/last names keep it readable.
  std::uint64_t h = 1469598103934665603ULL;
  const auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  };
  mix(salt + "\n");
  for (const EpisodeFile& f : files)
    mix(fmt::format("{} {} {}\n", fs::path(f.path).filename().string(), f.bytes, f.mtime));
  return fmt::format("{} files={} hash={:016x}", salt, files.size(), h);
}

}  // namespace dipole::exorl
