// dipole_bench_locomaze: per OGBench locomotion environment, environment steps per second against
// the raw bound set by MuJoCo (mj_step per second / 5, the frame skip), their ratio and the reset
// cost. An environment step is LocoEnv::step (physics, observation, success, reward), without the
// tensor wrapping of the plugin; actions are uniform random in [−1, 1], drawn before timing.
//   dipole_bench_locomaze [env steps timed, default 4000] [env id substring: only matching envs]
// Timing: the best of three alternating rounds of each loop (the machine is shared).
#include <mujoco/mujoco.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "loco_env.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using dipole::locomaze::LocoEnv;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::int64_t timed_steps = argc > 1 ? std::atoll(argv[1]) : 4000;
    const std::string only = argc > 2 ? argv[2] : "";
    const std::vector<std::string> envs = {
        "pointmaze-medium-singletask-v0",    "pointmaze-giant-singletask-v0",
        "antmaze-medium-singletask-v0",      "antmaze-giant-singletask-v0",
        "humanoidmaze-medium-singletask-v0", "humanoidmaze-large-singletask-v0",
        "humanoidmaze-giant-singletask-v0",  "antsoccer-arena-singletask-v0",
        "antsoccer-medium-singletask-v0"};
    std::printf("%-36s %10s %12s %10s %7s %9s\n", "env", "env st/s", "raw st/s/5", "mj_step/s", "ratio",
                "reset ms");
    constexpr int kFrameSkip = 5;
    for (const auto& id : envs) {
      if (!only.empty() && id.find(only) == std::string::npos) continue;
      LocoEnv env(id, dipole::locomaze::RewardTiming::Pre, dipole::locomaze::ResetQuaternion::Raw);
      const int nu = env.scene().action_dim();
      std::mt19937_64 rng(12345);
      std::uniform_real_distribution<double> u(-1.0, 1.0);
      std::vector<double> actions(static_cast<std::size_t>(timed_steps * nu));
      for (double& a : actions) a = u(rng);
      // Episodes of at most 1000 steps so the agents see fresh starts.
      const std::int64_t episode = std::min<std::int64_t>(1000, env.max_episode_steps());
      double reset_seconds = 0.0;
      int resets = 0;
      const auto time_env = [&] {
        double seconds = 0.0;
        for (std::int64_t t = 0; t < timed_steps;) {
          const auto r0 = Clock::now();
          env.reset(static_cast<std::uint64_t>(resets++));
          reset_seconds += seconds_since(r0);
          const std::int64_t chunk = std::min(episode, timed_steps - t);
          const auto s0 = Clock::now();
          for (std::int64_t k = 0; k < chunk; ++k, ++t) env.step(actions.data() + t * nu);
          seconds += seconds_since(s0);
        }
        return static_cast<double>(timed_steps) / seconds;
      };
      const auto time_raw = [&] {
        mjModel* m = env.scene().model();
        mjData* d = env.scene().data();
        double seconds = 0.0;
        for (std::int64_t t = 0, e = 0; t < timed_steps; ++e) {
          env.reset(static_cast<std::uint64_t>(e));
          const std::int64_t chunk = std::min(episode, timed_steps - t);
          const auto s0 = Clock::now();
          for (std::int64_t k = 0; k < chunk; ++k, ++t) {
            for (int i = 0; i < m->nu; ++i) d->ctrl[i] = actions[static_cast<std::size_t>(t * nu + i)];
            for (int s = 0; s < kFrameSkip; ++s) mj_step(m, d);
          }
          seconds += seconds_since(s0);
        }
        return static_cast<double>(timed_steps * kFrameSkip) / seconds;
      };
      double env_rate = 0.0, mj_rate = 0.0;
      for (int round = 0; round < 3; ++round) {
        env_rate = std::max(env_rate, time_env());
        mj_rate = std::max(mj_rate, time_raw());
      }
      std::printf("%-36s %10.0f %12.0f %10.0f %7.3f %9.3f\n", id.c_str(), env_rate, mj_rate / kFrameSkip,
                  mj_rate, env_rate / (mj_rate / kFrameSkip), 1e3 * reset_seconds / resets);
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
