#include "ogbench_format.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "dipole/errors.hpp"

namespace dipole::ogbench {

namespace {

using npz::Array;
using npz::DType;

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

bool is_float(DType t) {
  return t == DType::Float32 || t == DType::Float64;
}
bool is_integer(DType t) {
  return t == DType::Int64 || t == DType::Int32 || t == DType::UInt8 || t == DType::Bool;
}

/// Element i of a float array, as double.
double float_at(const Array& a, std::size_t i) {
  if (a.dtype == DType::Float32) {
    float f;
    std::memcpy(&f, a.data.data() + 4 * i, 4);
    return f;
  }
  double d;
  std::memcpy(&d, a.data.data() + 8 * i, 8);
  return d;
}

/// Element i of an integer or bool array, as int64.
std::int64_t int_at(const Array& a, std::size_t i) {
  const std::uint8_t* p = a.data.data();
  switch (a.dtype) {
    case DType::Int64: {
      std::int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      return v;
    }
    case DType::Int32: {
      std::int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    default:
      return p[i];
  }
}

/// Element i of any array as it is shown in a message.
std::string value_string(const Array& a, std::size_t i) {
  if (a.dtype == DType::Float32) return fmt::format("{}", static_cast<float>(float_at(a, i)));
  return a.dtype == DType::Float64 ? fmt::format("{}", float_at(a, i)) : std::to_string(int_at(a, i));
}

/// Element i is exactly 0 or 1 (float 0.5, 2, −1, nan are not); returns the value as 0/1.
bool zero_or_one(const Array& a, std::size_t i, std::uint8_t& value) {
  if (is_float(a.dtype)) {
    const double v = float_at(a, i);
    value = v == 1.0 ? 1 : 0;
    return v == 0.0 || v == 1.0;
  }
  const std::int64_t v = int_at(a, i);
  value = v == 1 ? 1 : 0;
  return v == 0 || v == 1;
}

class Validator {
 public:
  Validator(const std::string& path, std::map<std::string, Array>& arrays, const CategoryInfo& category)
      : path_(path), arrays_(arrays), category_(category) {}

  /// The array `key`, checked for rank `dims`, width `width` (rank 2) and `rows` rows (−1: any).
  template <class Accept>
  Array& require(const char* key, std::size_t dims, std::int64_t width, const char* dtype, Accept accept,
                 std::int64_t rows = -1) const {
    auto it = arrays_.find(key);
    if (it == arrays_.end()) {
      std::string have;
      for (const auto& [k, v] : arrays_) have += (have.empty() ? "" : ", ") + k;
      throw DataError(
          fmt::format("{}: missing array '{}' (found: {}); an OGBench {} file holds observations, "
                      "actions, terminals, qpos, qvel{}",
                      path_, key, have.empty() ? "none" : have, category_.name,
                      category_.num_buttons ? ", button_states" : ""));
    }
    Array& a = it->second;
    if (!accept(a.dtype))
      throw DataError(
          fmt::format("{}: '{}' has dtype {}, expected {}", path_, key, npz::to_string(a.dtype), dtype));
    const bool shape_ok =
        a.shape.size() == dims && (rows < 0 || a.shape[0] == rows) && (dims < 2 || a.shape[1] == width);
    if (!shape_ok) {
      std::string expected = rows < 0 ? "N" : std::to_string(rows);
      expected = dims == 1 ? "(" + expected + ",)" : "(" + expected + ", " + std::to_string(width) + ")";
      throw DataError(fmt::format("{}: '{}' has shape {}, expected {} for {}", path_, key,
                                  shape_string(a.shape), expected, category_.name));
    }
    // parse_npy guarantees this; checked again because every index below relies on it.
    if (a.data.size() != static_cast<std::size_t>(a.numel()) * npz::item_size(a.dtype))
      throw DataError(
          fmt::format("{}: '{}' holds {} bytes, expected {} for shape {}", path_, key, a.data.size(),
                      static_cast<std::size_t>(a.numel()) * npz::item_size(a.dtype), shape_string(a.shape)));
    return a;
  }

  void check_finite(const Array& a, const char* key) const {
    const auto width = static_cast<std::size_t>(a.shape[1]);
    const auto count = static_cast<std::size_t>(a.numel());
    for (std::size_t i = 0; i < count; ++i) {
      const double v = float_at(a, i);
      if (!std::isfinite(v))
        throw DataError(fmt::format("{}: '{}' has a non-finite value ({}) at row {}, column {}", path_, key,
                                    v, i / width, i % width));
    }
  }

 private:
  const std::string& path_;
  std::map<std::string, Array>& arrays_;
  const CategoryInfo& category_;
};

}  // namespace

FileArrays validate_file(const std::string& path, std::map<std::string, Array> arrays,
                         const CategoryInfo& category) {
  const Validator v(path, arrays, category);
  const auto any = [](DType) { return true; };
  const Array& obs = v.require("observations", 2, category.obs_dim, "float32", is_float);
  const std::int64_t n = obs.shape[0];
  const Array& act = v.require("actions", 2, category.act_dim, "float32", is_float, n);
  const Array& term = v.require("terminals", 1, 0, "bool", any, n);
  v.require("qpos", 2, category.nq, "float32", is_float, n);
  if (arrays.count("qvel")) v.require("qvel", 2, category.nv, "float32", is_float, n);
  const Array* buttons = nullptr;
  if (category.num_buttons > 0)
    buttons = &v.require("button_states", 2, category.num_buttons, "int64", is_integer, n);
  if (n < 2) throw DataError(fmt::format("{}: {} row(s); an episode needs at least 2", path, n));
  for (const char* key : {"observations", "actions", "qpos", "qvel"})
    if (arrays.count(key)) v.check_finite(arrays.at(key), key);

  // Episode structure: every episode ends with a terminal row and has at least two rows.
  FileArrays out;
  out.ends.resize(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < out.ends.size(); ++i)
    if (!zero_or_one(term, i, out.ends[i]))
      throw DataError(
          fmt::format("{}: 'terminals' row {} is {}, expected 0 or 1", path, i, value_string(term, i)));
  if (!out.ends.back())
    throw DataError(fmt::format(
        "{}: the last row ({}) is not terminal: 'terminals' must be 1 exactly on the last row of every "
        "episode (the file is truncated or not an OGBench file)",
        path, n - 1));
  for (std::size_t i = 0; i + 1 < out.ends.size(); ++i)
    if (out.ends[i] && out.ends[i + 1])
      throw DataError(fmt::format(
          "{}: rows {} and {} are both terminal: an episode of one row has no transition; 'terminals' must "
          "mark only the last row of each episode",
          path, i, i + 1));
  if (out.ends[0])
    throw DataError(fmt::format("{}: row 0 is terminal: an episode of one row has no transition", path));

  if (buttons != nullptr) {
    const auto width = static_cast<std::size_t>(category.num_buttons);
    std::uint8_t unused = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(buttons->numel()); ++i)
      if (!zero_or_one(*buttons, i, unused))
        throw DataError(fmt::format("{}: 'button_states' row {}, column {} is {}, expected 0 or 1", path,
                                    i / width, i % width, int_at(*buttons, i)));
  }

