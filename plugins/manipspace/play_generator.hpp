// The data generator loop of ogbench_manipulation.md §6.2: one episode of plan-oracle (`play`) or
// Markov-oracle (`noisy`, §6.5) behaviour in the data-collection env, as the rows OGBench stores (observation
// of s_t, clipped a_t, terminal flag, qpos/qvel/button states of s_t), with the scene health rejection.
// Writing the rows to .npz files is the `ogbench` recorder's job (plugins/ogbench). MuJoCo-only: no ATen
// here.
#pragma once

#include <cstdint>
#include <vector>

#include "collect_env.hpp"

namespace dipole::manipspace {

struct PlayEpisode {
  int rows = 0;
  int obs_dim = 0, nq = 0, nv = 0, num_buttons = 0;
  std::vector<float> observations;          ///< [rows, obs_dim]
  std::vector<float> actions;               ///< [rows, 5], in [−1, 1]
  std::vector<bool> terminals;              ///< [rows], true on the last row only
  std::vector<float> qpos, qvel;            ///< [rows, nq], [rows, nv]
  std::vector<std::int64_t> button_states;  ///< [rows, num_buttons] (scene, puzzle)
  int subtasks = 0;                         ///< oracle sub-tasks finished
  int attempts = 1;                         ///< 1 + scene episodes rejected by the health check
};

struct PlayOptions {
  enum class Type { Play, Noisy };
  Type type = Type::Play;                        ///< play: plan oracles (§6.3–6.4); noisy: Markov (§6.5)
  int steps = DataCollectionEnv::kEpisodeSteps;  ///< rows per episode (1001 in the official files)
  double noise = 0.1;             ///< play: plan noise (§6.3); noisy: ξ ~ U(0, noise) per episode (§6.5)
  double smoothing = 0.5;         ///< play: plan noise smoothing σ, in steps
  bool jitter = true;             ///< play: keyframe time jitter (§6.4)
  double p_random_action = -1.0;  ///< noisy: uniform-action probability; < 0: 0.2 puzzle, else 0.1
};

/// §6.2 scene health: reject when a cube has y ≥ 0.29, or y ≤ −0.3 with z outside [0.06, 0.08].
bool scene_episode_healthy(const PlayEpisode& episode);

/// One episode. The env is reset from `seed` (a rejected scene episode is redone with a derived
/// seed); oracle noise, heights, final poses and p_stack come from `oracle_rng`. p_stack:
/// cube-single 0, cube-N U(0, 0.25), scene 0.5.
PlayEpisode generate_play_episode(DataCollectionEnv& data, std::uint64_t seed, const PlayOptions& options,
                                  std::mt19937_64& oracle_rng);

}  // namespace dipole::manipspace
