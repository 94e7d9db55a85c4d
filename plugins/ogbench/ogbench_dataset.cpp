// Dataset `ogbench`: the official OGBench files (`<name>.npz`, `<name>-val.npz`) in single-task form.
//
// Loading follows OGBench's regular mode [spec §5; src: ogbench/utils.py load_dataset]: the last row
// of every stored episode is dropped, next_observations[t] = observations[t + 1], terminals = 1 on
// the last kept row of each episode. Rewards and masks are computed at load time from the stored
// qpos (and button_states for scene/puzzle) with the task layer (ogbench_tasks.hpp):
//   reward_timing = "pre"  (default; OGBench ≥ 1.2 and its relabel_utils in every version):
//       reward[t] = r(s_t), mask[t] = 1 − success(s_t);
//   reward_timing = "post" (the env timing of OGBench ≤ 1.1.5, which FQL pins to 1.1.0):
//       reward[t] = r(s_{t+1}), mask[t] = 1 − success(s_{t+1}), with s_{t+1} the stored row t + 1
//       (for the last transition of an episode, the dropped last row).
// Actions are clipped to ±(1 − clip_actions) as FQL does (0 disables).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "dipole/core/batch.hpp"
#include "dipole/core/npz.hpp"
#include "dipole/dataset.hpp"
#include "dipole/plugin.hpp"
#include "ogbench_tasks.hpp"

namespace {

namespace og = dipole::ogbench;
using dipole::ConfigError;
using dipole::DataError;
using dipole::npz::Array;
using dipole::npz::DType;

constexpr const char* kDatasetUrl = "https://rail.eecs.berkeley.edu/datasets/ogbench";  // [src: utils.py]

std::string expand_home(const std::string& dir, const dipole::Params& params) {
  if (dir != "~" && dir.rfind("~/", 0) != 0) return dir;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    throw ConfigError(fmt::format("{}: '{}' starts with '~' but HOME is not set; give an absolute directory",
                                  params.where("directory"), dir));
  return std::string(home) + dir.substr(1);
}

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

/// Reads element i of an integer or bool array as int64.
std::int64_t int_at(const Array& a, std::int64_t i) {
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
    case DType::Float32: {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      return static_cast<std::int64_t>(v);
    }
    case DType::Float64: {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      return static_cast<std::int64_t>(v);
    }
    default:
      return p[i];
  }
}

class OgbenchDataset final : public dipole::Dataset {
 public:
  static dipole::Schema schema() {
    using namespace dipole::param;
    return {
        text("dataset", "",
             "single-task dataset name <category>-<type>-singletask[-task<1..5>]-v0, e.g. "
             "\"cube-single-play-singletask-task1-v0\" (no taskN: the category's default task)")
            .required(),
        text("directory", "~/.ogbench/data",
             "directory holding <category>-<type>-v0.npz and -val.npz (~ = $HOME)"),
        text("split", "train", "train: <stem>.npz; val: <stem>-val.npz").one_of({"train", "val"}),
        text("reward_timing", "pre",
             "pre: reward/mask of s_t (OGBench >= 1.2, relabel_utils); post: of s_{t+1} (the env timing of "
             "OGBench <= 1.1.5, FQL's pin 1.1.0)")
            .one_of({"pre", "post"}),
        real("clip_actions", 1e-5, "clip actions to ±(1 − clip_actions) on load (FQL); 0 disables")
            .range(0, 0.5),
        integer("max_rows", 0, "use only the first max_rows stored rows, whole episodes only; 0 = all")
            .at_least(0),
    };
  }

