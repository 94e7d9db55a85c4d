// dipole_ogbench_generate: OGBench play and noisy datasets (<category>-play-v0 / <category>-noisy-v0
// for cube-single, cube-double, scene, puzzle-3x3) from the C++ environments and the plan oracles
// (play) or Markov oracles (noisy) (docs/ogbench.md, "Generator loop", "Markov oracles and noisy data"),
// written through the `ogbench` recorder, so the files have OGBench's layout exactly (<stem>.npz with the
// train episodes, <stem>-val.npz with the last
// --val-episodes). Episode i is seeded from (--seed, i): the output does not depend on --threads, and
// a rerun into the same directory continues after the episodes already there.
//   dipole_ogbench_generate [--type play] --dataset cube-single-play-v0 --directory DIR [--episodes 1000]
//       [--val-episodes 100] [--seed 0] [--threads 2] [--noise 0.1] [--steps 1001]
//       [--checkpoint-every 100]
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <string>

#include "dipole/core/config.hpp"
#include "dipole/core/registry.hpp"
#include "dipole/errors.hpp"
#include "dipole/recorder.hpp"
#include "generator_loop.hpp"

namespace {

using namespace dipole;
using namespace dipole::manipspace;
using namespace dipole::manipspace::oracles;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void on_signal(int /*signal*/) {
  g_stop.store(true);
}

struct Options {
  std::string type = "play";
  std::string dataset;  // default cube-single-<type>-v0
  std::string directory;
  std::int64_t episodes = 1000, val_episodes = 100, seed = 0, threads = 2, steps = PlayEnv::kEpisodeSteps;
  std::int64_t checkpoint_every = 100;
  double noise = 0.1;
};

const char* kUsage =
    "usage: dipole_ogbench_generate [--type play] --dataset <category>-<type>-v0 --directory DIR\n"
    "         [--episodes 1000] [--val-episodes 100] [--seed 0] [--threads 2] [--noise 0.1] [--steps 1001]\n"
    "         [--checkpoint-every 100]\n"
    "  --type              play (plan oracles) or noisy (Markov oracles + action noise)\n"
    "  --dataset           <category>-<type>-v0, category cube-single, cube-double, scene or puzzle-3x3\n"
    "                      (default cube-single-<type>-v0)\n"
    "  --directory         receives <dataset>.npz (train episodes) and <dataset>-val.npz\n"
    "  --episodes          train episodes (official 1000); --val-episodes more go to the -val file (100)\n"
    "  --seed              episode i is generated from seeds derived from (seed, i)\n"
    "  --threads           episodes generated in parallel (the output does not depend on it)\n"
    "  --noise             play: plan noise level (official 0.1; 0 = noise-free plans); noisy: the\n"
    "                      upper bound of the per-episode action noise level xi ~ U(0, noise) (0.1)\n"
    "  --steps             env steps (= rows) per episode (official 1001)\n"
    "  --checkpoint-every  episodes between partial-file checkpoints of the recorder (0 = at the end)\n";

Options parse(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) throw ConfigError(fmt::format("argument '{}': expected --key value", arg));
    std::string value;
    const auto eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) throw ConfigError(fmt::format("{}: missing value", arg));
      value = argv[++i];
    }
    values[arg.substr(2)] = value;
  }
  const auto integer = [&](const std::string& key, std::int64_t& out, std::int64_t lo) {
    const auto it = values.find(key);
    if (it == values.end()) return;
    std::size_t used = 0;
    try {
      out = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != it->second.size() || out < lo)
      throw ConfigError(fmt::format("--{} {}: expected an integer ≥ {}", key, it->second, lo));
    values.erase(it);
  };
  integer("episodes", o.episodes, 1);
  integer("val-episodes", o.val_episodes, 0);
  integer("seed", o.seed, 0);
  integer("threads", o.threads, 1);
  integer("steps", o.steps, 2);
  integer("checkpoint-every", o.checkpoint_every, 0);
  if (const auto it = values.find("noise"); it != values.end()) {
    std::size_t used = 0;
    try {
      o.noise = std::stod(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != it->second.size() || !(o.noise >= 0.0))
      throw ConfigError(fmt::format("--noise {}: expected a number ≥ 0", it->second));
    values.erase(it);
  }
  for (const char* key : {"type", "dataset", "directory"}) {
    const auto it = values.find(key);
    if (it == values.end()) continue;
    const std::string k = key;
    (k == "type" ? o.type : k == "dataset" ? o.dataset : o.directory) = it->second;
    values.erase(it);
  }
  if (o.type != "play" && o.type != "noisy")
    throw ConfigError(fmt::format("--type {}: expected play or noisy", o.type));
  if (o.dataset.empty()) o.dataset = "cube-single-" + o.type + "-v0";
  if (!values.empty())
    throw ConfigError(fmt::format("--{}: unknown option (see --help)", values.begin()->first));
  if (o.directory.empty()) throw ConfigError("--directory: required (the output directory)");
  if (o.directory.find('\'') != std::string::npos || o.dataset.find('\'') != std::string::npos)
    throw ConfigError("--directory / --dataset: must not contain a single quote");
  return o;
}

