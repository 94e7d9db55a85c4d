// Recorder `ogbench`: writes the episodes of `dipole collect` as OGBench dataset files
// (`<stem>.npz`, `<stem>-val.npz`), the layout the `ogbench` dataset (and OGBench's
// `load_dataset`) reads. Docs: (docs/ogbench.md, "Manipulation: datasets") (arrays, dtypes, key order)
// and (docs/ogbench.md, "Generator loop") (rows of the data-collection episodes). Keys and the
// crash/extension rules: README.md.
//
// Rows. An episode of T steps becomes T rows, as OGBench's generator stores them [docs/ogbench.md, "Generator
// loop": it appends the pre-step observation, a_t, done and prev_qpos/prev_qvel/prev_button_states at every
// step]:
//   row t = (observation of s_t, a_t, terminal = (t == T − 1), qpos/qvel/buttons of s_t),
// with s_0 = the reset state (initial_observation, initial_state) and s_t = the state after step
// t − 1 (observations[t − 1], states[t − 1]). The outcome of the last step (observations[T − 1],
// states[T − 1]) is not stored: OGBench's 1001-step episodes give the rows s_0 … s_1000, and its
// loader drops the last row of each episode (the last stored row is only the s′ of row T − 2).
//
// State layout contract with the environment: simulator_state() = [qpos (nq), qvel (nv),
// button_states (n_buttons, 0/1 as doubles)] float64, the widths of the category (ogbench_tasks.hpp).
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "dipole/plugin.hpp"
#include "dipole/recorder.hpp"
#include "dipole/sdk/npz.hpp"
#include "ogbench_tasks.hpp"
#include "registration.hpp"

namespace dipole::ogbench {
namespace {

namespace fs = std::filesystem;
using npz::Array;
using npz::DType;

/// Consecutive episodes in OGBench's row layout (docs/ogbench.md, "Manipulation: datasets"), held in memory
/// until a file is written.
struct Rows {
  std::int64_t obs_dim = 0, act_dim = 0, nq = 0, nv = 0, nb = 0;
  std::vector<float> observations, actions, qpos, qvel;  // row-major [rows, width]
  std::vector<std::uint8_t> terminals;                   // [rows], 1 on the last row of an episode
  std::vector<std::int64_t> buttons;                     // [rows, nb]
  std::vector<std::int64_t> ends;                        // one past the last row of each episode

  std::int64_t rows() const { return static_cast<std::int64_t>(terminals.size()); }
  std::int64_t episodes() const { return static_cast<std::int64_t>(ends.size()); }
  std::int64_t begin_of(std::int64_t episode) const {
    return episode == 0 ? 0 : ends[static_cast<std::size_t>(episode - 1)];
  }

