// OGBench manipulation (plugins/benchmarks/manipspace): controller, observation, reset, success, reward and
// termination (docs/ogbench.md, "Manipulation: ..." sections) against the measured figures of
// plugins/benchmarks/manipspace/README.md and the identities of docs/ogbench.md; the `ogbench` environment
// through the registry.
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
#include "manip_env.hpp"
#include "task_env.hpp"

namespace dipole::manipspace {
namespace {

constexpr double kPi = 3.141592653589793;

/// The arm at home with the kinematics up to date.
ManipEnv& home(ManipEnv& env) {
  env.reset_to_home();
  env.forward();
  return env;
}

ManipEnv& cube_env() {
  static ManipEnv env(SceneLayout::cubes(1));  // 0.45 s to build: shared by the tests of this file
  return env;
}

// ---- kinematics and IK ------------------------------------------------------------------------------

TEST(ManipspaceController, HomePoseAndPinchToFlangeTransform) {
  ManipEnv& env = home(cube_env());
  const Vec3 p = env.effector_pos();
  EXPECT_NEAR(p[0], 0.49200, 5e-6);
  EXPECT_NEAR(p[1], 0.13400, 5e-6);
  EXPECT_NEAR(p[2], 0.33220, 5e-6);
  EXPECT_NEAR(env.effector_yaw(), 0.0, 1e-5);
  const Vec3 f = env.site_pos(env.site_id("ur5e/attachment_site"));
  EXPECT_NEAR(f[0], 0.492, 5e-6);
  EXPECT_NEAR(f[1], 0.134, 5e-6);
  EXPECT_NEAR(f[2], 0.488, 5e-6);  // flange = pinch + 0.1558 up
  const Quat& q = env.pinch_to_flange_quat();
  const double sign = q[0] < 0 ? -1.0 : 1.0;
  EXPECT_NEAR(sign * q[0], std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(sign * q[1], 0.0, 1e-6);
  EXPECT_NEAR(sign * q[2], 0.0, 1e-6);
  EXPECT_NEAR(sign * q[3], std::sqrt(0.5), 1e-6);
  const Vec3& t = env.pinch_to_flange_pos();
  EXPECT_NEAR(t[0], 0.0, 1e-6);
  EXPECT_NEAR(t[1], 0.0, 1e-6);
  EXPECT_NEAR(t[2], -0.1558, 1e-6);
}

TEST(ManipspaceController, AngleHelpers) {
  EXPECT_NEAR(wrap_angle(kPi + 0.5), -kPi + 0.5, 1e-15);
  EXPECT_NEAR(wrap_angle(-kPi - 0.5), kPi - 0.5, 1e-15);
  EXPECT_EQ(wrap_angle(kPi), kPi);  // (−π, π]
  EXPECT_NEAR(wrap_angle(0.3), 0.3, 1e-15);
  for (const double yaw : {-3.0, -1.0, 0.0, 0.7, 2.9}) {
    EXPECT_NEAR(quat_yaw({std::cos(yaw / 2), 0, 0, std::sin(yaw / 2)}), yaw, 1e-12);
    double mat[9];
    const Quat d = down_quat(yaw);
    mju_quat2Mat(mat, d.data());
    EXPECT_NEAR(mat_yaw(mat), yaw, 1e-12);  // Rz(ψ)·D has yaw ψ
    EXPECT_NEAR(mat[8], -1.0, 1e-12);       // and points down
  }
}

TEST(ManipspaceController, IkReachesRandomArmBoxTargetsFromHomeWithin20Iterations) {
  ManipEnv& env = home(cube_env());
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int worst = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const Vec3 target = {0.25 + 0.35 * u(rng), -0.35 + 0.7 * u(rng), 0.20 + 0.15 * u(rng)};
    const double yaw = -kPi + 2 * kPi * u(rng);
    Vec3 fp{};
    Quat fq{};
    env.flange_target(target, yaw, fp, fq);
    const auto ik = env.solve_ik(fp, fq, Constants::kHome);
    ASSERT_TRUE(ik.converged) << "trial " << trial << ": errors " << ik.pos_error << ", " << ik.rot_error;
    EXPECT_LE(ik.iterations, 20);
    worst = std::max(worst, ik.iterations);
    // the solution puts the pinch at the target with the target yaw, pointing down
    const auto placed = env.place_arm(target, yaw);
    EXPECT_EQ(placed.q, ik.q);
    const Vec3 p = env.effector_pos();
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(p[k], target[k], 2e-4) << "trial " << trial;
    EXPECT_NEAR(wrap_angle(env.effector_yaw() - yaw), 0.0, 2e-4) << "trial " << trial;
  }
  EXPECT_GT(worst, 1);  // the targets were not trivially reached
}

TEST(ManipspaceController, TrackingNeedsOneToThreeIkIterationsPerStep) {
  SingleTaskEnv task("cube-single-singletask-task2-v0", RewardTiming::Pre);
  task.reset(11);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  int total = 0, worst = 0;
  for (int step = 0; step < 100; ++step) {
    const Action a = {u(rng), u(rng), u(rng), u(rng), u(rng)};
    const auto ik = task.env().set_control(a);  // what step() will compute from the same state
    ASSERT_TRUE(ik.converged) << "step " << step;
    total += ik.iterations;
    worst = std::max(worst, ik.iterations);
    task.step(a);
  }
  EXPECT_LE(worst, 3);  // spec [meas]: mean 1.9, at most 3
  EXPECT_GE(total, 100);
  EXPECT_LE(total, 300);
}

// ---- controller behaviour (plugins/benchmarks/manipspace/README.md, "Figures reproduced")
// ----------------------------

TEST(ManipspaceController, ZeroActionSinksOneToTwoAndAHalfMillimetresPerStep) {
  ManipEnv& env = home(cube_env());
  Vec3 before = env.effector_pos();
  const Vec3 start = before;
  for (int step = 1; step <= 20; ++step) {
    env.step({0, 0, 0, 0, 0});
    const Vec3 p = env.effector_pos();
    const double sink = before[2] - p[2];
    if (step > 1) {  // the first step starts from rest
      EXPECT_GE(sink, 0.001) << "step " << step;
      EXPECT_LE(sink, 0.0025) << "step " << step;
    }
    before = p;
  }
  const Vec3 end = env.effector_pos();
  EXPECT_GE(start[2] - end[2], 0.02);
  EXPECT_LE(start[2] - end[2], 0.05);
  EXPECT_LT(std::hypot(end[0] - start[0], end[1] - start[1]), 0.005);  // a few mm of xy creep
}

TEST(ManipspaceController, FullXActionAdvancesAbout2CmPerStepAndSaturatesAtTheWorkspaceBound) {
  ManipEnv& env = home(cube_env());
  std::vector<double> xs;
  for (int step = 0; step < 14; ++step) {
    env.step({1, 0, 0, 0, 0});
    xs.push_back(env.effector_pos()[0]);
  }
  // spec [meas]: 0.5125, 0.5332, 0.5539, 0.5731, ...; 0.6000 by the 11th step
  EXPECT_NEAR(xs[0], 0.5125, 0.004);
  EXPECT_NEAR(xs[1], 0.5332, 0.004);
  EXPECT_NEAR(xs[2], 0.5539, 0.004);
  EXPECT_NEAR(xs[3], 0.5731, 0.004);
  for (int i = 1; i < 3; ++i) EXPECT_NEAR(xs[i] - xs[i - 1], 0.0207, 0.001) << i;
  EXPECT_GE(xs[10], 0.5995);
  for (const double x : xs) EXPECT_LE(x, 0.6 + 0.002);  // the target is clipped at x = 0.6
}

TEST(ManipspaceController, FullYawActionTurnsAbout0066RadPerStep) {
  ManipEnv& env = home(cube_env());
  double before = env.effector_yaw();
  for (int step = 1; step <= 10; ++step) {
    env.step({0, 0, 0, 1, 0});
    const double yaw = env.effector_yaw();
    if (step > 1) {
      EXPECT_NEAR(yaw - before, 0.066, 0.002) << "step " << step;
    }
    before = yaw;
  }
}

TEST(ManipspaceController, GripperCloseSequence) {
  ManipEnv& env = home(cube_env());
  const double expected[6] = {0.24, 0.46, 0.59, 0.68, 0.73, 0.76};  // right driver, rad [meas]
  for (int step = 0; step < 6; ++step) {
    env.step({0, 0, 0, 0, 1});
    EXPECT_NEAR(env.data()->qpos[6], expected[step], 0.015) << "step " << step + 1;
    EXPECT_DOUBLE_EQ(env.observation()[17], 3.0 * std::min(env.data()->qpos[6] / 0.8, 1.0));
    EXPECT_EQ(env.data()->ctrl[6], 255.0);  // target opening clip(g + 1, 0, 1) = 1
  }
  const double g = env.gripper_opening();  // ≈ 0.95
  env.step({0, 0, 0, 0, -0.5});
  EXPECT_NEAR(env.data()->ctrl[6], 255.0 * (g - 0.5), 1e-9);  // the target jumps to g + Δ₄
}

TEST(ManipspaceController, SetControlTargetsArePerAxisRateLimitedAndClipped) {
  ManipEnv& env = home(cube_env());
  const Vec3 p = env.effector_pos();
  const auto check = [&](const Action& a, const Vec3& target, double yaw, double grip) {
    home(env);
    const auto ik = env.set_control(a);
    ASSERT_TRUE(ik.converged);
    ArmQ q{};
    for (int i = 0; i < 6; ++i) q[static_cast<std::size_t>(i)] = env.data()->ctrl[i];
    EXPECT_EQ(q, ik.q);
    EXPECT_NEAR(env.data()->ctrl[6], 255.0 * grip, 1e-9);
    for (int i = 0; i < 6; ++i) env.data()->qpos[i] = q[static_cast<std::size_t>(i)];
    env.forward();  // the servo target as a pose
    const Vec3 reached = env.effector_pos();
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(reached[k], target[k], 2e-4) << k;
    EXPECT_NEAR(wrap_angle(env.effector_yaw() - yaw), 0.0, 2e-4);
  };
  check({0, 0, 0, 0, 0}, p, 0.0, 0.0);
  check({0.5, -1, 0.2, 0, 0.3}, {p[0] + 0.025, p[1] - 0.05, p[2] + 0.01}, 0.0, 0.3);
  check({1, 0, 1, 1, 2}, {p[0] + 0.05, p[1], 0.35}, 0.3, 1.0);  // z clipped at 0.35, g* at 1
  check({3, 0, 0, -2, 0}, {0.6, p[1], p[2]}, -0.6, 0.0);        // x clipped at 0.6; action not clipped
}

// ---- observation ------------------------------------------------------------------------------------

TEST(ManipspaceObservation, CubeSingleLayoutAndTheOneSubstepLag) {
  SingleTaskEnv task("cube-single-singletask-task1-v0", RewardTiming::Pre);
  ManipEnv& env = task.env();
  const auto obs = task.reset(5);
  ASSERT_EQ(obs.size(), 28U);
  const mjData* d = env.data();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(obs[static_cast<std::size_t>(i)], d->qpos[i]);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(obs[static_cast<std::size_t>(6 + i)], 0.0);  // at rest
  const Vec3 p = env.effector_pos();
  EXPECT_DOUBLE_EQ(obs[12], (p[0] - 0.425) * 10);
  EXPECT_DOUBLE_EQ(obs[13], p[1] * 10);
  EXPECT_DOUBLE_EQ(obs[14], p[2] * 10);
  EXPECT_NEAR(obs[15] * obs[15] + obs[16] * obs[16], 1.0, 1e-12);
  EXPECT_EQ(obs[17], 0.0);  // gripper open
  EXPECT_EQ(obs[18], 0.0);  // no contact
  const Vec3 c = env.cube_pos(0);
  EXPECT_DOUBLE_EQ(obs[19], (c[0] - 0.425) * 10);
  EXPECT_DOUBLE_EQ(obs[21], c[2] * 10);
  const Quat q = env.cube_quat(0);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(obs[22 + k], q[k]);
  EXPECT_NEAR(std::atan2(obs[27], obs[26]), quat_yaw(q), 1e-12);

  // After a step (docs/ogbench.md, "Manipulation: observation") the effector read-out lags the final qpos by
  // one substep (≤ ~1.2 mm)
  double largest = 0.0;
  for (int step = 0; step < 10; ++step) {
    task.step({1, -1, 0.5, 0, 0});
    const Vec3 lagged = env.effector_pos();
    env.forward();
    const Vec3 fresh = env.effector_pos();
    const double lag = std::hypot(lagged[0] - fresh[0], lagged[1] - fresh[1], lagged[2] - fresh[2]);
    largest = std::max(largest, lag);
    EXPECT_LT(lag, 0.002) << "step " << step;
  }
  EXPECT_GT(largest, 1e-4);  // the arm moved, so the lag is visible
}

// ---- reset, success, reward, termination ------------------------------------------------------------

TEST(ManipspaceTask, ResetFollowsTheTaskTableWithItsNoise) {
  SingleTaskEnv task("cube-single-singletask-task4-v0", RewardTiming::Pre);
  EXPECT_EQ(task.max_episode_steps(), 200);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    task.reset(seed);
    const ManipEnv& env = task.env();
    const Vec3 c = env.cube_pos(0);
    EXPECT_LE(std::abs(c[0] - 0.35), 0.01);  // task4 init (0.35, −0.2, 0.02) ± 0.01 in x, y
    EXPECT_LE(std::abs(c[1] + 0.2), 0.01);
    EXPECT_EQ(c[2], 0.02);
    const Quat q = env.cube_quat(0);
    EXPECT_EQ(q[1], 0.0);
    EXPECT_EQ(q[2], 0.0);
    EXPECT_NEAR(q[0] * q[0] + q[3] * q[3], 1.0, 1e-12);
    const Vec3 g = env.cube_goal(0);
    EXPECT_EQ(g[0], 0.50);
    EXPECT_EQ(g[1], 0.2);
    EXPECT_EQ(g[2], 0.02);
    const Vec3 p = env.effector_pos();  // pinch in the arm box (IK tolerance)
    EXPECT_GE(p[0], 0.25 - 2e-4);
    EXPECT_LE(p[0], 0.6 + 2e-4);
    EXPECT_GE(p[1], -0.35 - 2e-4);
    EXPECT_LE(p[1], 0.35 + 2e-4);
    EXPECT_GE(p[2], 0.20 - 2e-4);
    EXPECT_LE(p[2], 0.35 + 2e-4);
    for (int i = 6; i < 14; ++i) EXPECT_EQ(env.data()->qpos[i], 0.0);  // gripper open
    for (int i = 0; i < env.model()->nv; ++i) EXPECT_EQ(env.data()->qvel[i], 0.0);
    EXPECT_FALSE(task.success_flag());
    EXPECT_EQ(task.reward_now(), -1);
  }
}

TEST(ManipspaceTask, SameSeedSameEpisodeDifferentSeedDifferentStart) {
  SingleTaskEnv a("cube-single-singletask-task2-v0", RewardTiming::Pre);
  SingleTaskEnv b("cube-single-singletask-v0", RewardTiming::Pre);  // no taskN: default task 2
  EXPECT_EQ(b.task().task, 2);
  const auto oa = a.reset(42), ob = b.reset(42);
  EXPECT_EQ(oa, ob);
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int step = 0; step < 15; ++step) {
    const Action act = {u(rng), u(rng), u(rng), u(rng), u(rng)};
    const auto ra = a.step(act), rb = b.step(act);
    ASSERT_EQ(a.env().observation(), b.env().observation()) << "step " << step;
    EXPECT_EQ(ra.reward, rb.reward);
  }
  EXPECT_NE(a.reset(1), b.reset(2));
}

