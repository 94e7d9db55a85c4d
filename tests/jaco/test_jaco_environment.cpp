// Jaco through the `dmc` environment plugin (registry, LibTorch tensors): spec, truncation at 250
// steps, simulator_state and the relabelling identity on the environment's own states.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#ifdef DIPOLE_HAVE_MUJOCO

#include <memory>
#include <stdexcept>
#include <string>

#include "dipole/core/registry.hpp"
#include "dipole/environment.hpp"
#include "jaco.hpp"
#include "support/dmc_environment.hpp"

namespace dipole {
namespace {

std::shared_ptr<Environment> make_jaco_env(const std::string& task) {
  return test::make_dmc_environment("jaco", task);
}

TEST(JacoEnvironment, SpecTruncationStateAndRelabelling) {
  auto env = make_jaco_env("reach_top_right");
  const Spec spec = env->spec();
  EXPECT_EQ(spec.obs_dim, 42);
  EXPECT_EQ(spec.action_dim, 9);
  EXPECT_EQ(spec.action_low, std::vector<double>(9, -1.0));
  EXPECT_EQ(env->max_episode_steps(), 250);
  const auto task = dmc::make_task("jaco", "reach_top_right");
  dmc::Physics relabel = task->make_physics();

  const at::Tensor obs0 = env->reset(21);
  ASSERT_EQ(obs0.numel(), 42);
  const float* o = obs0.data_ptr<float>();
  for (int i = 18; i < 24; ++i) EXPECT_EQ(o[i], 0.0F) << i;  // arm velocities 0 after reset
  EXPECT_EQ(o[24], o[25]);                                   // equal fingers
  ASSERT_EQ(env->simulator_state().numel(), 18);
  at::manual_seed(4);
  for (int t = 1; t <= 250; ++t) {
    const StepResult r = env->step(at::rand({9}, at::kFloat) * 2.0 - 1.0);
    ASSERT_EQ(r.truncated, t == 250) << t;
    ASSERT_FALSE(r.terminated);
    ASSERT_GE(r.reward, 0.0);
    ASSERT_LE(r.reward, 1.0);
    const at::Tensor state = env->simulator_state();  // [18] float64
    ASSERT_EQ(dmc::reward_from_state(*task, relabel, state.data_ptr<double>()), r.reward) << t;
  }
  EXPECT_THROW(env->step(at::zeros({9}, at::kFloat)), std::logic_error);
  EXPECT_TRUE(at::equal(env->reset(21), obs0));  // same seed, same start
}

TEST(JacoEnvironment, UnknownTaskIsAConfigError) {
  EXPECT_THROW(make_jaco_env("reach_bottom_left"), ConfigError);
}

}  // namespace
}  // namespace dipole

#endif  // DIPOLE_HAVE_MUJOCO
