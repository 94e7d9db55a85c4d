// Jaco (plugins/benchmarks/dmc/jaco.cpp): reset, observation, timing (plugins/benchmarks/dmc/README.md,
// "jaco"), reward relabelling (docs/exorl.md, "Reward relabelling") and the random-policy return
// (docs/exorl.md, "Reference returns of simple policies"), on whole episodes.
#include <gtest/gtest.h>

#ifdef DIPOLE_HAVE_MUJOCO

#include <mujoco/mujoco.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "jaco.hpp"
#include "jaco_test_util.hpp"

namespace dipole::dmc {
namespace {

using test::random_action;
using test::reset_episode;
using test::step_episode;

constexpr double kTwoPi = 2.0 * 3.141592653589793;

std::unique_ptr<JacoTask> make(const char* name) {
  auto task = make_jaco_task(name);
  return std::unique_ptr<JacoTask>(static_cast<JacoTask*>(task.release()));
}

int pinch_site(const Physics& physics) {
  return mj_name2id(physics.model(), mjOBJ_SITE, "pinchsite");
}

// ---- reset -------------------------------------------------------------------------------------

TEST(JacoReset, PinchSiteInTheSpawnBoxAtRestWithEqualFingers) {
  const auto task = make("reach_top_left");
  Physics physics = task->make_physics();
  const mjModel* m = physics.model();
  const mjData* d = physics.data();
  const int site = pinch_site(physics);
  Random random(5);
  for (int episode = 0; episode < 20; ++episode) {
    reset_episode(*task, physics, random);
    const mjtNum* p = d->site_xpos + 3 * site;
    EXPECT_TRUE(p[0] >= -0.2 - 1e-9 && p[0] <= 0.2 + 1e-9) << p[0];
    EXPECT_TRUE(p[1] >= -0.2 - 1e-9 && p[1] <= 0.2 + 1e-9) << p[1];
    EXPECT_TRUE(p[2] >= 0.02 - 1e-9 && p[2] <= 0.4 + 1e-9) << p[2];
    EXPECT_NEAR(d->site_xmat[9 * site + 8], -1.0, 1e-9);  // pointing down: site z axis = −world z
    for (int i = 0; i < m->nv; ++i) EXPECT_EQ(d->qvel[i], 0.0);
    EXPECT_EQ(d->qpos[6], d->qpos[7]);
    EXPECT_EQ(d->qpos[6], d->qpos[8]);
    EXPECT_TRUE(d->qpos[6] >= 0.15 && d->qpos[6] <= 1.35) << d->qpos[6];
    // arm joints canonicalised into their sampling intervals
    for (int j = 0; j < 6; ++j) {
      const double lo = m->jnt_limited[j] ? m->jnt_range[2 * j] : 0.0;
      const double hi = m->jnt_limited[j] ? m->jnt_range[2 * j + 1] : kTwoPi;
      EXPECT_TRUE(d->qpos[j] >= lo && d->qpos[j] < hi) << "joint " << j << ": " << d->qpos[j];
    }
    for (int i = 0; i < m->nu; ++i) EXPECT_EQ(d->ctrl[i], 0.0);
    EXPECT_EQ(d->time, 0.0);
    for (int w = 0; w < mjNWARNING; ++w) EXPECT_EQ(d->warning[w].number, 0) << "MuJoCo warning " << w;
  }
}

TEST(JacoReset, MeasuredFigures) {
  // Not timed assertions: IK failures per reset and timings are printed for the report; what is
  // asserted is that no reset failed and that retries stay rare (the spec measured ~1.3 per reset).
  const auto task = make("reach_top_left");
  Physics physics = task->make_physics();
  Random random(2026);
  constexpr int kResets = 100;
  int failed = 0, rejected = 0, samples = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kResets; ++i) {
    const JacoResetStats stats = reset_episode(*task, physics, random);
    failed += stats.failed_ik_attempts;
    rejected += stats.rejected_samples;
    samples += stats.samples;
  }
  const double reset_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / kResets;
  const auto compile_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) task->make_physics();
  const double compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - compile_start).count() / 5;
  std::printf(
      "[jaco] %d resets: %.2f failed IK attempts per reset, %d samples, %d rejected; reset %.2f ms, "
      "model compile %.2f ms\n",
      kResets, static_cast<double>(failed) / kResets, samples, rejected, reset_ms, compile_ms);
  EXPECT_LT(static_cast<double>(failed) / kResets, 4.0);
  EXPECT_LE(samples, 2 * kResets);
}

