// Recorder `exorl`: writes each episode as one ExORL file (plugins/benchmarks/exorl/README.md, "On-disk
// layout"), so `dipole collect` produces directories the `exorl` dataset (and ExORL's / CFGRL's Python
// loaders) read. Keys: README.md.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

#include "dipole/recorder.hpp"
#include "dipole/sdk/npz.hpp"
#include "exorl_format.hpp"
#include "exorl_relabel.hpp"
#include "registration.hpp"

namespace dipole::exorl {
namespace {

namespace fs = std::filesystem;

class ExorlRecorder final : public Recorder {
 public:
  struct Config {
    std::string root = "data/exorl";
    std::string domain;
    std::string algorithm = "random";
    std::string prefix = "episode";
  };
  static const Keys<Config>& keys() {
    using C = Config;
    static const Keys<C> keys{
        key(&C::root, "root", "directory that receives <domain>/<algorithm>/buffer/"),
        key(&C::domain, "domain", "walker, cheetah, quadruped or jaco: fixes the widths every file must have")
            .required(),
        key(&C::algorithm, "algorithm",
            "dataset name (folder under <domain>/), e.g. random for uniform actions"),
        key(&C::prefix, "prefix", "file name prefix: <prefix>_<index>_<length>.npz (no '_' allowed)"),
    };
    return keys;
  }
  static Schema schema() { return keys().schema(); }

  ExorlRecorder(const Params& params, const BuildContext& ctx)
      : ExorlRecorder(params, keys().read(params), ctx) {}
  ExorlRecorder(const Params& params, const Config& config, const BuildContext& /*ctx*/)
      : buffer_(buffer_directory(config.root, config.domain, config.algorithm)), prefix_(config.prefix) {
    try {
      sizes_ = dmc_domain_sizes(config.domain);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", params.where("domain"), e.what()));
    }
    try {
      (void)episode_file_name(prefix_, 0, 1);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", params.where("prefix"), e.what()));
    }
  }

  /// The files already in the buffer directory must be episodes 0 … n−1; the one with the highest
  /// index is validated against this domain's widths (a directory of another domain is refused).
  std::int64_t existing_episodes() const override {
    if (!fs::exists(buffer_)) return 0;
    const std::vector<EpisodeFile> files = list_episode_files(buffer_);
    for (std::size_t i = 0; i < files.size(); ++i)
      if (files[i].index != static_cast<std::int64_t>(i))
        throw DataError(fmt::format(
            "{}: episode index {} is missing (the directory holds {} files, the next index is {}); "
            "collection "
            "appends after episodes 0 … n−1, so remove the files from index {} on or fill the gap",
            buffer_, i, files.size(), files[i].index, i));
    if (!files.empty()) read_episode(files.back(), sizes_);
    return static_cast<std::int64_t>(files.size());
  }

  void write(std::int64_t index, const EpisodeRecord& episode) override {
    const std::int64_t steps = episode.actions.defined() ? episode.actions.size(0) : 0;
    if (steps < 1) throw DataError(fmt::format("{}: episode {} has no steps", buffer_, index));
    if (!episode.states.defined() || !episode.initial_state.defined())
      throw ConfigError(
          fmt::format("recorder exorl ({}): the environment provides no simulator state "
                      "(Environment::simulator_state()), "
                      "but ExORL files store it for reward relabelling",
                      buffer_));
    check_width(episode.initial_observation.size(-1), sizes_.obs_dim, "observations");
    check_width(episode.actions.size(1), sizes_.action_dim, "actions");
    check_width(episode.initial_state.size(-1), sizes_.state_dim, "simulator states");

    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    const at::Tensor obs = at::cat(
        {episode.initial_observation.reshape({1, -1}).to(at::kFloat), episode.observations.to(at::kFloat)});
    const at::Tensor act = at::cat({at::zeros({1, sizes_.action_dim}, f32), episode.actions.to(at::kFloat)});
    const at::Tensor rew = at::cat({at::zeros({1}, f32), episode.rewards.to(at::kFloat)}).reshape({-1, 1});
    // ExORL's episodes never terminate (discount 1 throughout); a true terminal state stores 0.
    at::Tensor discount = at::ones({steps + 1, 1}, f32);
    if (episode.terminated.defined())
      discount.slice(0, 1).copy_(1.0 - episode.terminated.to(at::kFloat).reshape({-1, 1}));
    const at::Tensor physics =
        at::cat({episode.initial_state.reshape({1, -1}).to(at::kDouble), episode.states.to(at::kDouble)});
    for (const auto& [t, what] : {std::pair{obs, "observations"}, {physics, "simulator states"}})
      if (t.size(0) != steps + 1)
        throw DataError(fmt::format("{}: episode {} has {} actions but {} rows of {}", buffer_, index, steps,
                                    t.size(0) - 1, what));

    fs::create_directories(buffer_);
    const std::string path = (fs::path(buffer_) / episode_file_name(prefix_, index, steps)).string();
    if (fs::exists(path))
      throw DataError(fmt::format("{}: already exists; refusing to overwrite a stored episode", path));
    npz::write_npz(path,
                   {{"observation", npz::from_tensor(obs)},
                    {"action", npz::from_tensor(act)},
                    {"reward", npz::from_tensor(rew)},
                    {"discount", npz::from_tensor(discount)},
                    {"physics", npz::from_tensor(physics)}},
                   /*compressed=*/true);
  }

 private:
  void check_width(std::int64_t got, std::int64_t expected, const char* what) const {
    if (got != expected)
      throw ConfigError(fmt::format(
          "recorder exorl ({}): the environment produces {} of size {}, but domain '{}' files hold {}; set "
          "recorder.domain to the environment's domain",
          buffer_, what, got, sizes_.domain, expected));
  }

  std::string buffer_, prefix_;
  DomainSizes sizes_;
};

}  // namespace

void register_recorder(PluginDescriptor& plugin) {
  plugin.add<ExorlRecorder>(
      "exorl",
      "writes ExORL episode files <root>/<domain>/<algorithm>/buffer/<prefix>_<index>_<T>.npz "
      "(observation, action, reward, discount, physics; row 0 = reset)",
      ExorlRecorder::schema());
}

}  // namespace dipole::exorl
