// The data generator loop (docs/ogbench.md, "Generator loop") on PlayEnv: `play` data with the plan
// oracles (docs/ogbench.md, "Plan oracles"), `noisy` data with the Markov oracles (docs/ogbench.md, "Markov
// oracles and noisy data"). One episode = reset, then exactly `steps` clipped oracle actions, a new target
// whenever the oracle is done; scene episodes failing the health check are redone. Episodes are independent
// (seeded by their index), so generate_play() runs them on several threads and still hands them over in index
// order. MuJoCo-only: no ATen here.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "markov_oracles.hpp"
#include "plan_oracles.hpp"
#include "play_env.hpp"

namespace dipole::manipspace::oracles {

/// One finished sub-task (the oracle reported done).
struct SubTaskRecord {
  TargetTask task = TargetTask::Cube;
  int start_step = 0;    ///< env step at which its oracle was reset
  int length = 0;        ///< env steps until done (the plan length L)
  bool success = false;  ///< the target held when the oracle was done (PlayEnv::target_reached)
  bool locked = false;   ///< drawer/window: its button was 0 (damping 1e6) at the start
};

struct PlayEpisode {
  int steps = 0, obs_dim = 0, state_dim = 0;
  int attempts = 1;                 ///< scene: 1 + the episodes rejected by the health check
  std::vector<float> observations;  ///< [steps + 1, obs_dim]: row t = observation of s_t (float32)
  std::vector<double> states;       ///< [steps + 1, state_dim]: [qpos, qvel, button states] of s_t
  std::vector<float> actions;       ///< [steps, 5]: a_t, clipped to [−1, 1]
  std::vector<SubTaskRecord> subtasks;
};

/// Which oracles make the data (docs/ogbench.md, "Markov oracles and noisy data"): `play` = plan oracles,
/// `noisy` = Markov oracles + action noise.
enum class DataType { Play, Noisy };
const char* to_string(DataType type);

struct GenerateConfig {
  ogbench::Category category = ogbench::Category::CubeSingle;
  DataType type = DataType::Play;
  int steps = PlayEnv::kEpisodeSteps;  ///< env steps per episode (rows per episode in the files)
  PlanConfig plan;  ///< play: noise 0.1, smoothing 0.5, segment dt 0.4 (docs/ogbench.md, "Generator loop")
  /// noisy: per episode ξ ~ U(0, action_noise); each action gets N(0, diag(ξ, ξ, ξ, 3ξ, 10ξ)²)
  /// (docs/ogbench.md, "Markov oracles and noisy data")
  double action_noise = 0.1;
  /// noisy: probability of replacing the action by U([−1, 1]^5); < 0: 0.2 for puzzle, else 0.1
  double p_random_action = -1.0;
  std::uint64_t seed = 0;
};

/// p_stack of an episode (docs/ogbench.md, "Generator loop"): cube-single 0, cube-double U(0, 0.25),
/// otherwise 0.5.
double episode_p_stack(ogbench::Category category, Rng& rng);
/// Scene health check (docs/ogbench.md, "Generator loop") over the stored rows s_0 … s_{steps−1}: false if
/// the cube's y ≥ 0.29, or y ≤ −0.3 with z outside [0.06, 0.08], in any row.
bool scene_episode_healthy(const PlayEpisode& episode, int cube_qpos = 14);

/// Episode `index` of a collection (seeds derived from (config.seed, index, attempt)).
PlayEpisode play_episode(PlayEnv& env, const GenerateConfig& config, std::int64_t index);

/// Episodes [first, first + count) on `threads` threads (each with its own PlayEnv); `sink` is
/// called on the calling thread in index order. `stop`, when set, ends the run after the episodes
/// already handed over (returns how many were). Exceptions of a worker are rethrown here.
std::int64_t generate_play(const GenerateConfig& config, std::int64_t first, std::int64_t count, int threads,
                           const std::function<void(std::int64_t, PlayEpisode&&)>& sink,
                           const std::atomic<bool>* stop = nullptr);

}  // namespace dipole::manipspace::oracles
