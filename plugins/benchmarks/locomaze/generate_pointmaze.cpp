// dipole_locomaze_generate: OGBench pointmaze datasets (pointmaze-{medium,large,giant,teleport}-
// {navigate,stitch}-v0) rebuilt with OGBench's collection procedure (docs/ogbench.md, "Pointmaze data
// generator"): the goal-conditioned env (post timing, no termination, ±1 m noise on start and goal),
// a BFS oracle that picks the next cell towards the goal, the expert action = the unit direction to
// that cell plus N(0, 0.5²) noise, clipped to [−1, 1]; in `navigate` a new goal whenever the current
// one is reached. The files are written through the `ogbench` recorder, so they have OGBench's layout
// exactly. Episode i is generated from seeds derived from (--seed, i); a rerun into the same
// directory continues after the episodes already there.
//   dipole_locomaze_generate --dataset pointmaze-medium-navigate-v0 --directory DIR [--episodes N]
//       [--val-episodes N] [--steps N] [--seed 0] [--noise 0.5] [--checkpoint-every 100]
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "dipole/core/config.hpp"
#include "dipole/core/registry.hpp"
#include "dipole/errors.hpp"
#include "dipole/recorder.hpp"
#include "loco_env.hpp"

namespace {

using namespace dipole;
using namespace dipole::locomaze;

const char* kUsage =
    "usage: dipole_locomaze_generate --dataset pointmaze-<maze>-<type>-v0 --directory DIR [--episodes N]\n"
    "         [--val-episodes N] [--steps N] [--seed 0] [--noise 0.5] [--checkpoint-every 100]\n"
    "  --dataset           maze medium, large, giant or teleport; type navigate or stitch\n"
    "  --directory         receives <dataset>.npz (train episodes) and <dataset>-val.npz\n"
    "  --episodes          train episodes (official: navigate 1000, giant 500; stitch 5000)\n"
    "  --val-episodes      more episodes for the -val file (official: a tenth of --episodes)\n"
    "  --steps             rows per episode (official: navigate 1001, giant 2001; stitch 201)\n"
    "  --seed              episode i is generated from seeds derived from (seed, i)\n"
    "  --noise             std of the Gaussian action noise (official 0.5)\n"
    "  --checkpoint-every  episodes between partial-file checkpoints of the recorder (0 = at the end)\n";

struct Options {
  std::string dataset, directory;
  std::int64_t episodes = -1, val_episodes = -1, steps = -1, seed = 0, checkpoint_every = 100;
  double noise = 0.5;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) throw ConfigError(fmt::format("{}: missing value (see --help)", arg));
    const std::string value = argv[++i];
    const auto integer = [&](std::int64_t& out, std::int64_t lo) {
      std::size_t used = 0;
      try {
        out = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || out < lo)
        throw ConfigError(fmt::format("{} {}: expected an integer ≥ {}", arg, value, lo));
    };
    if (arg == "--dataset")
      o.dataset = value;
    else if (arg == "--directory")
      o.directory = value;
    else if (arg == "--episodes")
      integer(o.episodes, 1);
    else if (arg == "--val-episodes")
      integer(o.val_episodes, 0);
    else if (arg == "--steps")
      integer(o.steps, 2);
    else if (arg == "--seed")
      integer(o.seed, 0);
    else if (arg == "--checkpoint-every")
      integer(o.checkpoint_every, 0);
    else if (arg == "--noise") {
      std::size_t used = 0;
      try {
        o.noise = std::stod(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || !(o.noise >= 0.0))
        throw ConfigError(fmt::format("--noise {}: expected a number ≥ 0", value));
    } else
      throw ConfigError(fmt::format("{}: unknown option (see --help)", arg));
  }
  if (o.dataset.empty()) throw ConfigError("--dataset: required, e.g. pointmaze-medium-navigate-v0");
  if (o.directory.empty()) throw ConfigError("--directory: required (the output directory)");
  if (o.directory.find('\'') != std::string::npos || o.dataset.find('\'') != std::string::npos)
    throw ConfigError("--directory / --dataset: must not contain a single quote");
  return o;
}

/// splitmix64 of (seed, index): one independent stream per episode.
std::uint64_t episode_seed(std::uint64_t seed, std::int64_t index) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(index) * 0xD1B54A32D192ED03ULL +
                    0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

