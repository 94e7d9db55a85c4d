// `dipole collect`: run a policy in an environment and hand every finished episode to a recorder,
// which writes it in its benchmark's file layout. The command knows only the Environment, Recorder
// and Algorithm interfaces.
//
// Determinism: episode i (0-based over the destination, continuing after the recorder's existing
// episodes) is reset with a seed derived from (seed, i), and a random policy draws its actions from
// a generator derived from (seed, i) too, so the episodes do not depend on `parallel` nor on how the
// collection is split into runs. A checkpoint policy samples with one batched act() per step; its
// sampling noise then depends on which episodes share a batch (same seed and parallel: same data).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include "dipole/app/process_settings.hpp"
#include "dipole/core/checkpoint.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/pipeline.hpp"
#include "dipole/core/run_lock.hpp"
#include "dipole/core/stop.hpp"
#include "dipole/recorder.hpp"
#include "options.hpp"

namespace dipole::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// The [collect] table (docs/configuration.md, "dipole collect").
struct CollectConfig {
  std::int64_t episodes = 10;
  std::int64_t seed = 0;
  std::int64_t parallel = 4;
  std::string policy = "random";
  double noise_std = 0.0;
  std::optional<std::vector<double>> omega;
  std::optional<std::int64_t> num_candidates;
  std::optional<std::int64_t> max_steps;
};

const Keys<CollectConfig>& collect_keys() {
  using C = CollectConfig;
  static const Keys<C> keys{
      key(&C::episodes, "episodes",
          "episodes the destination holds when collection ends; episodes already there count, so a rerun "
          "continues an interrupted collection and a larger value extends it")
          .at_least(1),
      key(&C::seed, "seed",
          "episode i is reset, and its random actions drawn, from seeds derived from (seed, i)")
          .at_least(0),
      key(&C::parallel, "parallel",
          "environment instances stepped together (one batched policy call per step)")
          .at_least(1),
      key(&C::policy, "policy",
          "\"random\" (uniform actions within the environment's bounds, ExORL's `random` collector) or a run "
          "directory / checkpoint .npz written by `dipole train`"),
      key(&C::noise_std, "noise_std",
          "checkpoint policy only: Gaussian noise of this std added to its actions (then clipped)")
          .at_least(0),
      key(&C::omega, "omega",
          "checkpoint policy only: [ω] guidance weight (absent: the checkpoint's configured ω)"),
      key(&C::num_candidates, "num_candidates",
          "checkpoint policy only: rejection-sampling N_c (absent: the configured one)")
          .at_least(1),
      key(&C::max_steps, "max_steps",
          "cut every episode after this many steps (absent: the environment's time limit)")
          .at_least(1),
  };
  return keys;
}

/// splitmix64 of (seed, index, stream): independent streams per episode and purpose.
std::uint64_t episode_seed(std::uint64_t seed, std::int64_t index, std::uint64_t stream) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(index) * 0xD1B54A32D192ED03ULL +
                    stream * 0xCA5A826395121157ULL + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFFULL;
}