// ---- observation -------------------------------------------------------------------------------

TEST(JacoObservation, LayoutOfTheSpec) {
  const auto task = make("reach_top_right");
  Physics physics = task->make_physics();
  const mjModel* m = physics.model();
  const mjData* d = physics.data();
  const int site = pinch_site(physics);
  Random random(8);
  reset_episode(*task, physics, random);
  std::array<float, JacoTask::kObsDim> obs{};
  for (int t = 0; t <= 30; ++t) {
    if (t > 0) step_episode(*task, physics, random_action(random));
    task->observation(physics, obs.data());
    for (int j = 0; j < 6; ++j) {  // 0–11 (sin, cos) pairs of the arm joints
      EXPECT_NEAR(std::hypot(obs[2 * j], obs[2 * j + 1]), 1.0, 1e-6);
      EXPECT_FLOAT_EQ(obs[2 * j], static_cast<float>(std::sin(d->qpos[j])));
      EXPECT_FLOAT_EQ(obs[2 * j + 1], static_cast<float>(std::cos(d->qpos[j])));
    }
    for (int j = 0; j < 6; ++j) {  // 12–17 symlog1p of the torque about the joint axis (z of the body)
      const double tau = d->sensordata[3 * j + 2];
      EXPECT_FLOAT_EQ(obs[12 + j], static_cast<float>(std::copysign(std::log1p(std::abs(tau)), tau)));
      EXPECT_EQ(m->jnt_axis[3 * j + 2], 1.0);
    }
    for (int j = 0; j < 6; ++j) EXPECT_EQ(obs[18 + j], static_cast<float>(d->qvel[j]));  // 18–23
    for (int f = 0; f < 3; ++f) {
      EXPECT_EQ(obs[24 + f], static_cast<float>(d->qpos[6 + f]));  // 24–26 finger angles
      EXPECT_EQ(obs[27 + f], static_cast<float>(d->qvel[6 + f]));  // 27–29 finger velocities
    }
    for (int k = 0; k < 3; ++k) EXPECT_EQ(obs[30 + k], static_cast<float>(d->site_xpos[3 * site + k]));
    for (int k = 0; k < 9; ++k) EXPECT_EQ(obs[33 + k], static_cast<float>(d->site_xmat[9 * site + k]));
    for (int r = 0; r < 3; ++r)  // 33–41 row-major rotation: R Rᵀ = I
      for (int c = 0; c < 3; ++c) {
        double dot = 0.0;
        for (int k = 0; k < 3; ++k) dot += static_cast<double>(obs[33 + 3 * r + k]) * obs[33 + 3 * c + k];
        EXPECT_NEAR(dot, r == c ? 1.0 : 0.0, 1e-6);
      }
  }
  // after 30 random steps something moved and some torque is non-zero
  double torque = 0.0;
  for (int j = 0; j < 6; ++j) torque += std::abs(obs[12 + j]);
  EXPECT_GT(torque, 0.0);
}

// ---- episodes ----------------------------------------------------------------------------------

struct Episode {
  std::vector<float> observations;  // [(T + 1) · 42]
  std::vector<double> rewards;      // [T]
  std::vector<double> states;       // [T · 18], after each step
  std::vector<double> times;        // [T]
};

Episode run_episode(const JacoTask& task, Physics& physics, std::uint64_t seed, std::uint64_t action_seed) {
  Random random(seed), actions(action_seed);
  reset_episode(task, physics, random);
  Episode episode;
  std::array<float, JacoTask::kObsDim> obs{};
  task.observation(physics, obs.data());
  episode.observations.insert(episode.observations.end(), obs.begin(), obs.end());
  std::vector<double> state(static_cast<std::size_t>(physics.state_dim()));
  for (std::int64_t t = 0; t < task.episode_steps(); ++t) {
    episode.rewards.push_back(step_episode(task, physics, random_action(actions)));
    task.observation(physics, obs.data());
    episode.observations.insert(episode.observations.end(), obs.begin(), obs.end());
    physics.get_state(state.data());
    episode.states.insert(episode.states.end(), state.begin(), state.end());
    episode.times.push_back(physics.data()->time);
  }
  return episode;
}

