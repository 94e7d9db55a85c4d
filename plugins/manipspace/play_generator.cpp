// The play generator loop (see play_generator.hpp). Section numbers refer to
// /work/shared/docs/ogbench_manipulation.md.
#include "play_generator.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <string>

#include "markov_oracle.hpp"
#include "plan_oracle.hpp"

namespace dipole::manipspace {
namespace {

constexpr Vec3 kCubeArmLo = {0.25, -0.35, 0.20}, kCubeArmHi = {0.6, 0.35, 0.35};
constexpr Vec3 kSceneArmLo = {0.25, -0.2, 0.20}, kSceneArmHi = {0.6, 0.2, 0.35};
constexpr Vec3 kPuzzleArmLo = {0.25, -0.2, 0.20}, kPuzzleArmHi = {0.6, 0.2, 0.25};

double uniform(std::mt19937_64& rng, double lo, double hi) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  return lo + (hi - lo) * u;
}

const Vec3& arm_lo(SceneLayout::Kind kind) {
  return kind == SceneLayout::Kind::Cubes    ? kCubeArmLo
         : kind == SceneLayout::Kind::Puzzle ? kPuzzleArmLo
                                             : kSceneArmLo;
}
const Vec3& arm_hi(SceneLayout::Kind kind) {
  return kind == SceneLayout::Kind::Cubes    ? kCubeArmHi
         : kind == SceneLayout::Kind::Puzzle ? kPuzzleArmHi
                                             : kSceneArmHi;
}

/// Start the plan oracle of the data env's current target (§6.2: cube, button, drawer, window).
void start_oracle(plan::PlanOracle& oracle, DataCollectionEnv& data, const PlayOptions& options,
                  std::mt19937_64& rng) {
  const ManipEnv& env = data.env();
  const SceneLayout::Kind kind = env.layout().kind;
  const plan::Pose f = plan::random_final_pose(arm_lo(kind), arm_hi(kind), rng);
  const CollectTarget& t = data.target();
  switch (t.kind) {
    case CollectTarget::Kind::Cube:
      oracle.start(env, plan::cube_keyframes(env, t.index, f, rng), options.jitter ? plan::kCubeJitter : 0.0,
                   rng);
      return;
    case CollectTarget::Kind::Button:
      oracle.start(env, plan::button_keyframes(env, t.index, kind == SceneLayout::Kind::Puzzle, f),
                   options.jitter ? plan::kOtherJitter : 0.0, rng);
      return;
    case CollectTarget::Kind::Drawer:
    case CollectTarget::Kind::Window:
      oracle.start(env, plan::handle_keyframes(env, t.kind == CollectTarget::Kind::Window, f),
                   options.jitter ? plan::kOtherJitter : 0.0, rng);
      return;
  }
}

PlayEpisode run_episode(DataCollectionEnv& data, std::uint64_t seed, const PlayOptions& options,
                        std::mt19937_64& rng) {
  ManipEnv& env = data.env();
  const mjModel* m = env.model();
  PlayEpisode e;
  e.obs_dim = env.obs_dim();
  e.nq = m->nq;
  e.nv = m->nv;
  e.num_buttons = env.num_buttons();
  const auto steps = static_cast<std::size_t>(options.steps);
  e.observations.reserve(steps * static_cast<std::size_t>(e.obs_dim));
  e.actions.reserve(steps * 5);
  e.qpos.reserve(steps * static_cast<std::size_t>(e.nq));
  e.qvel.reserve(steps * static_cast<std::size_t>(e.nv));

  std::vector<double> obs = data.reset(seed);
  const SceneLayout& layout = env.layout();
  const double p_stack =
      layout.kind == SceneLayout::Kind::Cubes ? (layout.num_cubes == 1 ? 0.0 : uniform(rng, 0.0, 0.25)) : 0.5;
  const bool noisy = options.type == PlayOptions::Type::Noisy;
  const bool puzzle = layout.kind == SceneLayout::Kind::Puzzle;
  plan::PlanOracle oracle(options.noise, options.smoothing);
  markov::Oracle markov_oracle(arm_lo(layout.kind), arm_hi(layout.kind), puzzle);
  // noisy (§6.5): per-episode ξ ~ U(0, noise), action noise N(0, diag(ξ, ξ, ξ, 3ξ, 10ξ)²), random actions
  const double xi = noisy ? uniform(rng, 0.0, options.noise) : 0.0;
  const double p_random = options.p_random_action >= 0.0 ? options.p_random_action : puzzle ? 0.2 : 0.1;
  std::normal_distribution<double> normal(0.0, 1.0);
  const auto start = [&] {
    if (noisy)
      markov_oracle.reset(data.target(), rng);
    else
      start_oracle(oracle, data, options, rng);
  };
  start();
  for (int t = 0; t < options.steps; ++t) {
    Action a = noisy ? markov_oracle.action(env) : oracle.action(env);
    if (noisy) {
      static constexpr double kNoiseScale[5] = {1, 1, 1, 3, 10};
      for (std::size_t c = 0; c < 5; ++c) a[c] += normal(rng) * xi * kNoiseScale[c];
      if (uniform(rng, 0.0, 1.0) < p_random)
        for (double& v : a) v = uniform(rng, -1.0, 1.0);
    }
    for (double& v : a) v = std::clamp(v, -1.0, 1.0);
    for (const double v : obs) e.observations.push_back(static_cast<float>(v));
    for (const double v : a) e.actions.push_back(static_cast<float>(v));
    data.step(a);
    for (const double v : env.prev_qpos()) e.qpos.push_back(static_cast<float>(v));
    for (const double v : env.prev_qvel()) e.qvel.push_back(static_cast<float>(v));
    for (const int b : env.prev_button_states()) e.button_states.push_back(b);
    e.terminals.push_back(t + 1 == options.steps);
    obs = env.observation();  // before a possible new target: as the env's step returns it
    if (noisy ? markov_oracle.done() : oracle.done()) {
      ++e.subtasks;
      data.set_new_target(p_stack);
      start();
    }
  }
  e.rows = options.steps;
  return e;
}

}  // namespace

bool scene_episode_healthy(const PlayEpisode& episode) {
  for (int r = 0; r < episode.rows; ++r) {
    const float* q = episode.qpos.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(episode.nq);
    const float y = q[15], z = q[16];  // cube 0 at qpos 14..16
    if (y >= 0.29F || (y <= -0.3F && (z < 0.06F || z > 0.08F))) return false;
  }
  return true;
}

PlayEpisode generate_play_episode(DataCollectionEnv& data, std::uint64_t seed, const PlayOptions& options,
                                  std::mt19937_64& oracle_rng) {
  const bool scene = data.env().layout().kind == SceneLayout::Kind::Scene;
  constexpr int kMaxAttempts = 100;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    const std::uint64_t attempt_seed =
        seed ^ (static_cast<std::uint64_t>(attempt - 1) * 0x9E3779B97F4A7C15ULL);
    PlayEpisode e = run_episode(data, attempt_seed, options, oracle_rng);
    e.attempts = attempt;
    if (!scene || scene_episode_healthy(e)) return e;
  }
  throw NumericError(data.env().layout().label() + ": " + std::to_string(kMaxAttempts) +
                     " play episodes in a row failed the scene health check (§6.2) from seed " +
                     std::to_string(seed));
}

}  // namespace dipole::manipspace