namespace {

/// One pointmaze collection episode of `rows` rows as the recorder's EpisodeRecord.
EpisodeRecord episode(LocoEnv& env, bool navigate, int rows, double noise, std::uint64_t seed) {
  const MazeMap& map = maze_map(env.scene().kind().map);
  env.seed(seed);
  const auto pick = [&](const std::vector<std::pair<int, int>>& cells) {
    const auto n = cells.size();
    return cells[std::min(n - 1, static_cast<std::size_t>(env.uniform(0.0, static_cast<double>(n))))];
  };
  const auto noisy = [&](std::pair<int, int> cell) {
    auto xy = cell_to_xy(cell.first, cell.second);
    for (double& c : xy) c += env.uniform(-1.0, 1.0);
    return xy;
  };
  const auto free = map.free_cells(), vertices = map.vertex_cells();
  const auto init = pick(free);
  std::pair<int, int> goal;
  if (navigate) {
    goal = pick(vertices);
  } else {  // stitch: a cell at BFS distance exactly 4, or the start cell itself
    const auto dist = map.bfs(init.first, init.second);
    std::vector<std::pair<int, int>> ring;
    for (const auto& c : free)
      if (dist[static_cast<std::size_t>(c.first)][static_cast<std::size_t>(c.second)] == 4) ring.push_back(c);
    goal = ring.empty() ? init : pick(ring);
  }
  const auto init_xy = noisy(init);
  const auto goal_xy = noisy(goal);
  env.reset_at(init_xy, {0, 0}, goal_xy);
  auto dist = map.bfs(goal.first, goal.second);

  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  EpisodeRecord r;
  r.initial_observation =
      at::tensor(std::vector<float>(env.observation().begin(), env.observation().end()), f32);
  r.initial_state = at::tensor(env.state(), f64);
  r.actions = at::empty({rows, 2}, f32);
  r.observations = at::empty({rows, 2}, f32);
  r.states = at::empty({rows, 4}, f64);
  r.rewards = at::zeros({rows}, f32);
  r.terminated = at::zeros({rows}, at::kBool);
  r.truncated = at::zeros({rows}, at::kBool);
  r.truncated[rows - 1] = true;
  r.successes = at::zeros({rows}, at::kBool);
  float* actions = r.actions.data_ptr<float>();
  float* observations = r.observations.data_ptr<float>();
  double* states = r.states.data_ptr<double>();
  bool* successes = r.successes.data_ptr<bool>();
  for (int t = 0; t < rows; ++t) {
    const double* q = env.scene().data()->qpos;
    const auto sub = map.oracle_next_cell(dist, xy_to_cell(q[0], q[1]));
    const auto sub_xy = cell_to_xy(sub.first, sub.second);
    const double dx = sub_xy[0] - q[0], dy = sub_xy[1] - q[1], norm = std::hypot(dx, dy) + 1e-6;
    double a[2] = {dx / norm + noise * env.normal(), dy / norm + noise * env.normal()};
    for (double& x : a) x = std::clamp(x, -1.0, 1.0);
    const auto out = env.step(a);
    for (int k = 0; k < 2; ++k) {
      actions[2 * t + k] = static_cast<float>(a[k]);
      observations[2 * t + k] = static_cast<float>(env.observation()[static_cast<std::size_t>(k)]);
    }
    const auto s = env.state();
    std::copy(s.begin(), s.end(), states + 4 * t);
    successes[t] = out.success;
    if (navigate && out.success) {  // a new goal (a vertex cell, with noise) once this one is reached
      goal = pick(vertices);
      env.set_goal(noisy(goal));
      dist = map.bfs(goal.first, goal.second);
    }
  }
  return r;
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto dash = o.dataset.rfind('-');
  if (dash == std::string::npos)
    throw ConfigError(fmt::format("--dataset {}: expected pointmaze-<maze>-<type>-v0", o.dataset));
  const ogbench::ParsedName name =
      ogbench::parse_dataset_name(o.dataset.substr(0, dash) + "-singletask" + o.dataset.substr(dash));
  const SceneKind kind = scene_of(name.category);
  if (kind.agent != Agent::Point || (name.dataset_type != "navigate" && name.dataset_type != "stitch"))
    throw ConfigError(fmt::format(
        "--dataset {}: only pointmaze navigate and stitch data can be rebuilt (the ant, humanoid and "
        "antsoccer experts are unpublished); expected "
        "pointmaze-<medium|large|giant|teleport>-<navigate|stitch>-v0",
        o.dataset));
  const bool navigate = name.dataset_type == "navigate", giant = kind.map == MapName::Giant;
  const std::int64_t episodes = o.episodes > 0 ? o.episodes : navigate ? (giant ? 500 : 1000) : 5000;
  const std::int64_t val = o.val_episodes >= 0 ? o.val_episodes : episodes / 10;
  const int rows = static_cast<int>(o.steps > 0 ? o.steps : navigate ? (giant ? 2001 : 1001) : 201);

  const std::string toml = fmt::format(
      "[recorder]\ntype = \"ogbench\"\ndataset = '{}'\ndirectory = '{}'\nval_episodes = {}\n"
      "checkpoint_every = {}\n",
      o.dataset, o.directory, val, o.checkpoint_every);
  config::Pipeline pipeline = config::Pipeline::parse(toml, "dipole_locomaze_generate arguments");
  const Registry registry = Registry::with_default_plugins();
  const Params params =
      pipeline.validate("recorder", "ogbench", registry.info(Kind::Recorder, "ogbench").schema);
  BuildContext ctx;
  ctx.section = "recorder";
  const auto recorder =
      std::dynamic_pointer_cast<Recorder>(registry.create(Kind::Recorder, "ogbench", params, ctx));
  if (!recorder) throw PluginError("recorder ogbench: the created object does not implement recorder");
  const std::int64_t total = episodes + val, first = recorder->existing_episodes();
  // The collection env: goal-conditioned, `post` timing, never terminated (the loop ignores it).
  LocoEnv env(name.env_id, RewardTiming::Post, ResetQuaternion::Raw);
  std::int64_t reached = 0, goals = 0;
  for (std::int64_t i = first; i < total; ++i) {
    const EpisodeRecord r =
        episode(env, navigate, rows, o.noise, episode_seed(static_cast<std::uint64_t>(o.seed), i));
    goals += 1;
    reached += r.successes.any().item<bool>() ? 1 : 0;
    recorder->write(i, r);
    if ((i + 1 - first) % std::max<std::int64_t>(1, (total - first) / 10) == 0)
      std::fprintf(stderr, "[generate] episodes %lld/%lld\n", static_cast<long long>(i + 1),
                   static_cast<long long>(total));
  }
  recorder->finish();
  std::printf(
      "%s: %lld episodes (%lld train + %lld val) of %d rows in %s; %lld of %lld new episodes reached a "
      "goal\n",
      o.dataset.c_str(), static_cast<long long>(total), static_cast<long long>(episodes),
      static_cast<long long>(val), rows, o.directory.c_str(), static_cast<long long>(reached),
      static_cast<long long>(goals));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dipole_locomaze_generate: %s\n", e.what());
    return 1;
  }
}