/// Place cube i at `pos` (at rest, identity orientation) and refresh the kinematics.
void place_cube(SingleTaskEnv& task, int i, const Vec3& pos) {
  task.env().set_cube(i, pos, {1, 0, 0, 0});
  task.env().set_cube_velocity_zero(i);
  task.env().forward();
}

TEST(ManipspaceTask, PreTimingRewardsTheStateBeforeTheStepAndTerminatesOneStepLater) {
  SingleTaskEnv task("cube-single-singletask-task1-v0", RewardTiming::Pre);
  task.reset(0);
  const Action idle = {0, 0, 0, 0, 0};
  StepOutcome r = task.step(idle);
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(r.terminated);
  // s_1 → place the cube on the goal (0.425, −0.1, 0.02): the state is a success
  place_cube(task, 0, {0.425, -0.1 + 0.03, 0.02});  // 3 cm away: inside the 0.04 tolerance
  r = task.step(idle);  // reward r(s_1) = 0, success flag of s_1 was computed before the edit: false
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(r.terminated);
  r = task.step(idle);  // success(s_2), computed at the end of the previous step
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_TRUE(r.success);
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);
  // success(s_0) is forced false even when s_0 already satisfies the goal
  task.reset(0);
  place_cube(task, 0, {0.425, -0.1, 0.02});
  r = task.step(idle);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(r.terminated);
  // 5 cm away is outside the tolerance
  place_cube(task, 0, {0.425, -0.05, 0.02});
  EXPECT_EQ(task.reward_now(), -1);
}

