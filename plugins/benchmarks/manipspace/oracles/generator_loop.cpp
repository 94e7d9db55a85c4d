// Play-data generator loop (see generator_loop.hpp; docs/ogbench.md, "Generator loop", "Markov oracles
// and noisy data").
#include "generator_loop.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace dipole::manipspace::oracles {
namespace {

// Random streams of an episode attempt.
constexpr std::uint64_t kEnvStream = 1, kOracleStream = 2;

void append_row(PlayEpisode& e, const PlayEnv& env) {
  const std::vector<double> obs = env.env().observation();
  for (const double v : obs) e.observations.push_back(static_cast<float>(v));
  const std::vector<double> s = env.state();
  e.states.insert(e.states.end(), s.begin(), s.end());
}

}  // namespace

const char* to_string(DataType type) {
  return type == DataType::Noisy ? "noisy" : "play";
}

double episode_p_stack(ogbench::Category category, Rng& rng) {
  switch (category) {
    case ogbench::Category::CubeSingle:
      return 0.0;
    case ogbench::Category::CubeDouble:
      return rng.uniform(0.0, 0.25);
    default:
      return 0.5;  // scene: unused with one cube; puzzle: no cubes
  }
}

bool scene_episode_healthy(const PlayEpisode& episode, int cube_qpos) {
  for (int t = 0; t < episode.steps; ++t) {
    const double* q =
        episode.states.data() + static_cast<std::size_t>(t) * static_cast<std::size_t>(episode.state_dim);
    const double y = q[cube_qpos + 1], z = q[cube_qpos + 2];
    if (y >= 0.29) return false;                            // too far right
    if (y <= -0.3 && (z < 0.06 || z > 0.08)) return false;  // too far left without being in the drawer
  }
  return true;
}

PlayEpisode play_episode(PlayEnv& env, const GenerateConfig& config, std::int64_t index) {
  if (config.steps < 1) throw ConfigError("generator: steps per episode must be at least 1");
  PlanConfig plan = config.plan;
  plan.gripper_always_closed = config.category == ogbench::Category::Puzzle3x3;
  const bool scene = config.category == ogbench::Category::Scene;
  const bool noisy = config.type == DataType::Noisy;
  const bool puzzle = config.category == ogbench::Category::Puzzle3x3;
  const double p_random = config.p_random_action >= 0.0 ? config.p_random_action : (puzzle ? 0.2 : 0.1);
  for (int attempt = 0;; ++attempt) {
    const auto stream = [&](std::uint64_t s) { return 16 * static_cast<std::uint64_t>(attempt) + s; };
    Rng oracle_rng(stream_seed(config.seed, index, stream(kOracleStream)));
    env.reset(stream_seed(config.seed, index, stream(kEnvStream)));
    const double p_stack = episode_p_stack(config.category, oracle_rng);
    // ξ per episode (docs/ogbench.md, "Markov oracles and noisy data")
    const double xi = noisy ? oracle_rng.uniform(0.0, config.action_noise) : 0.0;

    PlayEpisode e;
    e.steps = config.steps;
    e.obs_dim = env.env().obs_dim();
    e.state_dim = env.state_dim();
    e.attempts = attempt + 1;
    e.observations.reserve((static_cast<std::size_t>(config.steps) + 1) *
                           static_cast<std::size_t>(e.obs_dim));
    e.states.reserve((static_cast<std::size_t>(config.steps) + 1) * static_cast<std::size_t>(e.state_dim));
    e.actions.reserve(static_cast<std::size_t>(config.steps) * 5);
    append_row(e, env);

    PlanOracle oracle(plan);
    MarkovOracle markov(env);
    const auto start_subtask = [&](int step) {
      if (noisy)
        markov.reset(env, oracle_rng);
      else
        oracle.reset(env, oracle_rng);
      SubTaskRecord r;
      r.task = env.target().task;
      r.start_step = step;
      const auto& buttons = env.env().button_states();
      if (r.task == TargetTask::Drawer) r.locked = buttons[0] == 0;
      if (r.task == TargetTask::Window) r.locked = buttons[1] == 0;
      return r;
    };
    SubTaskRecord current = start_subtask(0);
    for (int t = 0; t < config.steps; ++t) {
      Action a = noisy ? markov.action(env) : oracle.action(env);
      if (noisy) {  // noisy-data extras (docs/ogbench.md, "Markov oracles and noisy data"): white noise (ξ,
                    // ξ, ξ, 3ξ, 10ξ), then random actions
        static constexpr double kNoiseScale[5] = {1, 1, 1, 3, 10};
        for (std::size_t c = 0; c < 5; ++c) a[c] += oracle_rng.normal() * xi * kNoiseScale[c];
        if (oracle_rng.uniform() < p_random)
          for (double& v : a) v = oracle_rng.uniform(-1.0, 1.0);
      }
      for (double& v : a) v = std::min(1.0, std::max(-1.0, v));
      for (const double v : a) e.actions.push_back(static_cast<float>(v));
      env.step(a);
      if (noisy ? markov.done() : oracle.done()) {
        current.length = t + 1 - current.start_step;
        current.success = env.target_reached();
        e.subtasks.push_back(current);
        env.set_new_target(p_stack);
        current = start_subtask(t + 1);
      }
      append_row(e, env);
    }
    if (!scene || scene_episode_healthy(e)) return e;
    if (attempt >= 100)
      throw NumericError(
          "generator: scene episode " + std::to_string(index) +
          " failed the scene health check (docs/ogbench.md, Generator loop) 100 times in a row");
  }
}

std::int64_t generate_play(const GenerateConfig& config, std::int64_t first, std::int64_t count, int threads,
                           const std::function<void(std::int64_t, PlayEpisode&&)>& sink,
                           const std::atomic<bool>* stop) {
  if (count <= 0) return 0;
  threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, count)));
  const std::int64_t end = first + count;
  const std::int64_t window =
      2 * static_cast<std::int64_t>(threads);  // episodes finished ahead of the next one handed over

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::int64_t, PlayEpisode> ready;
  std::int64_t next_claim = first, next_out = first;
  bool abort = false;
  std::exception_ptr error;
  const auto stopped = [&] { return abort || (stop != nullptr && stop->load()); };

  const auto worker = [&] {
    try {
      PlayEnv env(config.category);
      for (;;) {
        std::int64_t index;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock,
                       [&] { return stopped() || next_claim >= end || next_claim < next_out + window; });
          if (stopped() || next_claim >= end) return;
          index = next_claim++;
        }
        PlayEpisode episode = play_episode(env, config, index);
        {
          std::lock_guard<std::mutex> lock(mutex);
          ready.emplace(index, std::move(episode));
        }
        changed.notify_all();
      }
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        abort = true;
      }
      changed.notify_all();
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  std::exception_ptr sink_error;
  try {
    while (next_out < end) {
      PlayEpisode episode;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stopped() || ready.count(next_out) != 0; });
        if (ready.count(next_out) == 0) break;  // stopped or failed before this episode finished
        episode = std::move(ready.at(next_out));
        ready.erase(next_out);
      }
      sink(next_out, std::move(episode));
      {
        std::lock_guard<std::mutex> lock(mutex);
        ++next_out;
      }
      changed.notify_all();
      if (stop != nullptr && stop->load()) break;
    }
  } catch (...) {
    sink_error = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    abort = true;
  }
  changed.notify_all();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  if (sink_error) std::rethrow_exception(sink_error);
  return next_out - first;
}

}  // namespace dipole::manipspace::oracles
