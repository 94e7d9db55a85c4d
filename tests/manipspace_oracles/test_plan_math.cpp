// Plan-oracle math (docs/ogbench.md, "Plan oracles") against hand-computed values: Gaussian taps and
// reflect smoothing (scipy gaussian_filter1d), symmetric yaws, the SE(3) midpoint, plan
// interpolation, the noise level after smoothing, the scene health check ("Generator loop").
#include <gtest/gtest.h>

#include <dipole/errors.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "generator_loop.hpp"

namespace dipole::manipspace::oracles {
namespace {

constexpr double kPi = 3.141592653589793;

TEST(PlanMath, GaussianTapsMatchTheSpec) {
  const std::vector<double> w = gaussian_taps(0.5);  // radius int(4·0.5 + 0.5) = 2, exp(−2k²) normalised
  ASSERT_EQ(w.size(), 5U);
  const double expected[] = {0.00026386508, 0.10645077197, 0.78657072589, 0.10645077197, 0.00026386508};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(w[i], expected[i], 1e-10) << i;
  EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-15);
  EXPECT_EQ(gaussian_taps(1.0).size(), 9U);  // radius int(4.5) = 4
}

TEST(PlanMath, ReflectBoundaryOfTheSmoothing) {
  const std::vector<double> w = gaussian_taps(0.5);
  // A unit impulse at index 0 of 6 values: reflect maps index −1 to 0 and −2 to 1, so
  // out[0] = w0·x[1] + w1·x[0] + w2·x[0] + w3·x[1] + w4·x[2] = w1 + w2.
  std::vector<double> x = {1, 0, 0, 0, 0, 0};
  std::vector<double> y = gaussian_smooth(x, 0.5);
  EXPECT_NEAR(y[0], w[1] + w[2], 1e-15);
  EXPECT_NEAR(y[1], w[1] + w[0], 1e-15);  // x[0] enters at k = −1, and through index −1 ↦ 0 at k = −2
  EXPECT_NEAR(y[2], w[0], 1e-15);
  EXPECT_NEAR(y[3], 0.0, 1e-15);
  // The last element: index L ↦ L − 1, L + 1 ↦ L − 2.
  x = {0, 0, 0, 0, 0, 1};
  y = gaussian_smooth(x, 0.5);
  EXPECT_NEAR(y[5], w[2] + w[3], 1e-15);
  // A constant column stays constant.
  y = gaussian_smooth(std::vector<double>(7, 2.5), 0.5);
  for (const double v : y) EXPECT_NEAR(v, 2.5, 1e-14);
}

TEST(PlanMath, SymmetricYawPicksTheClosestCandidate) {
  // Candidates θ_o + k·π/2, k = −4 … 4: from ψ_e = 3.0 and θ_o = 0.1, the closest is 0.1 + π.
  EXPECT_NEAR(symmetric_yaw(3.0, 0.1, 4), 0.1 + kPi, 1e-12);
  EXPECT_NEAR(symmetric_yaw(0.2, 0.1, 4), 0.1, 1e-12);
  EXPECT_NEAR(symmetric_yaw(6.0, 0.1, 4), 0.1 + 2 * kPi, 1e-12);
  // n = 2 (handles): candidates θ_o + k·π; ψ_e = 0.5, θ_o = 3.14 → 3.14 − π.
  EXPECT_NEAR(symmetric_yaw(0.5, 3.14, 2), 3.14 - kPi, 1e-12);
  // A tie (ψ_e halfway between 0 and π/2 for θ_o = 0): the first candidate (the smaller k) wins.
  EXPECT_NEAR(symmetric_yaw(kPi / 4, 0.0, 4), 0.0, 1e-12);
  EXPECT_NEAR(yaw_plus(-0.5), 2 * kPi - 0.5, 1e-12);
  EXPECT_NEAR(yaw_plus(7.0), 7.0 - 2 * kPi, 1e-12);
  EXPECT_NEAR(yaw_plus(kPi), kPi, 1e-12);
}

TEST(PlanMath, Se3MidpointOfPureYawPoses) {
  // Same yaw: the linear midpoint.
  YawPose m = se3_midpoint({0.3, {0, 0, 0}}, {0.3, {1, 2, 4}});
  EXPECT_NEAR(m.yaw, 0.3, 1e-15);
  EXPECT_NEAR(m.pos[0], 0.5, 1e-15);
  EXPECT_NEAR(m.pos[1], 1.0, 1e-15);
  EXPECT_NEAR(m.pos[2], 2.0, 1e-15);
  // A quarter turn, translation (1, 0): the screw midpoint is the linear one rotated by −φ/4 and
  // scaled by 1/cos(φ/4): 0.5·(1, −tan(π/8)) = (0.5, −0.207107).
  m = se3_midpoint({0.0, {0, 0, 0}}, {kPi / 2, {1, 0, 0}});
  EXPECT_NEAR(m.yaw, kPi / 4, 1e-15);
  EXPECT_NEAR(m.pos[0], 0.5, 1e-12);
  EXPECT_NEAR(m.pos[1], -0.5 * std::tan(kPi / 8), 1e-12);
  // The yaw difference is wrapped: from 3.0 to −3.0 is +0.283 (through π), midpoint yaw 3.1416.
  m = se3_midpoint({3.0, {0, 0, 0}}, {-3.0, {0, 0, 0}});
  EXPECT_NEAR(m.yaw, 3.0 + 0.5 * (2 * kPi - 6.0), 1e-12);
}

TEST(PlanMath, InterpolatedPlanRows) {
  // Keyframes at 0, 0.1, 0.2 s: rows at t = 0, 0.05, 0.1, 0.15 (4 rows, t < t_last).
  std::vector<Keyframe> k = {
      {0.0, {3.0, {0, 0, 0}}, 0.0}, {0.1, {-2.9, {1, 0, 0}}, 1.0}, {0.2, {-2.9, {1, 2, 0}}, 1.0}};
  const std::vector<PlanRow> rows = interpolate_plan(k);
  ASSERT_EQ(rows.size(), 4U);
  EXPECT_NEAR(rows[1].pos[0], 0.5, 1e-12);
  EXPECT_NEAR(rows[1].grasp, 0.5, 1e-12);
  // Yaw from 3.0 to −2.9 the short way (+0.383 through π): halfway 3.1916 wraps to −3.0916.
  EXPECT_NEAR(rows[1].yaw, 3.0 + 0.5 * (2 * kPi - 5.9) - 2 * kPi, 1e-12);
  EXPECT_NEAR(rows[2].pos[0], 1.0, 1e-12);
  EXPECT_NEAR(rows[3].pos[1], 1.0, 1e-12);
  EXPECT_NEAR(rows[3].yaw, -2.9, 1e-12);
  // A plan of 4.4 s has ⌈4.4 / 0.05⌉ = 88 rows (up to accumulation at the boundary).
  k = {{0.0, {}, 0.0}, {4.4, {}, 0.0}};
  const auto n = interpolate_plan(k).size();
  EXPECT_TRUE(n == 88U || n == 89U) << n;
  k[1].time = 0.0;
  EXPECT_THROW(interpolate_plan(k), NumericError);
}

TEST(PlanMath, SmoothedNoiseLevel) {
  // Interior std after smoothing = √Σw² = 0.8008 of the raw std (0.005 m, 0.03 rad, 0.1 at noise 0.1).
  std::vector<PlanRow> rows(40000);
  Rng rng(7);
  add_plan_noise(rows, 0.1, 0.5, rng);
  double sx = 0, sy = 0, sg = 0, mx = 0;
  for (const auto& r : rows) {
    sx += r.pos[0] * r.pos[0];
    sy += r.yaw * r.yaw;
    sg += r.grasp * r.grasp;
    mx += r.pos[0];
  }
  const double n = static_cast<double>(rows.size());
  EXPECT_NEAR(std::sqrt(sx / n), 0.005 * 0.80086, 0.005 * 0.80086 * 0.03);
  EXPECT_NEAR(std::sqrt(sy / n), 0.03 * 0.80086, 0.03 * 0.80086 * 0.03);
  EXPECT_NEAR(std::sqrt(sg / n), 0.1 * 0.80086, 0.1 * 0.80086 * 0.03);
  EXPECT_NEAR(mx / n, 0.0, 0.0002);
  // Neighbouring rows are correlated: E[x_t x_{t+1}] / E[x²] = 2(w0w1 + w1w2) / Σw² = 0.2619.
  double c = 0;
  for (std::size_t t = 0; t + 1 < rows.size(); ++t) c += rows[t].pos[0] * rows[t + 1].pos[0];
  EXPECT_NEAR(c / sx, 0.2619, 0.02);
  std::vector<PlanRow> quiet(10);
  add_plan_noise(quiet, 0.0, 0.5, rng);
  for (const auto& r : quiet) EXPECT_EQ(r.pos[0], 0.0);
}

TEST(PlanMath, SceneHealthCheck) {
  PlayEpisode e;
  e.steps = 3;
  e.state_dim = 30;
  e.states.assign(4 * 30, 0.0);
  const auto set = [&](int row, double y, double z) {
    e.states[static_cast<std::size_t>(row * 30 + 15)] = y;
    e.states[static_cast<std::size_t>(row * 30 + 16)] = z;
  };
  for (int r = 0; r < 4; ++r) set(r, 0.0, 0.02);
  EXPECT_TRUE(scene_episode_healthy(e));
  set(1, -0.35, 0.07);  // in the drawer (y ≤ −0.3 with z in [0.06, 0.08]): fine
  EXPECT_TRUE(scene_episode_healthy(e));
  set(1, -0.35, 0.02);  // left of the drawer on the floor
  EXPECT_FALSE(scene_episode_healthy(e));
  set(1, 0.0, 0.02);
  set(3, 0.29, 0.02);  // the row after the last step is not stored: not checked
  EXPECT_TRUE(scene_episode_healthy(e));
  set(2, 0.29, 0.02);  // too far right
  EXPECT_FALSE(scene_episode_healthy(e));
}

}  // namespace
}  // namespace dipole::manipspace::oracles

#else
TEST(PlanMath, SkippedWithoutMujoco) {
  GTEST_SKIP() << "MuJoCo not found";
}
#endif