TEST(ManipspaceTask, PostTimingRewardsTheStateAfterTheStep) {
  SingleTaskEnv task("cube-single-singletask-task1-v0", RewardTiming::Post);
  task.reset(0);
  place_cube(task, 0, {0.425, -0.1, 0.02});
  const StepOutcome r = task.step({0, 0, 0, 0, 0});
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_TRUE(r.success);
  EXPECT_TRUE(r.terminated);
  task.reset(0);
  const StepOutcome away = task.step({0, 0, 0, 0, 0});
  EXPECT_EQ(away.reward, -1.0);
  EXPECT_FALSE(away.success);
}

TEST(ManipspaceTask, TruncatesAtTheEpisodeLimit) {
  SingleTaskEnv task("cube-single-singletask-task3-v0", RewardTiming::Pre);
  task.reset(7);
  StepOutcome r;
  for (int step = 1; step <= 200; ++step) {
    r = task.step({0, 0, 0.2, 0, 0});
    ASSERT_EQ(r.truncated, step == 200) << step;
    ASSERT_FALSE(r.terminated);
    ASSERT_EQ(r.reward, -1.0);
  }
}

TEST(ManipspaceTask, NamesThatAreNotManipulationEnvironmentsAreConfigErrors) {
  EXPECT_THROW(SingleTaskEnv("antmaze-large-navigate-singletask-task1-v0", RewardTiming::Pre), ConfigError);
  EXPECT_THROW(SingleTaskEnv("cube-single-play-singletask-task1-v0", RewardTiming::Pre), ConfigError);
  EXPECT_THROW(SingleTaskEnv("cube-single-singletask-task9-v0", RewardTiming::Pre), ConfigError);
  EXPECT_THROW(parse_reward_timing("later"), ConfigError);
}

