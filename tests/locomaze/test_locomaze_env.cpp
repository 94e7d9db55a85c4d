// OGBench single-task locomotion env (plugins/benchmarks/locomaze): resets (noise, reset-quaternion flag, the
// humanoid rejection loop), success at the tolerance boundary, reward/termination with both
// timings, the time limit, teleports, determinism per seed, and the `ogbench_locomaze` environment
// through the registry (docs/ogbench.md, "Locomotion environments").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <dipole/core/registry.hpp>
#include <dipole/environment.hpp>
#include <dipole/errors.hpp>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "loco_env.hpp"

namespace dipole::locomaze {
namespace {

double quat_norm(const double* q) {
  return std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
}

TEST(LocomazeReset, AntStartsAtTheTaskCellWithItsNoiseAndTheQuaternionFlag) {
  LocoEnv raw("antmaze-large-singletask-task2-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  LocoEnv unit("antmaze-large-singletask-task2-v0", RewardTiming::Pre, ResetQuaternion::Normalized);
  const auto start = raw.task().agent_init_xy;  // (12, 16)
  double lo[2] = {1, 1}, hi[2] = {-1, -1}, max_norm_gap = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const auto obs = raw.reset(seed);
    ASSERT_EQ(obs.size(), 29U);
    for (int k = 0; k < 2; ++k) {
      const double d = obs[static_cast<std::size_t>(k)] - start[static_cast<std::size_t>(k)];
      lo[k] = std::min(lo[k], d);
      hi[k] = std::max(hi[k], d);
    }
    EXPECT_GE(obs[2], 0.65);
    EXPECT_LE(obs[2], 0.85);
    EXPECT_NEAR(obs[3], 1.0, 0.1);
    for (int k = 4; k < 7; ++k) EXPECT_NEAR(obs[static_cast<std::size_t>(k)], 0.0, 0.1);
    max_norm_gap = std::max(max_norm_gap, std::abs(quat_norm(obs.data() + 3) - 1.0));
    // The raw observation keeps the noisy quaternion, as the state the recorder stores; the
    // normalized convention gives the unit quaternion of the same draw.
    const auto state = raw.state();
    for (int i = 0; i < 15; ++i)
      EXPECT_EQ(state[static_cast<std::size_t>(i)], obs[static_cast<std::size_t>(i)]);
    const auto obs_unit = unit.reset(seed);
    EXPECT_NEAR(quat_norm(obs_unit.data() + 3), 1.0, 1e-12);
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(obs_unit[static_cast<std::size_t>(3 + k)],
                  obs[static_cast<std::size_t>(3 + k)] / quat_norm(obs.data() + 3), 1e-12);
    EXPECT_EQ(obs_unit[0], obs[0]);
    EXPECT_EQ(obs_unit[20], obs[20]);
  }
  for (int k = 0; k < 2; ++k) {  // U(−1, 1) per axis: 200 draws cover most of the interval
    EXPECT_GE(lo[k], -1.0);
    EXPECT_LT(lo[k], -0.9);
    EXPECT_LE(hi[k], 1.0);
    EXPECT_GT(hi[k], 0.9);
  }
  EXPECT_GT(max_norm_gap, 0.05);  // the unnormalised quaternion really is off the unit sphere
  // After a step the engine's (normalised) quaternion is observed under either flag.
  const std::vector<double> zero(8, 0.0);
  raw.reset(3);
  raw.step(zero.data());
  EXPECT_NEAR(quat_norm(raw.observation().data() + 3), 1.0, 1e-12);
}

TEST(LocomazeReset, SoccerBallAndHumanoidRejectionLoop) {
  LocoEnv soccer("antsoccer-arena-singletask-task4-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const auto obs = soccer.reset(seed);
    ASSERT_EQ(obs.size(), 42U);
    EXPECT_LE(std::abs(obs[0] - 20.0), 1.0);
    EXPECT_LE(std::abs(obs[1] - 20.0), 1.0);
    EXPECT_LE(std::abs(obs[15] - 0.0), 1.0);  // ball xy around cell (1, 1)
    EXPECT_LE(std::abs(obs[16] - 0.0), 1.0);
    EXPECT_NEAR(obs[17], 0.5, 0.1);
  }
  // The ball comes to rest at z ≈ 0.2587 (radius 0.25 plus the contact margins).
  const std::vector<double> zero(8, 0.0);
  soccer.reset(1);
  for (int t = 0; t < 20; ++t) soccer.step(zero.data());
  EXPECT_NEAR(soccer.observation()[17], 0.2587, 2e-3);

  LocoEnv humanoid("humanoidmaze-medium-singletask-task1-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  const mjModel* m = humanoid.scene().model();
  int rejections = 0;
  const int resets = 300;
  for (std::uint64_t seed = 0; seed < static_cast<std::uint64_t>(resets); ++seed) {
    humanoid.reset(seed);
    rejections += humanoid.reset_rejections();
    const auto s = humanoid.state();
    EXPECT_EQ(s[2], 1.5);
    for (int k = 3; k < 7; ++k) EXPECT_GE(s[static_cast<std::size_t>(k)], 0.0);
    EXPECT_NEAR(quat_norm(s.data() + 3), 1.0, 1e-12);
    for (int j = 1; j < m->njnt; ++j) {
      const double q = s[static_cast<std::size_t>(m->jnt_qposadr[j])];
      EXPECT_GE(q, m->jnt_range[2 * j]);
      EXPECT_LE(q, m->jnt_range[2 * j + 1]);
    }
    EXPECT_LE(std::abs(s[0]), 1.0);
    EXPECT_LE(std::abs(s[1]), 1.0);
  }
  // About 1.35 attempts per reset on average (0.35 rejections).
  const double mean = static_cast<double>(rejections) / resets;
  EXPECT_GT(mean, 0.15);
  EXPECT_LT(mean, 0.7);
}

TEST(LocomazeTask, SuccessIsWithinTheToleranceInclusive) {
  LocoEnv env("humanoidmaze-medium-singletask-task3-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  env.reset(0);
  mjData* d = env.scene().data();
  d->qpos[0] = 4.5;  // goal (4, 12): distance exactly 0.5
  d->qpos[1] = 12.0;
  EXPECT_TRUE(env.success_now());
  d->qpos[0] = 4.5 + 1e-9;
  EXPECT_FALSE(env.success_now());
  LocoEnv soccer("antsoccer-arena-singletask-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  soccer.reset(0);
  EXPECT_FALSE(soccer.success_now());
  soccer.scene().data()->qpos[0] = 0.0;  // the agent at the goal (0, 20) does not count: the ball does
  soccer.scene().data()->qpos[1] = 20.0;
  EXPECT_FALSE(soccer.success_now());
  soccer.scene().data()->qpos[15] = 0.3;
  soccer.scene().data()->qpos[16] = 19.7;
  EXPECT_TRUE(soccer.success_now());
}

TEST(LocomazeTask, PreTimingRewardsTheStateBeforeTheStepPostTheStateAfter) {
  // Point 1.1 m below the goal (20, 20) of pointmaze-medium task1 (tolerance 1.0), moving up 0.2
  // per step: the first step enters the goal.
  for (const RewardTiming timing : {RewardTiming::Pre, RewardTiming::Post}) {
    SCOPED_TRACE(timing == RewardTiming::Pre ? "pre" : "post");
    LocoEnv env("pointmaze-medium-singletask-task1-v0", timing, ResetQuaternion::Raw);
    env.seed(0);
    const auto obs = env.reset_at({20.0, 18.9}, {0, 0}, {20.0, 20.0});
    EXPECT_EQ(obs[1], 18.9);
    const double up[2] = {0.0, 1.0};
    const auto first = env.step(up);
    EXPECT_NEAR(env.observation()[1], 19.1, 1e-12);
    EXPECT_EQ(first.success, timing == RewardTiming::Post);
    EXPECT_EQ(first.terminated, timing == RewardTiming::Post);
    EXPECT_EQ(first.reward, timing == RewardTiming::Post ? 0.0 : -1.0);
    const auto second = env.step(up);
    EXPECT_TRUE(second.success);
    EXPECT_TRUE(second.terminated);
    EXPECT_EQ(second.reward, 0.0);
    EXPECT_FALSE(second.truncated);
  }
}

TEST(LocomazeTask, TruncatesAtTheTimeLimitAndAFinalStepEntryFailsUnderPre) {
  for (const RewardTiming timing : {RewardTiming::Pre, RewardTiming::Post}) {
    LocoEnv env("pointmaze-medium-singletask-task1-v0", timing, ResetQuaternion::Raw);
    env.seed(1);
    // Stand still 1.1 m from the goal for 999 steps, then enter it on the 1000th (the last allowed).
    env.reset_at({20.0, 18.9}, {0, 0}, {20.0, 20.0});
    const double still[2] = {0.0, 0.0}, up[2] = {0.0, 1.0};
    StepOutcome out;
    for (int t = 0; t < 999; ++t) {
      out = env.step(still);
      ASSERT_FALSE(out.truncated);
      ASSERT_FALSE(out.success);
    }
    out = env.step(up);
    EXPECT_TRUE(out.truncated);
    EXPECT_EQ(env.steps(), 1000);
    // The evaluation metric is the success of the last step: a failure under pre, a success under post.
    EXPECT_EQ(out.success, timing == RewardTiming::Post);
  }
}

TEST(LocomazeTask, TeleportReturnsThePreJumpObservation) {
  LocoEnv env("pointmaze-teleport-singletask-task1-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  env.seed(5);
  env.reset_at({18.5, 12.0}, {0, 0}, {0.0, 24.0});
  const double right[2] = {1.0, 0.0};
  const auto out = env.step(right);  // to (18.7, 12): 1.3 m from the inbound disc (20, 12)
  EXPECT_TRUE(out.teleported);
  EXPECT_NEAR(env.observation()[0], 18.7, 1e-12);
  const auto s = env.state();
  bool at_outbound = false;
  for (const auto& o : kTeleportOut) at_outbound = at_outbound || (s[0] == o[0] && s[1] == o[1]);
  EXPECT_TRUE(at_outbound);
}

TEST(LocomazeTask, SameSeedSameEpisodeDifferentSeedDifferentStart) {
  for (const char* id : {"antsoccer-medium-singletask-task2-v0", "humanoidmaze-large-singletask-task4-v0",
                         "antmaze-giant-singletask-task5-v0", "pointmaze-large-singletask-task3-v0"}) {
    SCOPED_TRACE(id);
    LocoEnv a(id, RewardTiming::Pre, ResetQuaternion::Raw), b(id, RewardTiming::Pre, ResetQuaternion::Raw);
    const int nu = a.scene().action_dim();
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> action(static_cast<std::size_t>(nu));
    EXPECT_EQ(a.reset(42), b.reset(42));
    for (int t = 0; t < 20; ++t) {
      for (double& x : action) x = u(rng);
      a.step(action.data());
      b.step(action.data());
    }
    EXPECT_EQ(a.observation(), b.observation());
    EXPECT_EQ(a.state(), b.state());
    EXPECT_NE(a.reset(43), b.reset(42));
  }
}

// ---- through the registry ---------------------------------------------------------------------------

std::shared_ptr<Environment> make_env(const std::string& id, const std::string& timing = "pre") {
  static const Registry registry = Registry::with_default_plugins();
  Params params("environment", "ogbench_locomaze");
  params.set("env", id);
  params.set("reward_timing", timing);
  params.set("reset_quaternion", "raw");
  BuildContext ctx;
  ctx.section = "environment";
  return std::dynamic_pointer_cast<Environment>(
      registry.create(Kind::Environment, "ogbench_locomaze", params, ctx));
}

TEST(LocomazePlugin, HumanoidmazeAndAntsoccerThroughTheRegistry) {
  auto env = make_env("humanoidmaze-medium-singletask-task1-v0");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->spec().obs_dim, 69);
  EXPECT_EQ(env->spec().action_dim, 21);
  EXPECT_EQ(env->spec().action_low, std::vector<double>(21, -1.0));
  EXPECT_EQ(env->max_episode_steps(), 2000);
  EXPECT_THROW(env->step(at::zeros({21})), std::logic_error);
  const auto obs = env->reset(2);
  ASSERT_EQ(obs.numel(), 69);
  const auto state = env->simulator_state();
  ASSERT_EQ(state.numel(), 28 + 27);
  EXPECT_EQ(obs[0].item<float>(), static_cast<float>(state[0].item<double>()));
  const auto r = env->step(at::zeros({21}));
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_THROW(env->step(at::full({21}, NAN)), NumericError);
  EXPECT_THROW(env->step(at::zeros({8})), std::invalid_argument);

  auto soccer = make_env("antsoccer-arena-singletask-v0", "post");
  EXPECT_EQ(soccer->spec().obs_dim, 42);
  EXPECT_EQ(soccer->spec().action_dim, 8);
  EXPECT_EQ(soccer->reset(0).numel(), 42);
  EXPECT_EQ(soccer->simulator_state().numel(), 22 + 20);
  EXPECT_THROW(make_env("antsoccer-arena-singletask-v0", "sometimes"), ConfigError);
  EXPECT_THROW(make_env("cube-single-singletask-task1-v0"), ConfigError);
}

}  // namespace
}  // namespace dipole::locomaze
#else
TEST(LocomazeReset, Skipped) {
  GTEST_SKIP() << "built without MuJoCo: plugin dipole_locomaze not available";
}
#endif