ogbench::Category category_of(const std::string& dataset, const std::string& type) {
  for (const auto c : {ogbench::Category::CubeSingle, ogbench::Category::CubeDouble, ogbench::Category::Scene,
                       ogbench::Category::Puzzle3x3})
    if (dataset == std::string(ogbench::info(c).name) + "-" + type + "-v0") return c;
  throw ConfigError(
      fmt::format("--dataset {} (--type {}): expected cube-single-{}-v0, cube-double-{}-v0, scene-{}-v0 or "
                  "puzzle-3x3-{}-v0",
                  dataset, type, type, type, type, type));
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

/// EpisodeRecord of the recorder interface: s_0 is the initial state, observations/states[t] the
/// state after step t (the recorder turns them into OGBench's rows s_0 … s_{T−1}).
EpisodeRecord to_record(const PlayEpisode& e) {
  const std::int64_t T = e.steps, od = e.obs_dim, sd = e.state_dim;
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor obs = at::from_blob(const_cast<float*>(e.observations.data()), {T + 1, od}, f32);
  const at::Tensor states = at::from_blob(const_cast<double*>(e.states.data()), {T + 1, sd}, f64);
  EpisodeRecord r;
  r.initial_observation = obs[0].clone();
  r.initial_state = states[0].clone();
  r.observations = obs.slice(0, 1).clone();
  r.states = states.slice(0, 1).clone();
  r.actions = at::from_blob(const_cast<float*>(e.actions.data()), {T, 5}, f32).clone();
  r.rewards = at::zeros({T}, f32);
  r.terminated = at::zeros({T}, at::kBool);
  r.truncated = at::zeros({T}, at::kBool);
  r.truncated[T - 1] = true;
  r.successes = at::zeros({T}, at::kBool);
  return r;
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const ogbench::Category category = category_of(o.dataset, o.type);

  const std::string toml = fmt::format(
      "[recorder]\ntype = \"ogbench\"\ndataset = '{}'\ndirectory = '{}'\nval_episodes = {}\n"
      "checkpoint_every = {}\n",
      o.dataset, o.directory, o.val_episodes, o.checkpoint_every);
  config::Pipeline pipeline = config::Pipeline::parse(toml, "dipole_ogbench_generate arguments");
  const Registry registry = Registry::with_default_plugins();
  const Params params =
      pipeline.validate("recorder", "ogbench", registry.info(Kind::Recorder, "ogbench").schema);
  BuildContext ctx;
  ctx.section = "recorder";
  const auto recorder =
      std::dynamic_pointer_cast<Recorder>(registry.create(Kind::Recorder, "ogbench", params, ctx));
  if (!recorder) throw PluginError("recorder ogbench: the created object does not implement recorder");

  const std::int64_t total = o.episodes + o.val_episodes;
  const std::int64_t first = recorder->existing_episodes();
  if (first >= total) {
    std::cout << fmt::format("{} already holds {} episodes of {} ({} train + {} val): nothing to do\n",
                             o.directory, first, o.dataset, o.episodes, o.val_episodes);
    return 0;
  }

  GenerateConfig config;
  config.category = category;
  config.steps = static_cast<int>(o.steps);
  config.type = o.type == "noisy" ? DataType::Noisy : DataType::Play;
  config.plan.noise = o.noise;
  config.action_noise = o.noise;
  config.seed = static_cast<std::uint64_t>(o.seed);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const bool tty = isatty(fileno(stderr)) != 0;
  const auto start = Clock::now();
  auto last = start;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_task;  // sub-tasks, target reached
  std::int64_t done = 0, rows = 0, retries = 0, last_decile = -1, printed = -1;
  const std::int64_t todo = total - first;
  const auto progress = [&](bool force) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const std::int64_t decile = done * 10 / todo;
    if (force ? printed == done && !tty
              : (tty ? std::chrono::duration<double>(now - last).count() < 0.5 : decile == last_decile))
      return;
    last = now;
    printed = done;
    last_decile = decile;
    const double rate = elapsed > 0 ? static_cast<double>(rows) / elapsed : 0.0;
    const double eta =
        done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(todo - done) : NAN;
    const std::string line =
        fmt::format("[generate] episodes {}/{} ({:.0f}%) {:.0f} rows/s ETA {}", first + done, total,
                    100.0 * static_cast<double>(done) / static_cast<double>(todo), rate, duration(eta));
    if (tty)
      std::fprintf(stderr, "\r%-80s", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  };
  progress(true);
  generate_play(
      config, first, todo, static_cast<int>(o.threads),
      [&](std::int64_t index, PlayEpisode&& episode) {
        recorder->write(index, to_record(episode));
        ++done;
        rows += episode.steps;
        retries += episode.attempts - 1;
        for (const auto& s : episode.subtasks) {
          auto& [n, reached] = by_task[std::string(to_string(s.task)) + (s.locked ? " (locked)" : "")];
          ++n;
          reached += s.success ? 1 : 0;
        }
        progress(false);
      },
      &g_stop);
  progress(true);
  if (tty) std::fprintf(stderr, "\n");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (g_stop.load() && first + done < total) {
    std::cout << fmt::format(
        "interrupted after {} episodes ({} stored); rerun the same command to continue (checkpointed "
        "episodes are kept in {}/{}-partial.npz)\n",
        done, first + done, o.directory, o.dataset);
    return 130;
  }
  recorder->finish();
  std::string summary;
  for (const auto& [task, counts] : by_task)
    summary += fmt::format(" {} {}/{} ({:.1f} %);", task, counts.second, counts.first,
                           100.0 * static_cast<double>(counts.second) / static_cast<double>(counts.first));
  std::cout << fmt::format(
      "{}: {} episodes ({} rows) in {:.1f} s, {:.0f} rows/s on {} thread(s); sub-tasks with the target "
      "reached "
      "when the oracle was done:{} {} scene episode(s) redone (health check)\n",
      o.dataset, done, rows, seconds, seconds > 0 ? static_cast<double>(rows) / seconds : 0.0, o.threads,
      summary, retries);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dipole_ogbench_generate: %s\n", e.what());
    return 1;
  }
}