  void append(const Rows& other) {
    const std::int64_t offset = rows();
    observations.insert(observations.end(), other.observations.begin(), other.observations.end());
    actions.insert(actions.end(), other.actions.begin(), other.actions.end());
    qpos.insert(qpos.end(), other.qpos.begin(), other.qpos.end());
    qvel.insert(qvel.end(), other.qvel.begin(), other.qvel.end());
    terminals.insert(terminals.end(), other.terminals.begin(), other.terminals.end());
    buttons.insert(buttons.end(), other.buttons.begin(), other.buttons.end());
    for (const std::int64_t end : other.ends) ends.push_back(offset + end);
  }
};

template <class T>
Array make_array(DType dtype, const std::vector<T>& values, std::int64_t begin_row, std::int64_t end_row,
                 std::int64_t width) {
  Array a;
  a.dtype = dtype;
  a.shape = width > 0 ? std::vector<std::int64_t>{end_row - begin_row, width}
                      : std::vector<std::int64_t>{end_row - begin_row};
  const std::int64_t w = width > 0 ? width : 1;
  a.data.resize(static_cast<std::size_t>((end_row - begin_row) * w) * sizeof(T));
  if (!a.data.empty()) std::memcpy(a.data.data(), values.data() + begin_row * w, a.data.size());
  return a;
}

template <class T>
std::vector<T> values_of(const Array& a) {
  std::vector<T> v(a.data.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

/// `dataset` may be a file stem ("cube-single-play-v0") or a single-task dataset name
/// ("cube-single-play-singletask-task1-v0", whose files are the same).
ParsedName parse_stem(const std::string& name, const Params& params) {
  try {
    return parse_dataset_name(name);
  } catch (const ConfigError& full_name_error) {
    const auto dash = name.rfind('-');
    if (name.find("-singletask") != std::string::npos || dash == std::string::npos)
      throw ConfigError(fmt::format("{}: {}", params.where("dataset"), full_name_error.what()));
    try {
      ParsedName parsed = parse_dataset_name(name.substr(0, dash) + "-singletask" + name.substr(dash));
      if (parsed.dataset_stem == name) return parsed;
    } catch (const ConfigError& stem_error) {
      throw ConfigError(
          fmt::format("{}: '{}' is neither a file stem <category>-<dataset type>-<version> (e.g. "
                      "cube-single-play-v0) nor "
                      "a single-task dataset name: {}",
                      params.where("dataset"), name, stem_error.what()));
    }
    throw ConfigError(fmt::format("{}: {}", params.where("dataset"), full_name_error.what()));
  }
}

std::string expand_home(const std::string& dir, const Params& params) {
  if (dir != "~" && dir.rfind("~/", 0) != 0) return dir;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    throw ConfigError(fmt::format("{}: '{}' starts with '~' but HOME is not set; give an absolute directory",
                                  params.where("directory"), dir));
  return std::string(home) + dir.substr(1);
}

class OgbenchRecorder final : public Recorder {
 public:
  struct Config {
    std::string dataset;
    std::string directory = "~/.ogbench/data";
    std::int64_t val_episodes = 0;
    std::int64_t checkpoint_every = 100;
  };
  static const Keys<Config>& keys() {
    using C = Config;
    static const Keys<C> keys{
        key(&C::dataset, "dataset",
            "file stem <category>-<type>-v0 (e.g. \"cube-single-play-v0\") or a single-task dataset name "
            "(\"cube-single-play-singletask-task1-v0\"): writes <stem>.npz (and <stem>-val.npz); the "
            "category fixes every width")
            .required(),
        key(&C::directory, "directory", "directory that receives the files (~ = $HOME)"),
        key(&C::val_episodes, "val_episodes",
            "the last val_episodes episodes of the collection go to <stem>-val.npz (official: 100 of "
            "1100); 0 = no validation file")
            .at_least(0),
        key(&C::checkpoint_every, "checkpoint_every",
            "every this many new episodes, all episodes so far are written to <stem>-partial.npz, so "
            "a crash loses at most this many; 0 = only at the end")
            .at_least(0),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  OgbenchRecorder(const Params& params, const BuildContext& ctx)
      : OgbenchRecorder(params, keys().read(params), ctx) {}
  OgbenchRecorder(const Params& params, const Config& config, const BuildContext& /*ctx*/)
      : name_(parse_stem(config.dataset, params)),
        category_(info(name_.category)),
        val_episodes_(config.val_episodes),
        checkpoint_every_(config.checkpoint_every) {
    const fs::path dir(expand_home(config.directory, params));
    train_path_ = (dir / (name_.dataset_stem + ".npz")).string();
    val_path_ = (dir / (name_.dataset_stem + "-val.npz")).string();
    partial_path_ = (dir / (name_.dataset_stem + "-partial.npz")).string();
    rows_ = empty_rows();
    load_existing();
    stored_ = rows_.episodes();
  }

  /// The partial file when one exists (an interrupted collection: it holds every episode), else the
  /// train file followed by the validation file.
  std::int64_t existing_episodes() const override { return stored_; }

  void write(std::int64_t index, const EpisodeRecord& episode) override {
    if (index < rows_.episodes() || pending_.count(index))
      throw DataError(
          fmt::format("recorder ogbench ({}): episode {} is already recorded ({} episodes stored)",
                      train_path_, index, rows_.episodes()));
    pending_.emplace(index, to_rows(index, episode));
    while (!pending_.empty() && pending_.begin()->first == rows_.episodes()) {
      rows_.append(pending_.begin()->second);
      pending_.erase(pending_.begin());
    }
    if (checkpoint_every_ > 0 && rows_.episodes() - stored_ >= checkpoint_every_) write_partial();
  }

  /// Writes <stem>.npz (and -val.npz) from every episode, then removes the partial file. The pair
  /// is replaced one file at a time, so while files of an earlier run are being replaced a partial
  /// file holding at least their episodes must exist: after a crash existing_episodes() prefers it,
  /// and it is consistent (at worst it lacks the episodes after its last checkpoint). A fresh
  /// collection needs none: a crash between the two writes leaves the train file alone, a
  /// consistent prefix of the collection (the validation episodes are collected again).
  void finish() override {
    const auto keep_in_partial = [&] {
      if (rows_.episodes() > stored_) write_partial();
    };
    if (!pending_.empty()) {
      keep_in_partial();
      throw DataError(fmt::format(
          "recorder ogbench ({}): episode {} was never recorded but episode {} was; the {} episodes before "
          "the gap are kept in {}, rerun the collection to continue",
          train_path_, rows_.episodes(), pending_.begin()->first, rows_.episodes(),
          fs::exists(partial_path_) ? partial_path_ : train_path_));
    }
    if (rows_.episodes() == loaded_ && !fs::exists(partial_path_)) return;  // nothing new
    const std::int64_t n = rows_.episodes();
    if (val_episodes_ >= n) {
      keep_in_partial();
      throw ConfigError(fmt::format(
          "recorder ogbench ({}): val_episodes = {} leaves no training episode of the {} collected; they are "
          "kept in {}; collect more episodes or lower recorder.val_episodes",
          train_path_, val_episodes_, n, fs::exists(partial_path_) ? partial_path_ : train_path_));
    }
    if (replaces_pair_ && !fs::exists(partial_path_)) write_partial();
    write_file(train_path_, 0, n - val_episodes_, /*compressed=*/true);
    if (val_episodes_ > 0)
      write_file(val_path_, n - val_episodes_, n, /*compressed=*/true);
    else
      fs::remove(val_path_);  // a validation file of an earlier split now lies inside the train file
    fs::remove(partial_path_);
    loaded_ = stored_ = n;
    replaces_pair_ = true;
  }

 private:
  Rows empty_rows() const {
    Rows r;
    r.obs_dim = category_.obs_dim;
    r.act_dim = category_.act_dim;
    r.nq = category_.nq;
    r.nv = category_.nv;
    r.nb = category_.num_buttons;
    return r;
  }

  void load_existing() {
    if (fs::exists(partial_path_)) {
      rows_ = read_rows(partial_path_);
    } else if (fs::exists(train_path_)) {
      rows_ = read_rows(train_path_);
      if (fs::exists(val_path_)) rows_.append(read_rows(val_path_));
      replaces_pair_ = true;
    } else if (fs::exists(val_path_)) {
      throw DataError(fmt::format(
          "recorder ogbench: {} exists without {}; the recorder appends after train + val episodes, so "
          "move the validation file away or restore the train file",
          val_path_, train_path_));
    }
    loaded_ = rows_.episodes();
  }

  /// One episode in rows (header comment), validated against the category.
  Rows to_rows(std::int64_t index, const EpisodeRecord& e) const {
    const std::string what = fmt::format("recorder ogbench ({}): episode {}", train_path_, index);
    const std::int64_t steps = e.actions.defined() ? e.actions.size(0) : 0;
    if (steps < 2)
      throw DataError(fmt::format(
          "{} has {} step(s); an OGBench episode needs at least 2 rows (one transition)", what, steps));
    const std::int64_t state_dim = category_.nq + category_.nv + category_.num_buttons;
    if (!e.states.defined() || !e.initial_state.defined())
      throw ConfigError(fmt::format(
          "{}: the environment provides no simulator state, but OGBench files store qpos/qvel{} of every row "
          "(expected simulator_state() = [qpos ({}), qvel ({}), button states ({})])",
          what, category_.num_buttons ? "/button_states" : "", category_.nq, category_.nv,
          category_.num_buttons));
    const auto check_width = [&](std::int64_t got, std::int64_t expected, const std::string& of) {
      if (got != expected)
        throw ConfigError(
            fmt::format("{}: {} has {} entries, but {} files hold {}; set recorder.dataset to the "
                        "environment's category",
                        what, of, got, category_.name, expected));
    };
    check_width(e.initial_observation.numel(), category_.obs_dim, "the observation");
    check_width(e.actions.size(-1), category_.act_dim, "the action");
    if (e.initial_state.numel() != state_dim || e.states.size(-1) != state_dim)
      throw ConfigError(fmt::format(
          "{}: the simulator state has {} entries, but {} files need nq + nv + buttons = {} + {} + {} = {} "
          "(simulator_state() = [qpos, qvel, button states]); set recorder.dataset to the environment's "
          "category",
          what, e.initial_state.numel(), category_.name, category_.nq, category_.nv, category_.num_buttons,
          state_dim));
    const auto rows_of = [](const at::Tensor& t, std::int64_t width) -> std::int64_t {
      return t.defined() && t.dim() == 2 && t.size(1) == width ? t.size(0) : -1;
    };
    if (rows_of(e.actions, category_.act_dim) != steps ||
        rows_of(e.observations, category_.obs_dim) != steps || rows_of(e.states, state_dim) != steps)
      throw DataError(fmt::format(
          "{}: expected actions [{}, {}], observations [{}, {}] and states [{}, {}], got [{}], [{}] and [{}]",
          what, steps, category_.act_dim, steps, category_.obs_dim, steps, state_dim,
          fmt::join(e.actions.sizes(), ", "),
          e.observations.defined() ? fmt::format("{}", fmt::join(e.observations.sizes(), ", ")) : "undefined",
          fmt::join(e.states.sizes(), ", ")));

    // Row t: s_t = reset state for t = 0, else the state after step t − 1; a_t = actions[t].
    const at::Tensor obs = at::cat({e.initial_observation.reshape({1, -1}).to(at::kCPU, at::kFloat),
                                    e.observations.slice(0, 0, steps - 1).to(at::kCPU, at::kFloat)})
                               .contiguous();
    const at::Tensor state = at::cat({e.initial_state.reshape({1, -1}).to(at::kCPU, at::kDouble),
                                      e.states.slice(0, 0, steps - 1).to(at::kCPU, at::kDouble)})
                                 .contiguous();
    const at::Tensor act = e.actions.to(at::kCPU, at::kFloat).contiguous();

    Rows r = empty_rows();
    const float* o = obs.data_ptr<float>();
    const float* a = act.data_ptr<float>();
    const double* s = state.data_ptr<double>();
    r.observations.assign(o, o + steps * category_.obs_dim);
    r.actions.assign(a, a + steps * category_.act_dim);
    for (std::int64_t t = 0; t < steps; ++t) {
      const double* row = s + t * state_dim;
      for (std::int64_t k = 0; k < category_.nq; ++k) r.qpos.push_back(static_cast<float>(row[k]));
      for (std::int64_t k = 0; k < category_.nv; ++k)
        r.qvel.push_back(static_cast<float>(row[category_.nq + k]));
      for (std::int64_t k = 0; k < category_.num_buttons; ++k) {
        const double b = row[category_.nq + category_.nv + k];
        if (b != 0.0 && b != 1.0)
          throw DataError(
              fmt::format("{}, row {}: button state {} is {}, expected 0 or 1 (simulator_state() "
                          "entry {})",
                          what, t, k, b, category_.nq + category_.nv + k));
        r.buttons.push_back(static_cast<std::int64_t>(b));
      }
      r.terminals.push_back(t == steps - 1 ? 1 : 0);
    }
    r.ends.push_back(steps);

    const auto check = [&](const std::vector<float>& v, std::int64_t width, const char* key, bool bounded) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        const auto row = static_cast<std::int64_t>(i) / width, col = static_cast<std::int64_t>(i) % width;
        if (!std::isfinite(v[i]))
          throw DataError(
              fmt::format("{}, row {}: '{}' column {} is not finite ({})", what, row, key, col, v[i]));
        if (bounded && std::abs(v[i]) > 1.0f)
          throw DataError(fmt::format(
              "{}, row {}: action column {} is {}, outside [-1, 1] (OGBench stores the clipped action the "
              "environment applied)",
              what, row, col, v[i]));
      }
    };
    check(r.observations, category_.obs_dim, "observations", false);
    check(r.actions, category_.act_dim, "actions", true);
    check(r.qpos, category_.nq, "qpos", false);
    check(r.qvel, category_.nv, "qvel", false);
    return r;
  }

  /// Episodes [first, last) as one OGBench file: keys and dtypes of (docs/ogbench.md, "Manipulation:
  /// datasets"), in that order, deflated (or stored: the partial file favours speed, it is rewritten at every
  /// checkpoint).
  void write_file(const std::string& path, std::int64_t first, std::int64_t last, bool compressed) const {
    const std::int64_t begin = rows_.begin_of(first), end = rows_.begin_of(last);
    std::vector<std::pair<std::string, Array>> arrays;
    arrays.emplace_back("observations",
                        make_array(DType::Float32, rows_.observations, begin, end, rows_.obs_dim));
    arrays.emplace_back("actions", make_array(DType::Float32, rows_.actions, begin, end, rows_.act_dim));
    arrays.emplace_back("terminals", make_array(DType::Bool, rows_.terminals, begin, end, 0));
    arrays.emplace_back("qpos", make_array(DType::Float32, rows_.qpos, begin, end, rows_.nq));
    arrays.emplace_back("qvel", make_array(DType::Float32, rows_.qvel, begin, end, rows_.nv));
    if (rows_.nb > 0)
      arrays.emplace_back("button_states", make_array(DType::Int64, rows_.buttons, begin, end, rows_.nb));
    fs::create_directories(fs::path(path).parent_path());
    npz::write_npz_ordered(path, arrays, compressed);
  }

  void write_partial() {
    write_file(partial_path_, 0, rows_.episodes(), /*compressed=*/false);
    stored_ = rows_.episodes();
  }

  /// An existing file of this category, checked as strictly as it is written (it is rewritten with
  /// the new episodes appended): exactly the keys, dtypes and widths of "Manipulation: datasets", whole
  /// episodes.
  Rows read_rows(const std::string& path) const {
    std::map<std::string, Array> arrays = npz::read_npz(path);
    const std::string hint = "; the recorder appends to files of its own category and layout";
    std::vector<std::string> keys = {"observations", "actions", "terminals", "qpos", "qvel"};
    if (category_.num_buttons > 0) keys.push_back("button_states");
    for (const auto& [key, array] : arrays)
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        throw DataError(fmt::format("{}: unexpected array '{}' (an OGBench {} file holds {}){}", path, key,
                                    category_.name, fmt::join(keys, ", "), hint));
    std::int64_t n = -1;
    const auto require = [&](const std::string& key, DType dtype, std::int64_t width) -> const Array& {
      const auto it = arrays.find(key);
      if (it == arrays.end()) throw DataError(fmt::format("{}: missing array '{}'{}", path, key, hint));
      const Array& a = it->second;
      if (a.dtype != dtype)
        throw DataError(fmt::format("{}: '{}' has dtype {}, expected {}{}", path, key,
                                    npz::to_string(a.dtype), npz::to_string(dtype), hint));
      const bool shape_ok = a.shape.size() == (width > 0 ? 2U : 1U) && (width == 0 || a.shape[1] == width) &&
                            (n < 0 || a.shape[0] == n);
      if (!shape_ok)
        throw DataError(fmt::format("{}: '{}' has shape ({}), expected ({}{}) for {}{}", path, key,
                                    fmt::join(a.shape, ", "), n < 0 ? "N" : std::to_string(n),
                                    width > 0 ? ", " + std::to_string(width) : std::string(","),
                                    category_.name, hint));
      n = a.shape[0];
      return a;
    };
    Rows r = empty_rows();
    r.observations = values_of<float>(require("observations", DType::Float32, r.obs_dim));
    r.actions = values_of<float>(require("actions", DType::Float32, r.act_dim));
    r.terminals = values_of<std::uint8_t>(require("terminals", DType::Bool, 0));
    r.qpos = values_of<float>(require("qpos", DType::Float32, r.nq));
    r.qvel = values_of<float>(require("qvel", DType::Float32, r.nv));
    if (r.nb > 0) r.buttons = values_of<std::int64_t>(require("button_states", DType::Int64, r.nb));
    for (std::int64_t i = 0; i < n; ++i)
      if (r.terminals[static_cast<std::size_t>(i)]) {
        if (i == r.begin_of(r.episodes()))
          throw DataError(fmt::format("{}: row {} ends an episode of one row{}", path, i, hint));
        r.ends.push_back(i + 1);
      }
    if (n > 0 && !r.terminals.back())
      throw DataError(
          fmt::format("{}: the last row ({}) is not terminal (a truncated file?){}", path, n - 1, hint));
    return r;
  }

  ParsedName name_;
  const CategoryInfo& category_;
  std::string train_path_, val_path_, partial_path_;
  std::int64_t val_episodes_, checkpoint_every_;
  Rows rows_;                             ///< every contiguous episode 0 … n − 1 (loaded + recorded)
  std::map<std::int64_t, Rows> pending_;  ///< episodes that finished before a lower index
  std::int64_t loaded_ = 0;               ///< episodes found at construction (or after finish())
  std::int64_t stored_ = 0;               ///< episodes on disk (in the partial file, or train + val)
  bool replaces_pair_ = false;            ///< a train (+ val) file exists and finish() will replace it
};

}  // namespace

void register_recorder(PluginDescriptor& plugin) {
  plugin.add<OgbenchRecorder>(
      "ogbench",
      "writes OGBench dataset files <directory>/<stem>.npz and <stem>-val.npz (observations, actions, "
      "terminals, qpos, qvel[, button_states]; row t = s_t and a_t)",
      OgbenchRecorder::schema());
}

}  // namespace dipole::ogbench