  OgbenchDataset(const dipole::Params& params, const dipole::BuildContext& ctx) : device_(ctx.device) {
    og::ParsedName name;
    try {
      name = og::parse_dataset_name(params.text("dataset"));
    } catch (const ConfigError& e) {
      throw ConfigError(params.where("dataset") + ": " + e.what());
    }
    const og::CategoryInfo& cat = og::info(name.category);
    task_ = og::task_spec(name);
    const std::string dir = expand_home(params.text("directory"), params);
    const std::string train_path = (std::filesystem::path(dir) / (name.dataset_stem + ".npz")).string();
    const std::string val_path = (std::filesystem::path(dir) / (name.dataset_stem + "-val.npz")).string();
    const bool val = params.text("split") == "val";
    path_ = val ? val_path : train_path;
    if (!std::filesystem::exists(path_))
      throw DataError(fmt::format(
          "{}: OGBench file '{}' does not exist (split '{}'). Expected the pair\n  {}\n  {}\n"
          "Download the official files:\n  {}/{}.npz\n  {}/{}-val.npz\n"
          "(or run OGBench's download_datasets), or create local ones with `dipole generate`; set "
          "dataset.directory if they live elsewhere.",
          params.where("directory"), path_, params.text("split"), train_path, val_path, kDatasetUrl,
          name.dataset_stem, kDatasetUrl, name.dataset_stem));

    auto arrays = dipole::npz::read_npz(path_);
    const Array& obs = require(arrays, "observations", 2, cat.obs_dim, "float32", is_float);
    const std::int64_t n = obs.shape[0];
    const Array& act = require(arrays, "actions", 2, cat.act_dim, "float32", is_float, n);
    const Array& term = require(
        arrays, "terminals", 1, 0, "bool", [](DType) { return true; }, n);
    const Array& qpos = require(arrays, "qpos", 2, cat.nq, "float32", is_float, n);
    if (arrays.count("qvel")) require(arrays, "qvel", 2, cat.nv, "float32", is_float, n);
    const Array* buttons = nullptr;
    if (cat.num_buttons > 0)
      buttons = &require(arrays, "button_states", 2, cat.num_buttons, "int64", is_integer, n);
    if (n < 2) throw DataError(fmt::format("{}: {} row(s); an episode needs at least 2", path_, n));
    for (const char* key : {"observations", "actions", "qpos", "qvel"})
      if (arrays.count(key)) check_finite(arrays.at(key), key);

    // Episode structure: every episode ends with a terminal row and has at least two rows.
    std::vector<std::uint8_t> ends(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t v = int_at(term, i);
      if (v != 0 && v != 1)
        throw DataError(fmt::format("{}: 'terminals' row {} is {}, expected 0 or 1", path_, i, v));
      ends[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    }
    if (!ends[static_cast<std::size_t>(n - 1)])
      throw DataError(fmt::format(
          "{}: the last row ({}) is not terminal: 'terminals' must be 1 exactly on the last row of every "
          "episode (the file is truncated or not an OGBench file)",
          path_, n - 1));
    for (std::int64_t i = 0; i + 1 < n; ++i)
      if (ends[static_cast<std::size_t>(i)] && ends[static_cast<std::size_t>(i + 1)])
        throw DataError(fmt::format(
            "{}: rows {} and {} are both terminal: an episode of one row has no transition; 'terminals' must "
            "mark only the last row of each episode",
            path_, i, i + 1));
    if (ends[0])
      throw DataError(fmt::format("{}: row 0 is terminal: an episode of one row has no transition", path_));

    std::int64_t rows = n;  // rows used: whole episodes within max_rows
    if (const std::int64_t max_rows = params.integer("max_rows"); max_rows > 0 && max_rows < n) {
      rows = 0;
      for (std::int64_t i = 0; i < max_rows; ++i)
        if (ends[static_cast<std::size_t>(i)]) rows = i + 1;
      if (rows == 0)
        throw ConfigError(
            fmt::format("{}: {} rows hold no whole episode of '{}' (its first episode is longer)",
                        params.where("max_rows"), max_rows, path_));
    }

    // Transitions: every row that is not an episode's last; s′ is the next row.
    std::vector<std::int64_t> keep;
    keep.reserve(static_cast<std::size_t>(rows));
    for (std::int64_t i = 0; i < rows; ++i) {
      if (ends[static_cast<std::size_t>(i)]) {
        episode_ends_.push_back(static_cast<std::int64_t>(keep.size()));
        continue;
      }
      keep.push_back(i);
    }

    // Rewards and masks from the stored state of row t (pre) or t + 1 (post).
    const bool post = params.text("reward_timing") == "post";
    const std::int64_t nb = cat.num_buttons;
    std::vector<std::int64_t> row_buttons(static_cast<std::size_t>(nb));
    std::vector<float> rewards(keep.size()), masks(keep.size()), terminals(keep.size(), 0.0f);
    for (std::size_t k = 0; k < keep.size(); ++k) {
      const std::int64_t row = keep[k] + (post ? 1 : 0);
      for (std::int64_t b = 0; b < nb; ++b)
        row_buttons[static_cast<std::size_t>(b)] = int_at(*buttons, row * nb + b);
      const std::vector<bool> ok = indicators_at(qpos, row, cat.nq, nb > 0 ? row_buttons.data() : nullptr);
      rewards[k] = static_cast<float>(og::reward(ok));
      masks[k] = static_cast<float>(og::mask(ok));
      terminals[k] = ends[static_cast<std::size_t>(keep[k] + 1)] ? 1.0f : 0.0f;
    }

    const double eps = params.real("clip_actions");
    at::Tensor all_obs = dipole::npz::to_tensor(obs).to(at::kFloat);
    at::Tensor all_act = dipole::npz::to_tensor(act).to(at::kFloat);
    const auto outside = (all_act.abs() > 1.0 + 1e-6).any(1);
    if (outside.any().item<bool>()) {
      const auto row = at::nonzero(outside)[0][0].item<std::int64_t>();
      throw DataError(fmt::format(
          "{}: 'actions' row {} lies outside [-1, 1] (OGBench stores clipped actions)", path_, row));
    }
    if (eps > 0) all_act = all_act.clamp(-1.0 + eps, 1.0 - eps);
    const at::Tensor index = at::tensor(keep, at::kLong);
    auto floats = [&](std::vector<float>& v) {
      return at::from_blob(v.data(), {static_cast<std::int64_t>(v.size())}, at::kFloat).clone();
    };
    data_.observations = all_obs.index_select(0, index).contiguous().to(device_);
    data_.next_observations = all_obs.index_select(0, index + 1).contiguous().to(device_);
    data_.actions = all_act.index_select(0, index).contiguous().to(device_);
    data_.rewards = floats(rewards).to(device_);
    data_.masks = floats(masks).to(device_);
    data_.terminals = floats(terminals).to(device_);

    spec_.obs_dim = cat.obs_dim;
    spec_.action_dim = cat.act_dim;
    spec_.action_low.assign(static_cast<std::size_t>(cat.act_dim), -1.0);
    spec_.action_high.assign(static_cast<std::size_t>(cat.act_dim), 1.0);
  }

  dipole::Spec spec() const override { return spec_; }
  std::int64_t size() const override { return data_.observations.size(0); }
  std::int64_t num_episodes() const override { return static_cast<std::int64_t>(episode_ends_.size()); }

  dipole::Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    return dipole::select_rows(data_, at::randint(size(), {batch_size}, generator, at::kLong).to(device_));
  }

