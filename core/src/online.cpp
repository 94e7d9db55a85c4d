#include "dipole/core/online.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "dipole/errors.hpp"

namespace dipole {

namespace {

Batch concat(const Batch& a, const Batch& b) {
  Batch out;
  out.observations = at::cat({a.observations, b.observations});
  out.actions = at::cat({a.actions, b.actions});
  out.rewards = at::cat({a.rewards, b.rewards});
  out.next_observations = at::cat({a.next_observations, b.next_observations});
  out.masks = at::cat({a.masks, b.masks});
  out.terminals = at::cat({a.terminals, b.terminals});
  return out;
}

std::uint64_t explore_seed(std::uint64_t seed) {
  return (seed * 0x94D049BB133111EBULL + 3) & 0x7FFFFFFFFFFFFFFFULL;
}
std::uint64_t episode_seed(std::uint64_t seed) {
  return (seed * 0xBF58476D1CE4E5B9ULL + 4) & 0x7FFFFFFFFFFFFFFFULL;
}

at::Tensor scalar(std::int64_t v) {
  return at::scalar_tensor(v, at::kLong);
}
at::Tensor scalar(double v) {
  return at::scalar_tensor(v, at::kDouble);
}

}  // namespace

Batch dataset_rows(const Dataset& dataset) {
  const std::int64_t episodes = dataset.num_episodes();
  if (episodes <= 0)
    throw ConfigError(
        "online phase: the dataset has no episode structure, so its rows cannot be copied into the replay "
        "buffer (docs/online.md lists the dataset types that can start an online phase)");
  std::vector<Batch> parts;
  parts.reserve(static_cast<std::size_t>(episodes));
  std::int64_t rows = 0;
  for (std::int64_t e = 0; e < episodes; ++e) {
    parts.push_back(dataset.episode(e));
    rows += parts.back().observations.size(0);
  }
  if (rows != dataset.size())
    throw DataError(
        fmt::format("online phase: the dataset's {} episodes hold {} rows, but it samples from {} rows; the "
                    "replay buffer "
                    "needs every row",
                    episodes, rows, dataset.size()));
  const auto gather = [&](at::Tensor Batch::*member) {
    std::vector<at::Tensor> list;
    list.reserve(parts.size());
    for (const auto& p : parts) list.push_back(p.*member);
    return at::cat(list);
  };
  Batch all;
  all.observations = gather(&Batch::observations);
  all.actions = gather(&Batch::actions);
  all.rewards = gather(&Batch::rewards);
  all.next_observations = gather(&Batch::next_observations);
  all.masks = gather(&Batch::masks);
  all.terminals = gather(&Batch::terminals);
  return all;
}

OnlinePhase::OnlinePhase(Run& run)
    : run_(run),
      explore_generator_(at::detail::createCPUGenerator(explore_seed(run.trainer.seed))),
      episode_seed_base_(episode_seed(run.trainer.seed)) {
  const OnlineConfig& c = run.online;
  if (!run.make_environment) throw ConfigError("the online phase needs an [environment] section");
  const SizeRule rule = c.size_rule == "count" ? SizeRule::Count : SizeRule::Fql;
  if (c.balanced_sampling) {
    buffer_ = std::make_unique<ReplayBuffer>(c.buffer_size, rule, run.spec.obs_dim, run.spec.action_dim,
                                             run.device);
  } else {
    const Batch rows = dataset_rows(*run.dataset);
    buffer_ =
        std::make_unique<ReplayBuffer>(ReplayBuffer::fql_capacity(c.buffer_size, rows.observations.size(0)),
                                       rule, run.spec.obs_dim, run.spec.action_dim, run.device);
    buffer_->fill(rows);
  }
  for (std::int64_t i = 0; i < c.envs; ++i) {
    Slot slot;
    slot.env = run.make_environment();
    slots_.push_back(std::move(slot));
  }
  limit_ = slots_.front().env->max_episode_steps();
}

void OnlinePhase::explore_step() {
  const auto start = std::chrono::steady_clock::now();
  for (auto& s : slots_) {
    if (s.active) continue;
    // FQL resets without a seed; here episode e of the phase (counted over all instances in order) is
    // reset with base + e, so a resumed run can reset the same episode again (docs/online.md).
    s.seed = static_cast<std::int64_t>(episode_seed_base_ + static_cast<std::uint64_t>(episodes_started_++));
    s.obs = s.env->reset(static_cast<std::uint64_t>(s.seed)).to(at::kFloat);
    s.active = true;
    s.actions.clear();
    s.ret = 0;
    s.length = 0;
  }
  std::vector<at::Tensor> obs;
  obs.reserve(slots_.size());
  for (const auto& s : slots_) obs.push_back(s.obs);
  ActOptions options;
  options.mode = ActMode::Explore;
  if (run_.online.omega) options.omega = *run_.online.omega;
  if (run_.online.num_candidates) options.num_candidates = *run_.online.num_candidates;
  at::Tensor actions;
  {
    at::NoGradGuard no_grad;
    actions = run_.algorithm->act(at::stack(obs), options, explore_generator_)
                  .to(at::kCPU)
                  .to(at::kFloat)
                  .clamp(-1.0, 1.0)
                  .contiguous();
  }
  if (actions.dim() != 2 || actions.size(0) != static_cast<std::int64_t>(slots_.size()) ||
      actions.size(1) != run_.spec.action_dim)
    throw Error(fmt::format("act() returned actions with {} dimensions and {} rows, expected [{}, {}]",
                            actions.dim(), actions.size(0), slots_.size(), run_.spec.action_dim));
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    Slot& s = slots_[k];
    const at::Tensor a = actions[static_cast<std::int64_t>(k)].clone();
    const StepResult r = s.env->step(a);
    const at::Tensor next = r.observation.to(at::kFloat);
    s.ret += r.reward;
    s.length += 1;
    const bool truncated = r.truncated || s.length >= limit_;
    const bool done = r.terminated || truncated;
    // docs/online.md: terminal = terminated or truncated; mask = 1 − terminated (a time-limit end
    // keeps bootstrapping).
    buffer_->add(s.obs, a, r.reward, next, r.terminated ? 0.0 : 1.0, done ? 1.0 : 0.0);
    s.actions.push_back(a);
    s.obs = next;
    ++env_steps_;
    ++timing_steps_;
    if (done) {
      ++episodes_done_;
      ++window_episodes_;
      window_return_ += s.ret;
      window_success_ += r.success ? 1.0 : 0.0;
      window_length_ += static_cast<double>(s.length);
      s.active = false;
      s.actions.clear();
    }
  }
  timing_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Batch OnlinePhase::next_batch(std::int64_t index, at::Generator& data_generator) {
  if (index % run_.online.updates_per_step == 0) explore_step();
  const std::int64_t b = run_.trainer.batch_size;
  if (!run_.online.balanced_sampling) return buffer_->sample(b, data_generator);
  Batch offline = run_.dataset->sample(b / 2, data_generator);
  return concat(offline, buffer_->sample(b - b / 2, data_generator));
}

std::vector<std::string> OnlinePhase::metric_names() {
  return {"online/episodes",        "online/env_steps",      "online/buffer_size",    "online/episode_return",
          "online/episode_success", "online/episode_length", "online/window_episodes"};
}

Metrics OnlinePhase::log_metrics() {
  const double n = static_cast<double>(window_episodes_);
  const double nan = std::nan("");
  Metrics m{{"online/episodes", static_cast<double>(episodes_done_)},
            {"online/env_steps", static_cast<double>(env_steps_)},
            {"online/buffer_size", static_cast<double>(buffer_->size())},
            {"online/episode_return", n > 0 ? window_return_ / n : nan},
            {"online/episode_success", n > 0 ? window_success_ / n : nan},
            {"online/episode_length", n > 0 ? window_length_ / n : nan},
            {"online/window_episodes", n}};
  window_episodes_ = 0;
  window_return_ = window_success_ = window_length_ = 0;
  return m;
}

std::pair<std::int64_t, double> OnlinePhase::take_env_timing() {
  const auto out = std::make_pair(timing_steps_, timing_seconds_);
  timing_steps_ = 0;
  timing_seconds_ = 0;
  return out;
}

StateDict OnlinePhase::state() const {
  StateDict s;
  for (auto& [key, tensor] : buffer_->state()) s["buffer." + key] = tensor;
  s["rng.explore"] = explore_generator_.get_state();
  s["episodes_started"] = scalar(episodes_started_);
  s["episodes_done"] = scalar(episodes_done_);
  s["env_steps"] = scalar(env_steps_);
  s["window.episodes"] = scalar(window_episodes_);
  s["window.return"] = scalar(window_return_);
  s["window.success"] = scalar(window_success_);
  s["window.length"] = scalar(window_length_);
  s["envs"] = scalar(static_cast<std::int64_t>(slots_.size()));
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    const Slot& slot = slots_[j];
    const std::string p = fmt::format("env.{}.", j);
    s[p + "active"] = scalar(static_cast<std::int64_t>(slot.active));
    if (!slot.active) continue;
    s[p + "seed"] = scalar(slot.seed);
    s[p + "actions"] = at::stack(slot.actions);
    s[p + "observation"] = slot.obs.clone();
    s[p + "return"] = scalar(slot.ret);
    s[p + "length"] = scalar(slot.length);
  }
  return s;
}