/// "~/x" → "$HOME/x" (the ogbench recorder's default directory is under ~).
std::string expand_home(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (path.rfind("~/", 0) == 0 && home) return std::string(home) + path.substr(1);
  return path;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

/// The "[collect] …" line on stderr: rewritten in place on a terminal, one line per 10% otherwise.
class Progress {
 public:
  Progress(std::int64_t first, std::int64_t target) : first_(first), target_(target), start_(Clock::now()) {}

  void update(std::int64_t done_episodes, std::int64_t steps, bool force = false) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const std::int64_t done = done_episodes - first_, total = target_ - first_;
    const bool decile = total > 0 && done * 10 / total != last_decile_;
    if (force ? done_episodes == printed_ && !tty_
              : !(tty_ ? std::chrono::duration<double>(now - last_).count() > 0.5 : decile))
      return;
    last_ = now;
    printed_ = done_episodes;
    last_decile_ = total > 0 ? done * 10 / total : 0;
    rate_ = elapsed > 0 ? static_cast<double>(steps) / elapsed : 0.0;
    const double per_episode = done > 0 ? elapsed / static_cast<double>(done) : NAN;
    const std::string line =
        fmt::format("[collect] episodes {}/{} ({:.0f}%) {:.0f} env steps/s ETA {}", done_episodes, target_,
                    100.0 * static_cast<double>(done) / static_cast<double>(std::max<std::int64_t>(total, 1)),
                    rate_, duration(per_episode * static_cast<double>(total - done)));
    if (tty_)
      std::fprintf(stderr, "\r%-80s", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
  void finish() const {
    if (tty_) std::fprintf(stderr, "\n");
  }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  std::int64_t first_, target_;
  Clock::time_point start_, last_ = Clock::now();
  bool tty_ = isatty(fileno(stderr)) != 0;
  std::int64_t last_decile_ = 0, printed_ = -1;
  double rate_ = 0;
};

/// A trained policy restored from a run directory (or its checkpoint file).
struct CheckpointPolicy {
  std::unique_ptr<Run> run;
  ActOptions options;
};

CheckpointPolicy load_policy(const Registry& registry, const std::string& policy, const Params& collect) {
  fs::path dir = policy;
  std::string checkpoint = (dir / "checkpoints" / "latest.npz").string();
  if (fs::is_regular_file(dir)) {  // <run>/checkpoints/<file>.npz
    checkpoint = dir.string();
    dir = dir.parent_path().parent_path();
  }
  const std::string resolved = (dir / "pipeline.resolved.toml").string();
  if (!fs::exists(resolved) || !fs::exists(checkpoint))
    throw ConfigError(fmt::format(
        "{}: policy '{}' is neither \"random\" nor a run directory of `dipole train` (looked for {} and {})",
        collect.where("policy"), policy, resolved, checkpoint));
  CheckpointPolicy p;
  auto pipeline = config::Pipeline::load(resolved);
  app::apply_process_settings(pipeline);
  p.run = std::make_unique<Run>(build_run(registry, std::move(pipeline)));
  p.run->algorithm->load_state(load_checkpoint(checkpoint).algorithm);
  const CollectConfig config = collect_keys().read(collect);
  const std::vector<double> omega = config.omega.value_or(std::vector<double>{});
  if (omega.size() > 1)
    throw ConfigError(fmt::format("{}: give at most one ω (got {})", collect.where("omega"), omega.size()));
  if (!omega.empty()) p.options.omega = omega.front();
  if (config.num_candidates) p.options.num_candidates = *config.num_candidates;
  return p;
}

/// One running episode and its record, filled row by row.
struct Slot {
  bool active = false;
  std::int64_t index = 0, steps = 0;
  std::shared_ptr<Environment> env;
  std::mt19937_64 rng;
  at::Tensor obs;  // [obs_dim]
  EpisodeRecord record;
};

}  // namespace

int collect_command(const Args& args) {
  po::options_description options("options");
  std::string file;
  std::vector<std::string> overrides;
  std::int64_t episodes = -1, seed = -1;
  options.add_options()("pipeline", po::value(&file)->required(),
                        "collection file with [collect], [environment] and [recorder]")(
      "set", po::value(&overrides)->composing(), "override a key, e.g. --set environment.task=walk")(
      "episodes", po::value(&episodes), "shortcut for --set collect.episodes=N")(
      "seed", po::value(&seed), "shortcut for --set collect.seed=S");
  po::positional_options_description positional;
  positional.add("pipeline", 1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole collect <collect.toml> [--set k=v ...] [--episodes N] [--seed S]\n"
          "Runs a policy (uniform random actions or a trained checkpoint) in [environment] and writes every "
          "episode "
          "with [recorder];\nat the end the destination holds collect.episodes episodes (existing ones are "
          "kept and counted, so a rerun continues). Keys: docs/configuration.md.",
          options, positional, vm))
    return 0;
  if (episodes >= 0) overrides.push_back(fmt::format("collect.episodes={}", episodes));
  if (seed >= 0) overrides.push_back(fmt::format("collect.seed={}", seed));

  config::Pipeline pipeline = config::Pipeline::load(file, overrides);
  const Registry registry = Registry::with_default_plugins();
  const Params collect = pipeline.validate("collect", "collect", collect_keys().schema());
  const CollectConfig config = collect_keys().read(collect);
  Params recorder_params;
  const auto make = [&](Kind kind, const std::string& section) {
    const std::string type = pipeline.type_of(section);
    const ComponentInfo* info = nullptr;
    try {
      info = &registry.info(kind, type);
    } catch (const PluginError& e) {
      throw PluginError(fmt::format("{} [{}]: {}", pipeline.source(), section, e.what()));
    }
    const Params params = pipeline.validate(section, type, info->schema);
    if (kind == Kind::Recorder) recorder_params = params;
    BuildContext ctx;
    ctx.section = section;
    return [&registry, kind, type, params, ctx]() { return registry.create(kind, type, params, ctx); };
  };
  const auto make_env = make(Kind::Environment, "environment");
  const auto make_recorder = make(Kind::Recorder, "recorder");
  // One collection per destination: the run-directory lock on the recorder's `root` or `directory`.
  std::optional<RunLock> lock;
  for (const char* key : {"root", "directory"})
    if (recorder_params.has(key) && !lock)
      lock.emplace(expand_home(recorder_params.text(key)), "dipole collect");
  const auto recorder = std::dynamic_pointer_cast<Recorder>(make_recorder());
  if (!recorder) throw PluginError("[recorder]: the created object does not implement recorder");
  const auto unused = pipeline.unused_sections();
  if (!unused.empty())
    throw ConfigError(fmt::format("{}: `dipole collect` reads only [collect], [environment] and [recorder]",
                                  unused.front()));

  const std::string policy_name = config.policy;
  const bool random_policy = policy_name == "random";
  CheckpointPolicy policy;
  if (!random_policy) policy = load_policy(registry, policy_name, collect);
  const double noise_std = config.noise_std;
  const auto base_seed = static_cast<std::uint64_t>(config.seed);

  const std::int64_t target = config.episodes;
  const std::int64_t first = recorder->existing_episodes();
  if (first >= target) {
    std::cout << fmt::format(
        "the destination already holds {} episodes (collect.episodes = {}): nothing to do\n", first, target);
    return 0;
  }
  const std::int64_t slots = std::min(config.parallel, target - first);
  std::vector<Slot> state(static_cast<std::size_t>(slots));
  for (auto& s : state) s.env = std::dynamic_pointer_cast<Environment>(make_env());
  const Spec spec = state.front().env->spec();
  if (!random_policy &&
      (policy.run->spec.obs_dim != spec.obs_dim || policy.run->spec.action_dim != spec.action_dim))
    throw ConfigError(
        fmt::format("{}: the policy was trained on observations of size {} and actions of size {}, "
                    "the environment has {} and {}",
                    collect.where("policy"), policy.run->spec.obs_dim, policy.run->spec.action_dim,
                    spec.obs_dim, spec.action_dim));
  const std::int64_t time_limit = state.front().env->max_episode_steps();
  const std::int64_t limit = config.max_steps ? std::min(*config.max_steps, time_limit) : time_limit;
  const auto d = static_cast<std::size_t>(spec.action_dim);

  // SIGINT/SIGTERM: no new episode starts; the running ones finish and are written (the
  // destination then holds consecutive episodes, which a rerun continues), then exit 130.
  StopScope stop_scope;
  at::Generator act_generator = at::detail::createCPUGenerator(episode_seed(base_seed, -1, 7));
  at::NoGradGuard no_grad;
  Progress progress(first, target);
  std::int64_t next = first, written = first, steps_taken = 0;

  const auto start = [&](Slot& s) {
    s.active = false;
    if (next >= target || stop_requested()) return;
    s.active = true;
    s.index = next++;
    s.steps = 0;
    s.rng.seed(episode_seed(base_seed, s.index, 1));
    s.obs = s.env->reset(episode_seed(base_seed, s.index, 0)).to(at::kFloat).reshape({-1});
    const at::Tensor sim = s.env->simulator_state();
    s.record = EpisodeRecord{};
    s.record.initial_observation = s.obs.clone();
    if (sim.defined()) {
      s.record.initial_state = sim.to(at::kDouble).reshape({-1}).clone();
      s.record.states = at::empty({limit, sim.numel()}, at::kDouble);
    }
    s.record.observations = at::empty({limit, spec.obs_dim}, at::kFloat);
    s.record.actions = at::empty({limit, spec.action_dim}, at::kFloat);
    s.record.rewards = at::empty({limit}, at::kFloat);
    s.record.terminated = at::zeros({limit}, at::kBool);
    s.record.truncated = at::zeros({limit}, at::kBool);
    s.record.successes = at::zeros({limit}, at::kBool);
  };
  for (auto& s : state) start(s);

  std::vector<std::size_t> active;
  std::vector<at::Tensor> batch;
  while (true) {
    active.clear();
    for (std::size_t i = 0; i < state.size(); ++i)
      if (state[i].active) active.push_back(i);
    if (active.empty()) break;

    at::Tensor policy_actions;  // [active, action_dim]
    const float* policy_data = nullptr;
    if (!random_policy) {
      batch.clear();
      for (auto i : active) batch.push_back(state[i].obs);
      policy_actions = policy.run->algorithm->act(at::stack(batch), policy.options, act_generator)
                           .to(at::kCPU, at::kFloat)
                           .contiguous();
      if (policy_actions.size(0) != static_cast<std::int64_t>(active.size()) ||
          policy_actions.size(1) != spec.action_dim)
        throw Error(fmt::format("act() returned actions of shape [{}, {}], expected [{}, {}]",
                                policy_actions.size(0), policy_actions.size(1), active.size(),
                                spec.action_dim));
      policy_data = policy_actions.data_ptr<float>();
    }
    for (std::size_t k = 0; k < active.size(); ++k) {
      Slot& s = state[active[k]];
      at::Tensor action = at::empty({spec.action_dim}, at::kFloat);
      float* a = action.data_ptr<float>();
      for (std::size_t j = 0; j < d; ++j) {
        const auto lo = static_cast<float>(spec.action_low[j]), hi = static_cast<float>(spec.action_high[j]);
        if (random_policy) {
          const float u = static_cast<float>(s.rng() >> 40) * 0x1.0p-24F;  // [0, 1), 24 bits
          a[j] = lo + (hi - lo) * u;
        } else {
          double v = policy_data[k * d + j];
          if (noise_std > 0) v += noise_std * std::normal_distribution<double>(0.0, 1.0)(s.rng);
          a[j] = std::clamp(static_cast<float>(v), lo, hi);
        }
      }
      const StepResult r = s.env->step(action);
      const std::int64_t t = s.steps++;
      ++steps_taken;
      s.obs = r.observation.to(at::kFloat).reshape({-1});
      s.record.observations[t].copy_(s.obs);
      s.record.actions[t].copy_(action);
      s.record.rewards[t] = static_cast<float>(r.reward);
      if (s.record.states.defined()) s.record.states[t].copy_(s.env->simulator_state().reshape({-1}));
      s.record.terminated[t] = r.terminated;
      s.record.successes[t] = r.success;
      const bool end = r.terminated || r.truncated || s.steps >= limit;
      s.record.truncated[t] = end && !r.terminated;
      if (!end) continue;
      for (at::Tensor* field :
           {&s.record.observations, &s.record.actions, &s.record.rewards, &s.record.states,
            &s.record.terminated, &s.record.truncated, &s.record.successes})
        if (field->defined()) *field = field->slice(0, 0, s.steps);
      recorder->write(s.index, s.record);
      ++written;
      progress.update(written, steps_taken);
      start(s);
    }
  }
  recorder->finish();
  progress.update(written, steps_taken, true);
  progress.finish();
  const double seconds = progress.elapsed();
  std::cout << fmt::format(
      "collected {} episodes (indices {} to {}), {} env steps in {:.1f} s: {:.0f} env steps/s\n",
      written - first, first, written - 1, steps_taken, seconds,
      seconds > 0 ? static_cast<double>(steps_taken) / seconds : 0.0);
  if (stop_requested() && written < target) {
    std::cout << fmt::format("interrupted: the destination holds {} of {} episodes; rerun to continue\n",
                             written, target);
    return 130;
  }
  return 0;
}

}  // namespace dipole::cli
