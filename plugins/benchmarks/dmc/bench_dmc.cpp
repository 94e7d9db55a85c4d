// dipole_bench_dmc: per DMC task, environment steps per second against the raw bound set by MuJoCo
// (physics steps per second / n, n = physics steps per action), their ratio, the reset cost, and
// the return of uniform random actions (docs/exorl.md, "Reference returns of simple policies"). No LibTorch:
// an environment step is the Task-layer sequence dmc_environment.cpp runs (set_action, legacy step, warning
// check, reward, observation), without the tensor wrapping.
//   dipole_bench_dmc [episodes per task for the returns, default 10] [env steps timed, default 4000]
//                    [domain: only this domain's tasks]
// Timing: the best of three alternating rounds of each loop (the machine is shared).
#include <mujoco/mujoco.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "dmc_task.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using dipole::dmc::Physics;
using dipole::dmc::Random;
using dipole::dmc::Task;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void reset(const Task& task, Physics& physics, std::uint64_t seed) {
  physics.reset_data();
  physics.forward_without_actuation();
  Random random(seed);
  auto before = physics.warning_counts();
  task.initialize_episode(physics, random);
  physics.check_warnings(before, "reset (initialize_episode)");
  before = physics.warning_counts();
  physics.forward_without_actuation();
  physics.check_warnings(before, "reset");
}

/// One environment step as dmc_environment.cpp does it; returns the reward.
double step(const Task& task, Physics& physics, const float* action, float* observation) {
  physics.set_action(action, task.action_dim());
  const auto before = physics.warning_counts();
  physics.legacy_step(task.physics_steps_per_action());
  physics.check_warnings(before, "step");
  const double reward = task.reward(physics);
  task.observation(physics, observation);
  return reward;
}

void random_action(Random& random, std::vector<float>& action) {
  for (float& a : action) a = static_cast<float>(random.uniform(-1.0, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int episodes = argc > 1 ? std::atoi(argv[1]) : 10;
    const std::int64_t timed_steps = argc > 2 ? std::atoll(argv[2]) : 4000;
    const std::string only = argc > 3 ? argv[3] : "";
    std::printf("%-22s %10s %12s %10s %7s %10s %9s %8s %9s %11s\n", "task", "env st/s", "raw st/s/n",
                "mj_step/s", "ratio", "reset ms", "return", "sd", "min-max", "relabel err");
    for (const auto& [domain, name] : dipole::dmc::task_names()) {
      if (!only.empty() && domain != only) continue;
      const auto task = dipole::dmc::make_task(domain, name);
      Physics physics = task->make_physics();
      const int n = task->physics_steps_per_action();
      std::vector<float> action(static_cast<std::size_t>(task->action_dim()));
      std::vector<float> obs(static_cast<std::size_t>(task->obs_dim()));
      Random random(12345);

      // Environment steps (resets excluded, timed separately), random actions drawn before timing.
      std::vector<std::vector<float>> actions(static_cast<std::size_t>(timed_steps));
      for (auto& a : actions) {
        a.resize(action.size());
        random_action(random, a);
      }
      double reset_seconds = 0.0;
      int reset_count = 0;
      const auto time_env_steps = [&] {
        double step_seconds = 0.0;
        for (std::int64_t t = 0; t < timed_steps;) {
          const auto r0 = Clock::now();
          reset(*task, physics, static_cast<std::uint64_t>(reset_count++));
          reset_seconds += seconds_since(r0);
          const std::int64_t chunk = std::min(task->episode_steps(), timed_steps - t);
          const auto s0 = Clock::now();
          for (std::int64_t k = 0; k < chunk; ++k, ++t)
            step(*task, physics, actions[static_cast<std::size_t>(t)].data(), obs.data());
          step_seconds += seconds_since(s0);
        }
        return static_cast<double>(timed_steps) / step_seconds;
      };
      // Raw MuJoCo: the same number of physics steps with mj_step alone, same actions.
      const std::int64_t physics_steps = timed_steps * n;
      const auto time_mj_steps = [&] {
        double raw_seconds = 0.0;
        for (std::int64_t p = 0, e = 0; p < physics_steps; ++e) {
          reset(*task, physics, static_cast<std::uint64_t>(e));
          const std::int64_t chunk = std::min(task->episode_steps() * n, physics_steps - p);
          const auto s0 = Clock::now();
          for (std::int64_t k = 0; k < chunk; ++k, ++p) {
            if (k % n == 0)
              physics.set_action(actions[static_cast<std::size_t>(p / n)].data(), task->action_dim());
            mj_step(physics.model(), physics.data());
          }
          raw_seconds += seconds_since(s0);
        }
        return static_cast<double>(physics_steps) / raw_seconds;
      };
      double env_rate = 0.0, mj_rate = 0.0;
      for (int round = 0; round < 3; ++round) {
        env_rate = std::max(env_rate, time_env_steps());
        mj_rate = std::max(mj_rate, time_mj_steps());
      }

      // Returns of uniform random actions, and the relabelling error on the same episodes (docs/exorl.md,
      // "Reward relabelling").
      Physics relabel = task->make_physics();
      std::vector<double> state(static_cast<std::size_t>(physics.state_dim()));
      double sum = 0.0, sum2 = 0.0, lo = 1e300, hi = -1e300, relabel_error = 0.0;
      for (int e = 0; e < episodes; ++e) {
        reset(*task, physics, 1000 + static_cast<std::uint64_t>(e));
        double ret = 0.0;
        for (std::int64_t k = 0; k < task->episode_steps(); ++k) {
          random_action(random, action);
          const double r = step(*task, physics, action.data(), obs.data());
          physics.get_state(state.data());
          relabel_error = std::max(
              relabel_error, std::abs(dipole::dmc::reward_from_state(*task, relabel, state.data()) - r));
          ret += r;
        }
        sum += ret;
        sum2 += ret * ret;
        lo = std::min(lo, ret);
        hi = std::max(hi, ret);
      }
      const double mean = episodes > 0 ? sum / episodes : 0.0;
      const double sd =
          episodes > 1 ? std::sqrt(std::max(0.0, (sum2 - episodes * mean * mean) / (episodes - 1))) : 0.0;
      std::printf("%-22s %10.0f %12.0f %10.0f %7.3f %10.3f %9.1f %8.1f %4.0f-%-4.0f %11.1e\n",
                  (domain + "/" + name).c_str(), env_rate, mj_rate / n, mj_rate, env_rate / (mj_rate / n),
                  1e3 * reset_seconds / reset_count, mean, sd, lo, hi, relabel_error);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