  dipole::Batch episode(std::int64_t index) const override {
    if (index < 0 || index >= num_episodes())
      throw DataError(
          fmt::format("{}: episode {} does not exist ({} episodes)", path_, index, num_episodes()));
    const std::int64_t begin = index == 0 ? 0 : episode_ends_[static_cast<std::size_t>(index - 1)];
    const std::int64_t end = episode_ends_[static_cast<std::size_t>(index)];
    return dipole::select_rows(data_,
                               at::arange(begin, end, at::TensorOptions().dtype(at::kLong).device(device_)));
  }

 private:
  template <class Accept>
  const Array& require(const std::map<std::string, Array>& arrays, const char* key, std::size_t dims,
                       std::int64_t width, const char* dtype, Accept accept, std::int64_t rows = -1) const {
    auto it = arrays.find(key);
    if (it == arrays.end()) {
      std::string have;
      for (const auto& [k, v] : arrays) have += (have.empty() ? "" : ", ") + k;
      throw DataError(
          fmt::format("{}: missing array '{}' (found: {}); an OGBench {} file holds observations, "
                      "actions, terminals, qpos, qvel{}",
                      path_, key, have, og::info(task_.category).name,
                      og::info(task_.category).num_buttons ? ", button_states" : ""));
    }
    const Array& a = it->second;
    if (!accept(a.dtype))
      throw DataError(fmt::format("{}: '{}' has dtype {}, expected {}", path_, key,
                                  dipole::npz::to_string(a.dtype), dtype));
    const bool shape_ok =
        a.shape.size() == dims && (rows < 0 || a.shape[0] == rows) && (dims < 2 || a.shape[1] == width);
    if (!shape_ok) {
      std::string expected = rows < 0 ? "N" : std::to_string(rows);
      expected = dims == 1 ? "(" + expected + ",)" : "(" + expected + ", " + std::to_string(width) + ")";
      throw DataError(fmt::format("{}: '{}' has shape {}, expected {} for {}", path_, key,
                                  shape_string(a.shape), expected, og::info(task_.category).name));
    }
    return a;
  }

