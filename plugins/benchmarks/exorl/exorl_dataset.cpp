// Dataset `exorl`: ExORL's per-episode files with rewards relabelled for a chosen task (keys and
// behaviour: README.md; format: exorl_format.hpp; relabelling: exorl_relabel.hpp).
//
// Transitions follow CFGRL (docs/exorl.md, "Files and transitions"): for each episode with rows 0 … T and i =
// 0 … T−1, (observation[i], action[i+1], R(physics[i+1]), observation[i+1]), mask 1 (time-limit ends are
// bootstrapped through), terminal 1 on the last transition of each episode. No transition crosses
// two files. Storage: the rows of every episode concatenated once ([R, ·] tensors) plus, per
// transition, the row of its observation, so sampling is an index draw and index_select.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <thread>

#include "dipole/dataset.hpp"
#include "dipole/plugin.hpp"
#include "dipole/sdk/npz.hpp"
#include "exorl_format.hpp"
#include "exorl_relabel.hpp"
#include "registration.hpp"

namespace dipole::exorl {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

npz::Array text_array(const std::string& text) {
  npz::Array a;
  a.dtype = npz::DType::UInt8;
  a.shape = {static_cast<std::int64_t>(text.size())};
  a.data.assign(text.begin(), text.end());
  return a;
}

class ExorlDataset final : public Dataset {
 public:
  struct Config {
    std::string root = "data/exorl";
    std::string domain;
    std::string algorithm = "rnd";
    std::string task;
    std::optional<std::int64_t> max_episodes;
    bool cache = true;
    std::int64_t threads = 2;
  };
  static const Keys<Config>& keys() {
    using C = Config;
    static const Keys<C> keys{
        key(&C::root, "root",
            "directory holding <domain>/<algorithm>/buffer/*.npz (relative paths: to the working directory)"),
        key(&C::domain, "domain", "walker, cheetah, quadruped or jaco (the dmc domains built here)")
            .required(),
        key(&C::algorithm, "algorithm",
            "dataset (collector) name: rnd, random, proto, ... (a folder under <domain>/)"),
        key(&C::task, "task", "task whose reward is recomputed from the stored physics states, e.g. stand")
            .required(),
        key(&C::max_episodes, "max_episodes", "use the first N episode files in index order (absent: all)")
            .at_least(1),
        key(&C::cache, "cache",
            "keep the relabelled rewards in <root>/<domain>/<algorithm>/<task>.rewards.npz and reuse them "
            "while the file list (names, sizes, times) is unchanged"),
        key(&C::threads, "threads", "threads reading files and relabelling (one MuJoCo model each)")
            .range(1, 256),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  ExorlDataset(const Params& params, const BuildContext& ctx) : device_(ctx.device) {
    const auto start = Clock::now();
    const Config config = keys().read(params);
    const std::string root = config.root, domain = config.domain, algorithm = config.algorithm,
                      task = config.task;
    DomainSizes sizes;
    try {
      sizes = dmc_domain_sizes(domain);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", params.where("domain"), e.what()));
    }
    try {
      check_task(domain, task);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", params.where("task"), e.what()));
    }
    const std::string buffer = buffer_directory(root, domain, algorithm);
    if (!fs::is_directory(buffer)) throw DataError(missing_message(params, buffer, root, domain, algorithm));
    std::vector<EpisodeFile> files = list_episode_files(buffer);
    if (files.empty()) throw DataError(missing_message(params, buffer, root, domain, algorithm));
    if (config.max_episodes && static_cast<std::int64_t>(files.size()) > *config.max_episodes)
      files.resize(static_cast<std::size_t>(*config.max_episodes));

    // Row and transition layout, known from the file names before any file is read.
    const auto episodes = static_cast<std::int64_t>(files.size());
    std::vector<std::int64_t> first_row(files.size());
    std::int64_t rows = 0, transitions = 0;
    for (std::size_t e = 0; e < files.size(); ++e) {
      check_claimed_length(files[e], sizes);
      first_row[e] = rows;
      rows += files[e].length + 1;
      transitions += files[e].length;
    }
    at::Tensor observations = at::empty({rows, sizes.obs_dim}, at::kFloat);
    at::Tensor actions = at::empty({rows, sizes.action_dim}, at::kFloat);
    at::Tensor rewards = at::empty({rows}, at::kFloat);

    // Relabelled rewards from the cache when its fingerprint matches this file list.
    const std::string cache_path = (fs::path(root) / domain / algorithm / (task + ".rewards.npz")).string();
    const std::string key = fingerprint(files, fmt::format("exorl-rewards-v1 {} {}", domain, task));
    const bool use_cache = config.cache;
    bool cached = false;
    std::string cache_note;
    if (use_cache && fs::exists(cache_path)) {
      try {
        auto arrays = npz::read_npz(cache_path);
        const auto& f = arrays.at("fingerprint");
        const auto& r = arrays.at("rewards");
        if (std::string(f.data.begin(), f.data.end()) == key && r.dtype == npz::DType::Float32 &&
            r.shape == std::vector<std::int64_t>{rows}) {
          std::memcpy(rewards.data_ptr<float>(), r.data.data(), r.data.size());
          cached = true;
        } else {
          cache_note = "stale (the episode files changed), rebuilt";
        }
      } catch (const std::exception& e) {
        cache_note = fmt::format("unreadable ({}), rebuilt", e.what());
      }
    }

    // Read, validate and (without a cache hit) relabel; thread k handles files k, k + threads, ...
    const int threads = static_cast<int>(std::min<std::int64_t>(config.threads, episodes));
    std::vector<std::exception_ptr> errors(files.size());
    std::vector<double> relabel_seconds(static_cast<std::size_t>(threads), 0.0);
    auto work = [&](int k) {
      std::unique_ptr<Relabeller> relabeller;
      for (std::size_t e = static_cast<std::size_t>(k); e < files.size();
           e += static_cast<std::size_t>(threads)) {
        try {
          const EpisodeArrays a = read_episode(files[e], sizes);
          const std::int64_t r0 = first_row[e];
          std::memcpy(observations[r0].data_ptr<float>(), a.observation.data.data(),
                      a.observation.data.size());
          std::memcpy(actions[r0].data_ptr<float>(), a.action.data.data(), a.action.data.size());
          if (!cached) {
            if (!relabeller) relabeller = std::make_unique<Relabeller>(domain, task);  // loads the model
            const auto t0 = Clock::now();
            std::vector<double> states(static_cast<std::size_t>(a.rows * sizes.state_dim));
            std::memcpy(states.data(), a.physics.data.data(), a.physics.data.size());
            relabeller->relabel(states.data(), a.rows, rewards.data_ptr<float>() + r0);
            relabel_seconds[static_cast<std::size_t>(k)] += seconds_since(t0);
          }
        } catch (...) {
          errors[e] = std::current_exception();
          return;  // report the first problem of this thread; the others stop too
        }
      }
    };
    std::vector<std::thread> pool;
    for (int k = 1; k < threads; ++k) pool.emplace_back(work, k);
    work(0);
    for (auto& t : pool) t.join();
    for (const auto& error : errors)  // the problem of the lowest-index file, whatever the thread timing
      if (error) std::rethrow_exception(error);

    if (!cached && use_cache) {
      try {
        npz::write_npz(cache_path, {{"rewards", npz::from_tensor(rewards)}, {"fingerprint", text_array(key)}},
                       true);
      } catch (const std::exception& e) {
        std::cerr << fmt::format("[exorl] warning: could not write the reward cache: {}\n", e.what());
      }
    }

    // Per transition: the row of its observation, and the terminal flag of the episode's last one.
    at::Tensor transition_row = at::empty({transitions}, at::kLong);
    at::Tensor terminals = at::zeros({transitions}, at::kFloat);
    std::int64_t* row = transition_row.data_ptr<std::int64_t>();
    float* terminal = terminals.data_ptr<float>();
    std::int64_t t = 0;
    episode_first_transition_.reserve(files.size() + 1);
    for (std::size_t e = 0; e < files.size(); ++e) {
      episode_first_transition_.push_back(t);
      for (std::int64_t i = 0; i < files[e].length; ++i) row[t++] = first_row[e] + i;
      terminal[t - 1] = 1.0F;
    }
    episode_first_transition_.push_back(t);

    spec_.obs_dim = sizes.obs_dim;
    spec_.action_dim = sizes.action_dim;
    spec_.action_low.assign(static_cast<std::size_t>(sizes.action_dim), -1.0);
    spec_.action_high.assign(static_cast<std::size_t>(sizes.action_dim), 1.0);
    observations_ = observations.to(device_);
    actions_ = actions.to(device_);
    rewards_ = rewards.to(device_);
    transition_row_ = transition_row.to(device_);
    terminals_ = terminals.to(device_);
    masks_ = at::ones({transitions}, at::TensorOptions().dtype(at::kFloat).device(device_));

    double relabel_time = 0;
    for (double s : relabel_seconds) relabel_time = std::max(relabel_time, s);
    const std::string how =
        cached ? fmt::format("rewards of '{}' from the cache {}", task, cache_path)
               : fmt::format("relabelled {} states for '{}' at {:.0f} states/s with {} thread(s){}{}", rows,
                             task, relabel_time > 0 ? static_cast<double>(rows) / relabel_time : 0.0, threads,
                             use_cache ? "; cache " : "",
                             use_cache ? (cache_note.empty() ? "written" : cache_note) : "");
    std::cerr << fmt::format("[exorl] {}: {} episodes, {} transitions in {:.2f} s; {}\n", buffer, episodes,
                             transitions, seconds_since(start), how);
  }

  Spec spec() const override { return spec_; }
  std::int64_t size() const override { return transition_row_.size(0); }
  std::int64_t num_episodes() const override {
    return static_cast<std::int64_t>(episode_first_transition_.size()) - 1;
  }

  Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    const at::Tensor index = at::randint(size(), {batch_size}, generator, at::kLong).to(device_);
    return gather(index);
  }

  Batch episode(std::int64_t index) const override {
    if (index < 0 || index >= num_episodes())
      throw DataError(
          fmt::format("exorl: episode {} requested, the dataset holds {}", index, num_episodes()));
    const auto e = static_cast<std::size_t>(index);
    return gather(at::arange(episode_first_transition_[e], episode_first_transition_[e + 1],
                             at::TensorOptions().dtype(at::kLong).device(device_)));
  }

 private:
  Batch gather(const at::Tensor& transition) const {
    const at::Tensor row = transition_row_.index_select(0, transition);
    const at::Tensor next = row + 1;
    Batch b;
    b.observations = observations_.index_select(0, row);
    b.next_observations = observations_.index_select(0, next);
    b.actions = actions_.index_select(0, next);
    // The dataset's next action by the "next_row" rule of core/batch.hpp (docs/algorithms.md, ReBRAC).
    b.next_actions = actions_.index_select(0, (next + 1).clamp_max(actions_.size(0) - 1));
    b.rewards = rewards_.index_select(0, next);
    b.masks = masks_.index_select(0, transition);
    b.terminals = terminals_.index_select(0, transition);
    return b;
  }

  static std::string missing_message(const Params& params, const std::string& buffer, const std::string& root,
                                     const std::string& domain, const std::string& algorithm) {
    return fmt::format(
        "{}: no ExORL episodes in '{}' (expected files <prefix>_<index>_<length>.npz there).\n"
        "  Official data (needs internet): download https://dl.fbaipublicfiles.com/exorl/{}/{}.zip and unzip "
        "it in '{}' (it holds buffer/ with one file per episode).\n"
        "  Local data (uniform random actions, ExORL's 'random' collector): `dipole collect "
        "configs/collect_walker_random.toml --episodes 1000 --set environment.domain={} --set "
        "environment.task={} --set recorder.domain={} --set recorder.algorithm={} --set recorder.root={}` "
        "writes the same layout.",
        params.where("root"), buffer, domain, algorithm, (fs::path(root) / domain / algorithm).string(),
        domain, params.text("task"), domain, algorithm, root);
  }

  c10::Device device_;
  Spec spec_;
  at::Tensor observations_, actions_,
      rewards_;                   // [R, obs_dim], [R, action_dim], [R]: every row of every file
  at::Tensor transition_row_;     // [N] row of each transition's observation
  at::Tensor terminals_, masks_;  // [N]
  std::vector<std::int64_t> episode_first_transition_;  // [episodes + 1]
};

}  // namespace

void register_dataset(PluginDescriptor& plugin) {
  plugin.add<ExorlDataset>(
      "exorl",
      "ExORL episode files (<root>/<domain>/<algorithm>/buffer/*.npz), rewards relabelled "
      "for a task from the stored physics states, CFGRL's transitions",
      ExorlDataset::schema());
}

}  // namespace dipole::exorl
