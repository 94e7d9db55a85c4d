// Dataset `ogbench`: the official OGBench files (`<name>.npz`, `<name>-val.npz`) in single-task form.
//
// Loading follows OGBench's regular mode (docs/ogbench.md, "Manipulation: datasets") [src: ogbench/utils.py
// load_dataset]: the last row of every stored episode is dropped, next_observations[t] = observations[t + 1],
// terminals = 1 on the last kept row of each episode. Rewards and masks are computed at load time from the
// stored qpos (and button_states for scene/puzzle) with the task layer (ogbench_tasks.hpp):
//   reward_timing = "pre"  (default; OGBench ≥ 1.2 and its relabel_utils in every version):
//       reward[t] = r(s_t), mask[t] = 1 − success(s_t);
//   reward_timing = "post" (the env timing of OGBench ≤ 1.1.5, which FQL pins to 1.1.0):
//       reward[t] = r(s_{t+1}), mask[t] = 1 − success(s_{t+1}), with s_{t+1} the stored row t + 1
//       (for the last transition of an episode, the dropped last row).
// Actions are clipped to ±(1 − clip_actions) as FQL does (0 disables). Validation of the file, the
// transitions and the relabelling are ogbench_format.cpp's (plain C++, fuzzed by
// fuzz/fuzz_ogbench.cpp).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "dipole/dataset.hpp"
#include "dipole/plugin.hpp"
#include "dipole/sdk/batch.hpp"
#include "dipole/sdk/npz.hpp"
#include "ogbench_format.hpp"
#include "ogbench_tasks.hpp"
#include "registration.hpp"

namespace {

namespace og = dipole::ogbench;
using dipole::ConfigError;
using dipole::DataError;

constexpr const char* kDatasetUrl = "https://rail.eecs.berkeley.edu/datasets/ogbench";  // [src: utils.py]

std::string expand_home(const std::string& dir, const dipole::Params& params) {
  if (dir != "~" && dir.rfind("~/", 0) != 0) return dir;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    throw ConfigError(fmt::format("{}: '{}' starts with '~' but HOME is not set; give an absolute directory",
                                  params.where("directory"), dir));
  return std::string(home) + dir.substr(1);
}

class OgbenchDataset final : public dipole::Dataset {
 public:
  struct Config {
    std::string dataset;
    std::string directory = "~/.ogbench/data";
    std::string split = "train";
    og::RewardTiming reward_timing = og::RewardTiming::Pre;
    double clip_actions = 1e-5;
    std::optional<std::int64_t> max_rows;
  };
  static const dipole::Keys<Config>& keys() {
    using C = Config;
    using dipole::key;
    static const dipole::Keys<C> keys{
        key(&C::dataset, "dataset",
            "single-task dataset name <category>-<type>-singletask[-task<1..5>]-v0, e.g. "
            "\"cube-single-play-singletask-task1-v0\" (no taskN: the category's default task)")
            .required(),
        key(&C::directory, "directory",
            "directory holding <category>-<type>-v0.npz and -val.npz (~ = $HOME)"),
        key(&C::split, "split", "train: <stem>.npz; val: <stem>-val.npz").one_of({"train", "val"}),
        key(&C::reward_timing, "reward_timing",
            "pre: reward/mask of s_t (OGBench >= 1.2, relabel_utils); post: of s_{t+1} (the env timing of "
            "OGBench <= 1.1.5, FQL's pin 1.1.0)")
            .choices({{"pre", og::RewardTiming::Pre}, {"post", og::RewardTiming::Post}}),
        key(&C::clip_actions, "clip_actions", "clip actions to ±(1 − clip_actions) on load (FQL); 0 disables")
            .range(0, 0.5),
        key(&C::max_rows, "max_rows",
            "use only the first max_rows stored rows, whole episodes only; absent: all")
            .at_least(1),
    };
    return keys;
  }
  static dipole::Schema schema() { return keys().schema(); }

  OgbenchDataset(const dipole::Params& params, const dipole::BuildContext& ctx) : device_(ctx.device) {
    const Config config = keys().read(params);
    og::ParsedName name;
    try {
      name = og::parse_dataset_name(config.dataset);
    } catch (const ConfigError& e) {
      throw ConfigError(params.where("dataset") + ": " + e.what());
    }
    const og::CategoryInfo& cat = og::info(name.category);
    task_ = og::task_spec(name);
    const std::string dir = expand_home(config.directory, params);
    const std::string train_path = (std::filesystem::path(dir) / (name.dataset_stem + ".npz")).string();
    const std::string val_path = (std::filesystem::path(dir) / (name.dataset_stem + "-val.npz")).string();
    const bool val = config.split == "val";
    path_ = val ? val_path : train_path;
    if (!std::filesystem::exists(path_))
      throw DataError(fmt::format(
          "{}: OGBench file '{}' does not exist (split '{}'). Expected the pair\n  {}\n  {}\n"
          "Download the official files:\n  {}/{}.npz\n  {}/{}-val.npz\n"
          "(or run OGBench's download_datasets), or create local ones with `dipole generate`; set "
          "dataset.directory if they live elsewhere.",
          params.where("directory"), path_, config.split, train_path, val_path, kDatasetUrl,
          name.dataset_stem, kDatasetUrl, name.dataset_stem));

    const og::FileArrays file = og::read_file(path_, cat);
    const std::int64_t max_rows = config.max_rows.value_or(0);  // 0: all rows
    const og::Transitions transitions = og::regular_transitions(file, max_rows);
    if (transitions.rows.empty())
      throw ConfigError(fmt::format("{}: {} rows hold no whole episode of '{}' (its first episode is longer)",
                                    params.where("max_rows"), max_rows, path_));
    episode_ends_ = transitions.episode_ends;
    const og::Relabelled labels = og::relabel(file, transitions, task_, config.reward_timing);

    const double eps = config.clip_actions;
    at::Tensor all_obs = dipole::npz::to_tensor(file.observations).to(at::kFloat);
    at::Tensor all_act = dipole::npz::to_tensor(file.actions).to(at::kFloat);
    if (eps > 0) all_act = all_act.clamp(-1.0 + eps, 1.0 - eps);
    const at::Tensor index = at::tensor(transitions.rows, at::kLong);
    data_.observations = all_obs.index_select(0, index).contiguous().to(device_);
    data_.next_observations = all_obs.index_select(0, index + 1).contiguous().to(device_);
    data_.actions = all_act.index_select(0, index).contiguous().to(device_);
    data_.rewards = at::tensor(labels.rewards, at::kFloat).to(device_);
    data_.masks = at::tensor(labels.masks, at::kFloat).to(device_);
    data_.terminals = at::tensor(labels.terminals, at::kFloat).to(device_);

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
  c10::Device device_;
  std::string path_;
  og::TaskSpec task_;
  dipole::Spec spec_;
  std::vector<std::int64_t> episode_ends_;  ///< one past the last transition of each episode
  dipole::Batch data_;                      ///< every kept transition, one row each, on device_
};

}  // namespace

void dipole::ogbench::register_dataset(PluginDescriptor& plugin) {
  plugin.add<OgbenchDataset>(
      "ogbench",
      "official OGBench files (cube, scene, puzzle, mazes, antsoccer) with single-task "
      "rewards and masks computed from the stored state",
      OgbenchDataset::schema());
}