void OnlinePhase::load_state(const StateDict& state) {
  const auto take = [&](const std::string& key) -> const at::Tensor& {
    auto it = state.find(key);
    if (it == state.end() || !it->second.defined())
      throw DataError(fmt::format("checkpoint: the online phase's state has no entry 'online.{}'", key));
    return it->second;
  };
  const auto integer = [&](const std::string& key) { return take(key).item<std::int64_t>(); };
  const auto real = [&](const std::string& key) { return take(key).item<double>(); };
  if (integer("envs") != static_cast<std::int64_t>(slots_.size()))
    throw DataError(
        fmt::format("checkpoint: the online phase was saved with {} exploration environments, the "
                    "pipeline has online.envs = {}",
                    integer("envs"), slots_.size()));
  StateDict buffer;
  for (const auto& [key, tensor] : state)
    if (key.rfind("buffer.", 0) == 0) buffer[key.substr(7)] = tensor;
  buffer_->load_state(buffer);
  explore_generator_.set_state(take("rng.explore"));
  episodes_started_ = integer("episodes_started");
  episodes_done_ = integer("episodes_done");
  env_steps_ = integer("env_steps");
  window_episodes_ = integer("window.episodes");
  window_return_ = real("window.return");
  window_success_ = real("window.success");
  window_length_ = real("window.length");
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    Slot& slot = slots_[j];
    const std::string p = fmt::format("env.{}.", j);
    slot.active = integer(p + "active") != 0;
    slot.actions.clear();
    if (!slot.active) continue;
    // The documented re-seeding rule: reset with the episode's seed and replay its actions. Deterministic
    // simulators (MuJoCo, the bandit) land in the saved state exactly; anything else is detected here.
    slot.seed = integer(p + "seed");
    at::Tensor obs = slot.env->reset(static_cast<std::uint64_t>(slot.seed)).to(at::kFloat);
    const at::Tensor& actions = take(p + "actions");
    for (std::int64_t t = 0; t < actions.size(0); ++t) {
      const at::Tensor a = actions[t].clone();
      const StepResult r = slot.env->step(a);
      obs = r.observation.to(at::kFloat);
      if ((r.terminated || r.truncated) && t + 1 < actions.size(0))
        throw DataError(
            fmt::format("checkpoint: replaying exploration episode {} ended it at step {} of {}; the "
                        "environment is not deterministic, so the online phase cannot resume exactly",
                        slot.seed, t + 1, actions.size(0)));
      slot.actions.push_back(a);
    }
    if (!at::equal(obs, take(p + "observation")))
      throw DataError(
          fmt::format("checkpoint: replaying the {} actions of exploration environment {} did not "
                      "reproduce its saved observation; the environment is not deterministic, so "
                      "the online phase cannot resume exactly",
                      actions.size(0), j));
    slot.obs = take(p + "observation").clone();
    slot.ret = real(p + "return");
    slot.length = integer(p + "length");
  }
}

}  // namespace dipole