// ---- through the registry ---------------------------------------------------------------------------

std::shared_ptr<Environment> make_env(const std::string& id, const std::string& timing) {
  static const Registry registry = Registry::with_default_plugins();
  Params params("environment", "ogbench");
  params.set("env", id);
  params.set("reward_timing", timing);
  BuildContext ctx;
  ctx.section = "environment";
  return std::dynamic_pointer_cast<Environment>(registry.create(Kind::Environment, "ogbench", params, ctx));
}

TEST(ManipspacePlugin, CubeSingleThroughTheRegistry) {
  auto env = make_env("cube-single-singletask-task1-v0", "pre");
  ASSERT_TRUE(env);
  const Spec spec = env->spec();
  EXPECT_EQ(spec.obs_dim, 28);
  EXPECT_EQ(spec.action_dim, 5);
  EXPECT_EQ(spec.action_low, std::vector<double>(5, -1.0));
  EXPECT_EQ(env->max_episode_steps(), 200);
  EXPECT_THROW(env->step(at::zeros({5})), std::logic_error);
  const auto obs = env->reset(3);
  ASSERT_EQ(obs.scalar_type(), at::kFloat);
  ASSERT_EQ(obs.numel(), 28);
  const auto state = env->simulator_state();
  ASSERT_EQ(state.numel(), 21 + 20);
  EXPECT_EQ(state.scalar_type(), at::kDouble);
  EXPECT_NEAR(state[14].item<double>(), 10 * 0 + (obs[19].item<float>() / 10 + 0.425), 1e-6);  // cube x
  const auto r = env->step(at::tensor({0.f, 0.f, 0.f, 0.f, 1.f}));
  EXPECT_EQ(r.observation.numel(), 28);
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_THROW(env->step(at::tensor({0.f, NAN, 0.f, 0.f, 0.f})), NumericError);
  EXPECT_THROW(env->step(at::zeros({4})), std::invalid_argument);
  EXPECT_THROW(make_env("scene-singletask-task1-v0", "sometimes"), ConfigError);
}

}  // namespace
}  // namespace dipole::manipspace
#else
TEST(ManipspaceController, Skipped) {
  GTEST_SKIP() << "built without MuJoCo: plugin dipole_manipspace not available";
}
#endif