  // Compared as float32, as the dataset does after converting the actions to float32.
  const auto limit = static_cast<float>(1.0 + kActionTolerance);
  const auto act_width = static_cast<std::size_t>(category.act_dim);
  for (std::size_t i = 0; i < static_cast<std::size_t>(act.numel()); ++i) {
    const double a = std::fabs(float_at(act, i));
    if (act.dtype == DType::Float32 ? static_cast<float>(a) > limit : a > static_cast<double>(limit))
      throw DataError(fmt::format(
          "{}: 'actions' row {} lies outside [-1, 1] (OGBench stores clipped actions)", path, i / act_width));
  }

  out.path = path;
  out.rows = n;
  out.category = &category;
  out.observations = std::move(arrays.at("observations"));
  out.actions = std::move(arrays.at("actions"));
  out.qpos = std::move(arrays.at("qpos"));
  if (category.num_buttons > 0) out.button_states = std::move(arrays.at("button_states"));
  return out;
}

FileArrays read_file(const std::string& path, const CategoryInfo& category) {
  return validate_file(path, npz::read_npz(path), category);
}

Transitions regular_transitions(const FileArrays& file, std::int64_t max_rows) {
  std::size_t rows = file.ends.size();  // rows used: whole episodes within max_rows
  if (max_rows > 0 && static_cast<std::size_t>(max_rows) < rows) {
    rows = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(max_rows); ++i)
      if (file.ends[i]) rows = i + 1;
  }
  Transitions out;
  out.rows.reserve(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    if (file.ends[i]) {
      out.episode_ends.push_back(static_cast<std::int64_t>(out.rows.size()));
      continue;
    }
    out.rows.push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

Relabelled relabel(const FileArrays& file, const Transitions& transitions, const TaskSpec& task,
                   RewardTiming timing) {
  if (file.category == nullptr || task.category != file.category->category)
    throw DataError(fmt::format("{}: relabelling needs a task of the file's category", file.path));
  const CategoryInfo& cat = *file.category;
  const auto nq = static_cast<std::size_t>(cat.nq), nb = static_cast<std::size_t>(cat.num_buttons);
  const std::size_t count = transitions.rows.size();
  Relabelled out;
  out.rewards.resize(count);
  out.masks.resize(count);
  out.terminals.resize(count);
  std::vector<std::int64_t> buttons(nb);
  std::vector<float> qpos_f(file.qpos.dtype == DType::Float32 ? nq : 0);
  std::vector<double> qpos_d(file.qpos.dtype == DType::Float32 ? 0 : nq);
  for (std::size_t k = 0; k < count; ++k) {
    // Every transition's row is followed by a row of its episode (regular_transitions).
    const auto row = static_cast<std::size_t>(transitions.rows[k] + (timing == RewardTiming::Post ? 1 : 0));
    for (std::size_t b = 0; b < nb; ++b) buttons[b] = int_at(file.button_states, row * nb + b);
    const std::int64_t* button_ptr = nb > 0 ? buttons.data() : nullptr;
    std::vector<bool> ok;
    if (file.qpos.dtype == DType::Float32) {
      std::memcpy(qpos_f.data(), file.qpos.data.data() + 4 * row * nq, 4 * nq);
      ok = indicators(task, qpos_f.data(), button_ptr);
    } else {
      std::memcpy(qpos_d.data(), file.qpos.data.data() + 8 * row * nq, 8 * nq);
      ok = indicators(task, qpos_d.data(), button_ptr);
    }
    out.rewards[k] = static_cast<float>(reward(ok));
    out.masks[k] = static_cast<float>(mask(ok));
    out.terminals[k] = file.ends[static_cast<std::size_t>(transitions.rows[k]) + 1] ? 1.0f : 0.0f;
  }
  return out;
}

}  // namespace dipole::ogbench
