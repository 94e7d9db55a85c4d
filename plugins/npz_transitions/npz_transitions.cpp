// Dataset `npz_transitions`: bring your own data as flat arrays in one .npz file.
//
// Required arrays (N transitions): observations [N, obs_dim], actions [N, act_dim], rewards [N],
// terminals [N] (1 where a stored trajectory ends). Optional: next_observations [N, obs_dim]
// (default: the next row's observation, which requires terminals[N-1] = 1 so no transition
// crosses a trajectory end), masks [N] (default 1 − terminals, i.e. every trajectory end is a true
// terminal state; provide masks when trajectories end by time limit). Float arrays may be float32
// or float64; terminals/masks may also be bool or integers.
//
// Validation: matching lengths, finite values, actions inside [action_low, action_high] (after
// clipping to ±(1 − action_clip_eps) when action_clip_eps > 0, as FQL does).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

#include "dipole/dataset.hpp"
#include "dipole/plugin.hpp"
#include "dipole/sdk/batch.hpp"
#include "dipole/sdk/npz.hpp"

namespace {

using dipole::DataError;

std::string shape_string(const at::Tensor& t) {
  std::string s = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

class NpzTransitions final : public dipole::Dataset {
 public:
  struct Config {
    std::string path;
    double action_low = -1.0;
    double action_high = 1.0;
    double action_clip_eps = 1e-5;
    double action_tolerance = 1e-6;
  };
  static const dipole::Keys<Config>& keys() {
    using dipole::key;
    static const dipole::Keys<Config> keys{
        key(&Config::path, "path",
            "the .npz file (arrays observations, actions, rewards, terminals[, next_observations, masks])")
            .required(),
        key(&Config::action_low, "action_low", "lower action bound, every dimension"),
        key(&Config::action_high, "action_high", "upper action bound, every dimension"),
        key(&Config::action_clip_eps, "action_clip_eps",
            "clip actions to [low + eps, high − eps] on load (FQL); 0 disables")
            .range(0, 0.5),
        key(&Config::action_tolerance, "action_tolerance",
            "actions outside the bounds by more than this are an error")
            .at_least(0),
    };
    return keys;
  }
  static dipole::Schema schema() { return keys().schema(); }

  NpzTransitions(const dipole::Params& params, const dipole::BuildContext& ctx) : device_(ctx.device) {
    const Config config = keys().read(params);
    const std::string path = config.path;
    if (!std::filesystem::exists(path))
      throw DataError(fmt::format("{}: dataset file '{}' does not exist", params.where("path"), path));
    auto arrays = dipole::npz::read_npz(path);
    auto get = [&](const char* key, bool required) -> at::Tensor {
      auto it = arrays.find(key);
      if (it == arrays.end()) {
        if (!required) return {};
        std::string have;
        for (const auto& [k, v] : arrays) have += (have.empty() ? "" : ", ") + k;
        throw DataError(fmt::format("{}: missing array '{}' (found: {})", path, key, have));
      }
      return dipole::npz::to_tensor(it->second).to(at::kFloat);
    };
    at::Tensor obs = get("observations", true), act = get("actions", true), rew = get("rewards", true),
               term = get("terminals", true), next = get("next_observations", false),
               mask = get("masks", false);
    const std::int64_t n = obs.size(0);
    auto check_rows = [&](const at::Tensor& t, const char* key, std::int64_t dims) {
      if (!t.defined()) return;
      if (t.dim() != dims || t.size(0) != n)
        throw DataError(
            fmt::format("{}: '{}' has shape {}, expected {} dimension(s) with {} rows like 'observations'",
                        path, key, shape_string(t), dims, n));
      if (!at::isfinite(t).all().item<bool>()) {
        const auto bad = at::nonzero(~at::isfinite(t).reshape({n, -1}).all(1))[0][0].item<std::int64_t>();
        throw DataError(fmt::format("{}: '{}' has a non-finite value at row {}", path, key, bad));
      }
    };
    if (obs.dim() != 2)
      throw DataError(fmt::format("{}: 'observations' must be [N, obs_dim], got {} dims", path, obs.dim()));
    if (n == 0) throw DataError(fmt::format("{}: the dataset is empty", path));
    check_rows(obs, "observations", 2);
    check_rows(act, "actions", 2);
    check_rows(rew, "rewards", 1);
    check_rows(term, "terminals", 1);
    check_rows(next, "next_observations", 2);
    check_rows(mask, "masks", 1);
    // Flags are 0 or 1 exactly: a terminal of 0.5 or a mask of 5 would silently scale the TD target.
    auto check_flags = [&](const at::Tensor& t, const char* key) {
      if (!t.defined()) return;
      const at::Tensor bad = at::logical_and(t != 0, t != 1);
      if (bad.any().item<bool>()) {
        const auto row = at::nonzero(bad)[0][0].item<std::int64_t>();
        throw DataError(
            fmt::format("{}: '{}' row {} is {}, expected 0 or 1", path, key, row, t[row].item<double>()));
      }
    };
    check_flags(term, "terminals");
    check_flags(mask, "masks");
    if (next.defined() && next.size(1) != obs.size(1))
      throw DataError(fmt::format("{}: 'next_observations' has {} columns, 'observations' {}", path,
                                  next.size(1), obs.size(1)));

    const double low = config.action_low, high = config.action_high;
    const double tol = config.action_tolerance, eps = config.action_clip_eps;
    if (!(low < high))
      throw DataError(fmt::format("{}: action_low must be < action_high", params.where("action_low")));
    const auto outside = at::logical_or(act<low - tol, act> high + tol).any(1);
    if (outside.any().item<bool>()) {
      const auto row = at::nonzero(outside)[0][0].item<std::int64_t>();
      throw DataError(fmt::format("{}: action at row {} lies outside [{}, {}] (set action_low/action_high)",
                                  path, row, low, high));
    }
    act = act.clamp(low + eps, high - eps);

    if (!next.defined()) {
      if (term[n - 1].item<float>() < 0.5f)
        throw DataError(
            fmt::format("{}: without 'next_observations' the last row must be terminal (terminals[{}] = 1), "
                        "otherwise its next observation is unknown",
                        path, n - 1));
      // s′ of row i is row i+1; at a trajectory end the next row belongs to another trajectory, so keep s′ =
      // s there (its value is irrelevant only if the mask is 0: a time-limit end needs next_observations).
      next = at::cat({obs.slice(0, 1), obs.slice(0, n - 1, n)});
      const auto ends = term.to(at::kBool);
      next.index_put_({ends}, obs.index({ends}));
      if (mask.defined() && (mask.index({ends}) > 0.5).any().item<bool>())
        throw DataError(
            fmt::format("{}: a trajectory end with mask 1 (time limit) needs 'next_observations'", path));
    }
    if (!mask.defined()) mask = 1.0 - term;

    spec_.obs_dim = obs.size(1);
    spec_.action_dim = act.size(1);
    spec_.action_low.assign(static_cast<std::size_t>(spec_.action_dim), low);
    spec_.action_high.assign(static_cast<std::size_t>(spec_.action_dim), high);
    data_.observations = obs.contiguous().to(device_);
    data_.actions = act.contiguous().to(device_);
    data_.rewards = rew.contiguous().to(device_);
    data_.next_observations = next.contiguous().to(device_);
    data_.masks = mask.contiguous().to(device_);
    data_.terminals = term.contiguous().to(device_);
    // Episodes end at rows with terminal 1; rows after the last terminal form a final episode.
    const auto ends = at::nonzero(term > 0.5f).reshape({-1});
    const auto* e = ends.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < ends.size(0); ++i) episode_ends_.push_back(e[i] + 1);
    if (episode_ends_.empty() || episode_ends_.back() != n) episode_ends_.push_back(n);
  }

  dipole::Spec spec() const override { return spec_; }
  std::int64_t size() const override { return data_.observations.size(0); }

  dipole::Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    return dipole::select_rows(data_, at::randint(size(), {batch_size}, generator, at::kLong).to(device_));
  }

  std::int64_t num_episodes() const override { return static_cast<std::int64_t>(episode_ends_.size()); }
  dipole::Batch episode(std::int64_t index) const override {
    if (index < 0 || index >= num_episodes())
      throw DataError(
          fmt::format("npz_transitions: episode {} does not exist ({} episodes)", index, num_episodes()));
    const std::int64_t begin = index == 0 ? 0 : episode_ends_[static_cast<std::size_t>(index - 1)];
    const std::int64_t end = episode_ends_[static_cast<std::size_t>(index)];
    return dipole::select_rows(data_,
                               at::arange(begin, end, at::TensorOptions().dtype(at::kLong).device(device_)));
  }

 private:
  std::vector<std::int64_t> episode_ends_;  ///< one past the last row of each episode
  c10::Device device_;
  dipole::Spec spec_;
  dipole::Batch data_;  ///< every transition, one row each, on device_
};

}  // namespace

DIPOLE_PLUGIN(plugin) {
  plugin.add<NpzTransitions>("npz_transitions",
                             "flat transition arrays from one .npz file (bring your own data)",
                             NpzTransitions::schema());
}