TEST(JacoEpisode, SameSeedSameEpisode) {
  const auto task = make("reach_top_left");
  Physics first = task->make_physics();
  Physics second = task->make_physics();
  const Episode a = run_episode(*task, first, 17, 4);
  const Episode b = run_episode(*task, second, 17, 4);
  EXPECT_EQ(a.observations, b.observations);
  EXPECT_EQ(a.rewards, b.rewards);
  // the same physics reused for the same seed (mj_resetData clears everything that matters)
  const Episode c = run_episode(*task, first, 17, 4);
  EXPECT_EQ(a.observations, c.observations);
  const Episode other = run_episode(*task, first, 18, 4);
  EXPECT_NE(std::vector<float>(a.observations.begin(), a.observations.begin() + 42),
            std::vector<float>(other.observations.begin(), other.observations.begin() + 42));
}

TEST(JacoEpisode, LengthTimingAndRelabelling) {
  const auto task = make("reach_top_left");
  Physics physics = task->make_physics();
  const Episode episode = run_episode(*task, physics, 3, 9);
  ASSERT_EQ(episode.rewards.size(), 250U);
  // docs/exorl.md, "Step, reset and state": composer ends the episode at time ≥ 10 s, first reached at step
  // 250 (n = 20 × 0.002)
  EXPECT_LT(episode.times[248], 10.0);
  EXPECT_GE(episode.times[249], 10.0);
  EXPECT_NEAR(episode.times[0], 0.04, 1e-12);
  // docs/exorl.md, "Reward relabelling": the reward relabelled from each stored state equals the online
  // reward exactly
  Physics fresh = task->make_physics();
  double max_reward = 0.0;
  for (std::size_t t = 0; t < episode.rewards.size(); ++t) {
    const double* state = episode.states.data() + 18 * t;
    EXPECT_EQ(task->Task::reward_from_state(fresh, state), episode.rewards[t]) << "full forward, step " << t;
    EXPECT_EQ(reward_from_state(*task, fresh, state), episode.rewards[t]) << "kinematics only, step " << t;
    EXPECT_GE(episode.rewards[t], 0.0);
    EXPECT_LE(episode.rewards[t], 1.0);
    max_reward = std::max(max_reward, episode.rewards[t]);
  }
  // position-stage observation entries recomputed from the state equal the online ones
  std::array<float, JacoTask::kObsDim> obs{};
  for (std::size_t t = 0; t < episode.rewards.size(); t += 50) {
    fresh.set_state(episode.states.data() + 18 * t);
    fresh.forward_without_actuation();
    task->observation(fresh, obs.data());
    const float* online = episode.observations.data() + 42 * (t + 1);
    for (int i = 0; i < 42; ++i) {
      if (i >= 12 && i <= 17) continue;  // torques are acceleration-stage: online from the last sub-step
      EXPECT_EQ(obs[static_cast<std::size_t>(i)], online[i]) << "step " << t << " entry " << i;
    }
  }
}

TEST(JacoEpisode, RandomPolicyReturnNearTheSpec) {
  // docs/exorl.md, "Reference returns of simple policies" [meas]: top_left 10.8 ± 25.7, top_right 17.4 ± 32.9
  // per episode (heavy-tailed, range 0–172). 20 episodes: the mean's standard error is ≈ 6–7, so a wide band;
  // reward ≡ 0 or ≡ 1 would fail.
  for (const char* name : {"reach_top_left", "reach_top_right"}) {
    const auto task = make(name);
    Physics physics = task->make_physics();
    constexpr int kEpisodes = 20;
    double total = 0.0, largest = 0.0;
    long steps = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int e = 0; e < kEpisodes; ++e) {
      Random random(static_cast<std::uint64_t>(100 + e));
      reset_episode(*task, physics, random);
      double ret = 0.0;
      for (std::int64_t t = 0; t < task->episode_steps(); ++t, ++steps)
        ret += step_episode(*task, physics, random_action(random));
      EXPECT_GE(ret, 0.0);
      EXPECT_LE(ret, 250.0);
      for (int w = 0; w < mjNWARNING; ++w)
        EXPECT_EQ(physics.data()->warning[w].number, 0) << "MuJoCo warning " << w;
      total += ret;
      largest = std::max(largest, ret);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double mean = total / kEpisodes;
    std::printf(
        "[jaco] %s random policy: mean return %.2f over %d episodes (max %.1f); %.0f env steps/s "
        "including resets\n",
        name, mean, kEpisodes, largest, static_cast<double>(steps) / seconds);
    EXPECT_GT(mean, 0.3) << name;
    EXPECT_LT(mean, 50.0) << name;
  }
}

}  // namespace
}  // namespace dipole::dmc

#endif  // DIPOLE_HAVE_MUJOCO