  void check_finite(const Array& a, const char* key) const {
    const std::int64_t rows = a.shape[0], width = a.shape[1];
    for (std::int64_t i = 0; i < rows * width; ++i) {
      double v;
      if (a.dtype == DType::Float32) {
        float f;
        std::memcpy(&f, a.data.data() + 4 * i, 4);
        v = f;
      } else {
        std::memcpy(&v, a.data.data() + 8 * i, 8);
      }
      if (!std::isfinite(v))
        throw DataError(fmt::format("{}: '{}' has a non-finite value ({}) at row {}, column {}", path_, key,
                                    v, i / width, i % width));
    }
  }

  /// Indicators of stored row `row`, from the file's own float width (float32 in official files).
  std::vector<bool> indicators_at(const Array& qpos, std::int64_t row, std::int64_t nq,
                                  const std::int64_t* buttons) {
    const std::uint8_t* p = qpos.data.data();
    const auto count = static_cast<std::size_t>(nq);
    if (qpos.dtype == DType::Float32) {
      scratch_f_.resize(count);
      std::memcpy(scratch_f_.data(), p + 4 * row * nq, 4 * count);
      return og::indicators(task_, scratch_f_.data(), buttons);
    }
    scratch_d_.resize(count);
    std::memcpy(scratch_d_.data(), p + 8 * row * nq, 8 * count);
    return og::indicators(task_, scratch_d_.data(), buttons);
  }

  c10::Device device_;
  std::string path_;
  og::TaskSpec task_;
  dipole::Spec spec_;
  std::vector<std::int64_t> episode_ends_;  ///< one past the last transition of each episode
  std::vector<float> scratch_f_;            ///< one qpos row while relabelling
  std::vector<double> scratch_d_;
  dipole::Batch data_;  ///< every kept transition, one row each, on device_
};

}  // namespace

namespace dipole::ogbench {
void register_recorder(dipole::PluginDescriptor& plugin);  // ogbench_recorder.cpp: recorder `ogbench`
}

DIPOLE_PLUGIN(plugin) {
  plugin.add<OgbenchDataset>(
      "ogbench",
      "official OGBench files (cube, scene, puzzle, mazes, antsoccer) with single-task "
      "rewards and masks computed from the stored state",
      OgbenchDataset::schema());
  dipole::ogbench::register_recorder(plugin);
}
