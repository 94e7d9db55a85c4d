// The shared DMC task layer (plugins/benchmarks/dmc/dmc_task.hpp, library dipole_dmc_tasks) and environment
// `dmc` for every task of docs/exorl.md: sizes, reward range, determinism, truncation, the
// worked reward examples through reward_from_state, and the relabelling identity (docs/exorl.md, "Reward
// relabelling"; rewards recomputed from the recorded simulator_state() equal the online rewards).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dipole/core/registry.hpp"
#include "dipole/environment.hpp"
#include "dipole/errors.hpp"

#ifdef DIPOLE_HAVE_MUJOCO
#include "dipole/sdk/assets.hpp"
#include "dmc_task.hpp"
#include "support/dmc_environment.hpp"
#define DIPOLE_REQUIRE_MUJOCO()
#else
#define DIPOLE_REQUIRE_MUJOCO() GTEST_SKIP() << "built without MuJoCo: dipole_dmc_tasks not available"
#endif

namespace dipole {
namespace {

/// One task with the figures it must reproduce (docs/exorl.md, "Tasks", "Reference returns of simple
/// policies").
struct TaskCase {
  const char* domain;
  const char* task;
  std::int64_t obs_dim, action_dim, episode_steps, state_dim;
  double relabel_tolerance;  // docs/exorl.md, "Reward relabelling": 0 (bit-identical) or ≤ 1e-12
  double random_return_lo, random_return_hi;  // band for the mean return of 3 random-action episodes
  bool acceleration_stage_obs;  // quadruped: obs 48–50 and 54–77 come from the last sub-step (docs/exorl.md,
                                // "Step, reset and state")
};

// docs/exorl.md, "Reference returns of simple policies", uniform random actions (mean ± sd over 100 episodes,
// reference implementation): walker stand 130.7 ± 13.9, walk 32.9 ± 4.5, run 23.2 ± 2.2; cheetah run 3.9
// ± 1.3, run_backward 20.0 ± 2.7. The bands are mean ± 4 sd/√3 for the mean of 3 episodes. Quadruped walk /
// run: 112.8 ± 201, bimodal (on its back 0–20, upright near 500; range 1–528): only [0, 600] is checked.
const std::vector<TaskCase>& cases() {
  static const std::vector<TaskCase> kCases = {
      {"walker", "stand", 24, 6, 1000, 18, 0.0, 98.6, 162.8, false},
      {"walker", "walk", 24, 6, 1000, 18, 0.0, 22.5, 43.3, false},
      {"walker", "run", 24, 6, 1000, 18, 0.0, 18.1, 28.3, false},
      {"cheetah", "run", 17, 6, 1000, 18, 0.0, 0.9, 6.9, false},
      {"cheetah", "run_backward", 17, 6, 1000, 18, 0.0, 13.8, 26.2, false},
      {"quadruped", "walk", 78, 12, 1000, 57, 1e-12, 0.0, 600.0, true},
      {"quadruped", "run", 78, 12, 1000, 57, 1e-12, 0.0, 600.0, true},
  };
  return kCases;
}

std::string label(const TaskCase& c) {
  return std::string(c.domain) + "/" + c.task;
}

std::shared_ptr<Environment> make_env(const std::string& domain, const std::string& task) {
  return test::make_dmc_environment(domain, task);
}

/// Uniform actions in [−1, 1]: [steps][action_dim].
std::vector<at::Tensor> random_actions(std::int64_t steps, std::int64_t action_dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  std::vector<at::Tensor> actions;
  for (std::int64_t i = 0; i < steps; ++i) {
    auto a = at::empty({action_dim}, at::kFloat);
    float* p = a.data_ptr<float>();
    for (std::int64_t j = 0; j < action_dim; ++j) p[j] = uniform(rng);
    actions.push_back(a);
  }
  return actions;
}

#ifdef DIPOLE_HAVE_MUJOCO

TEST(DmcTasks, TaskTableAndErrors) {
  const auto names = dmc::task_names();
  for (const TaskCase& c : cases()) {
    EXPECT_NE(
        std::find(names.begin(), names.end(), std::make_pair(std::string(c.domain), std::string(c.task))),
        names.end())
        << label(c);
    const auto task = dmc::make_task(c.domain, c.task);
    EXPECT_EQ(task->domain(), c.domain);
    EXPECT_EQ(task->name(), c.task);
    EXPECT_EQ(task->obs_dim(), c.obs_dim);
    EXPECT_EQ(task->action_dim(), c.action_dim);
    EXPECT_EQ(task->episode_steps(), c.episode_steps);
  }
  std::string msg;
  try {
    dmc::make_task("walker", "jump");
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("'jump'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("walker/stand"), std::string::npos) << msg;  // lists the valid pairs
  EXPECT_THROW(dmc::make_task("pendulum", "swingup"), ConfigError);
}

TEST(DmcTasks, EnvironmentRejectsAPairOutsideTheTableNamingTheKey) {
  std::string msg;
  try {
    make_env("cheetah", "stand");
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("environment.task"), std::string::npos) << msg;
  EXPECT_NE(msg.find("walker/run"), std::string::npos) << msg;
  EXPECT_THROW(make_env("pendulum", "swingup"), ConfigError);  // not one of the four domains
}

TEST(DmcTasks, WalkerWorkedExampleThroughRewardFromState) {
  // plugins/benchmarks/dmc/README.md, "walker": qpos rootz = −0.2, rooty = 0.3; qvel rootx = 2 → stand = walk
  // 0.947948461, run 0.355480673, torso orientation entries (cos 0.3, sin 0.3), height 1.1.
  for (const auto& [name, expected] :
       {std::pair<const char*, double>{"stand", 0.947948461}, {"walk", 0.947948461}, {"run", 0.355480673}}) {
    const auto task = dmc::make_task("walker", name);
    dmc::Physics physics = task->make_physics();
    ASSERT_EQ(physics.state_dim(), 18);
    std::vector<double> state(18, 0.0);
    state[0] = -0.2;     // rootz
    state[2] = 0.3;      // rooty
    state[9 + 1] = 2.0;  // qvel rootx
    EXPECT_NEAR(dmc::reward_from_state(*task, physics, state.data()), expected, 1e-9) << name;
    std::vector<float> obs(24);
    task->observation(physics, obs.data());
    EXPECT_NEAR(obs[0], 0.955336489, 1e-7);
    EXPECT_NEAR(obs[1], 0.295520207, 1e-7);
    EXPECT_NEAR(obs[14], 1.1, 1e-7);
    EXPECT_EQ(obs[16], 2.0F);
  }
}

/// reward_from_state on the state (qpos0 with `edits` applied) of a fresh model of domain/task.
double reward_at(const std::string& domain, const std::string& task_name,
                 const std::vector<std::pair<int, double>>& edits) {
  const auto task = dmc::make_task(domain, task_name);
  dmc::Physics physics = task->make_physics();
  const mjModel* m = physics.model();
  std::vector<double> state(static_cast<std::size_t>(physics.state_dim()), 0.0);
  for (int i = 0; i < m->nq; ++i) state[static_cast<std::size_t>(i)] = m->qpos0[i];
  for (const auto& [index, value] : edits) state[static_cast<std::size_t>(index)] = value;
  return dmc::reward_from_state(*task, physics, state.data());
}

TEST(DmcTasks, CheetahWorkedExamplesThroughRewardFromState) {
  // plugins/benchmarks/dmc/README.md, "cheetah": qvel rootx = 5 → run 0.5, run_backward 0; rootx = −12 → run
  // 0, run_backward 1 (qvel at 9).
  EXPECT_NEAR(reward_at("cheetah", "run", {{9, 5.0}}), 0.5, 1e-12);
  EXPECT_EQ(reward_at("cheetah", "run_backward", {{9, 5.0}}), 0.0);
  EXPECT_EQ(reward_at("cheetah", "run", {{9, -12.0}}), 0.0);
  EXPECT_EQ(reward_at("cheetah", "run_backward", {{9, -12.0}}), 1.0);
  EXPECT_NEAR(reward_at("cheetah", "run_backward", {{9, -2.5}}), 0.25, 1e-12);  // clip(2.5/10, 0, 1)
}

TEST(DmcTasks, QuadrupedWorkedExamplesThroughRewardFromState) {
  // plugins/benchmarks/dmc/README.md, "quadruped": qpos0 (upright, at rest): walk 0.5, run 0.5. Torso rolled
  // 90° about x (z_z = 0, root quaternion (cos 45°, sin 45°, 0, 0) at qpos 3–6) with world-x velocity 0.25
  // (qvel 0 = state 23): upright 0.5, walk 0.375, run 0.2625.
  EXPECT_NEAR(reward_at("quadruped", "walk", {}), 0.5, 1e-12);
  EXPECT_NEAR(reward_at("quadruped", "run", {}), 0.5, 1e-12);
  const double h = std::sqrt(0.5);
  const std::vector<std::pair<int, double>> rolled = {{3, h}, {4, h}, {5, 0.0}, {6, 0.0}, {23, 0.25}};
  EXPECT_NEAR(reward_at("quadruped", "walk", rolled), 0.375, 1e-12);
  EXPECT_NEAR(reward_at("quadruped", "run", rolled), 0.2625, 1e-12);
  // upright and walking forward at 0.5 m/s saturates walk (1) but gives run 0.5 + 0.5/10 = 0.55
  EXPECT_NEAR(reward_at("quadruped", "walk", {{23, 0.5}}), 1.0, 1e-12);
  EXPECT_NEAR(reward_at("quadruped", "run", {{23, 0.5}}), 0.55, 1e-12);
}

TEST(DmcTasks, QuadrupedModelIsEditedAsTheSpecSays) {
  // Compiled sizes (docs/exorl.md, "Tasks"); the unedited file (ball joint present) gives nq 30, nv 28.
  for (const char* name : {"walk", "run"}) {
    const auto task = dmc::make_task("quadruped", name);
    const dmc::Physics physics = task->make_physics();
    const mjModel* m = physics.model();
    EXPECT_EQ(m->nq, 23);
    EXPECT_EQ(m->nv, 22);
    EXPECT_EQ(m->na, 12);
    EXPECT_EQ(m->nu, 12);
    EXPECT_EQ(m->nbody, 18);
    EXPECT_EQ(m->njnt, 17);
    EXPECT_EQ(m->nsensor, 12);
    EXPECT_EQ(m->nsensordata, 36);
    EXPECT_EQ(physics.state_dim(), 57);
    for (const char* gone : {"wall_px", "wall_py", "wall_nx", "wall_ny", "terrain"})
      EXPECT_LT(mj_name2id(m, mjOBJ_GEOM, gone), 0) << gone;
    EXPECT_LT(mj_name2id(m, mjOBJ_BODY, "ball"), 0);
    EXPECT_LT(mj_name2id(m, mjOBJ_SITE, "target"), 0);
    const int floor = mj_name2id(m, mjOBJ_GEOM, "floor");
    ASSERT_GE(floor, 0);
    EXPECT_EQ(m->geom_size[3 * floor], std::string(name) == "run" ? 100.0 : 10.0);  // 20 × 5 / 20 × 0.5
    const int force = mj_name2id(m, mjOBJ_SENSOR, "force_toe_back_left");
    ASSERT_GE(force, 0);
    EXPECT_EQ(m->sensor_adr[force], 18);
    EXPECT_EQ(m->sensor_adr[mj_name2id(m, mjOBJ_SENSOR, "torque_toe_front_left")], 21);
  }
  const dmc::Physics raw = dmc::Physics::load_xml(find_asset("dm_control/suite/quadruped.xml"));
  EXPECT_EQ(raw.model()->nq, 30);
  EXPECT_EQ(raw.model()->nv, 28);
}

/// A temporary asset root holding suite/common/ and a quadruped.xml edited by `edit`, used through
/// $DIPOLE_ASSETS; both are restored and removed on destruction.
class EditedQuadrupedAssets {
 public:
  template <class Edit>
  explicit EditedQuadrupedAssets(Edit edit) {
    namespace fs = std::filesystem;
    const fs::path original = find_asset("dm_control/suite/quadruped.xml");
    root_ = fs::temp_directory_path() / ("dipole_dmc_test_assets_" + std::to_string(::getpid()));
    const fs::path suite = root_ / "dm_control" / "suite";
    fs::create_directories(suite);
    fs::copy(original.parent_path() / "common", suite / "common", fs::copy_options::recursive);
    std::ifstream in(original);
    std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    edit(xml);
    std::ofstream(suite / "quadruped.xml") << xml;
    path_ = (suite / "quadruped.xml").string();
    if (const char* old = std::getenv("DIPOLE_ASSETS")) old_ = old;
    had_old_ = std::getenv("DIPOLE_ASSETS") != nullptr;
    ::setenv("DIPOLE_ASSETS", root_.string().c_str(), 1);
  }
  ~EditedQuadrupedAssets() {
    if (had_old_)
      ::setenv("DIPOLE_ASSETS", old_.c_str(), 1);
    else
      ::unsetenv("DIPOLE_ASSETS");
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  EditedQuadrupedAssets(const EditedQuadrupedAssets&) = delete;
  EditedQuadrupedAssets& operator=(const EditedQuadrupedAssets&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path root_;
  std::string path_, old_;
  bool had_old_ = false;
};

std::string quadruped_model_error() {
  try {
    dmc::make_task("quadruped", "walk")->make_physics();
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DmcTasks, QuadrupedModelErrorsNameTheFileAndWhatIsWrong) {
  {  // an element the quadruped model edits delete is missing (plugins/benchmarks/dmc/README.md, "quadruped")
    EditedQuadrupedAssets assets([](std::string& xml) {
      const std::size_t at = xml.find("<site name=\"target\"");
      xml.erase(at, xml.find("/>", at) + 2 - at);
    });
    const std::string msg = quadruped_model_error();
    EXPECT_NE(msg.find(assets.path()), std::string::npos) << msg;
    EXPECT_NE(msg.find("<site name=\"target\">"), std::string::npos) << msg;
  }
  {  // an extra hinge body: compiles, but with nq 24
    EditedQuadrupedAssets assets([](std::string& xml) {
      const std::string extra =
          "<body name=\"extra\" pos=\"5 5 1\"><joint type=\"hinge\"/><geom size=\".1\"/></body>\n";
      xml.insert(xml.find("<body name=\"ball\""), extra);
    });
    const std::string msg = quadruped_model_error();
    EXPECT_NE(msg.find(assets.path()), std::string::npos) << msg;
    EXPECT_NE(msg.find("compiled sizes differ"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nq 24"), std::string::npos) << msg;
  }
  {  // unloadable text: MuJoCo's message is passed on
    EditedQuadrupedAssets assets(
        [](std::string& xml) { xml.replace(xml.find("<tendon>"), 8, "<tendon><bogus/>"); });
    const std::string msg = quadruped_model_error();
    EXPECT_NE(msg.find(assets.path()), std::string::npos) << msg;
    EXPECT_NE(msg.find("could not load"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(dmc::make_task("quadruped", "walk")->make_physics());  // the real assets again
}

/// The environment's reset sequence (docs/exorl.md, "Step, reset and state") on a Task and Physics, without
/// the plugin.
void reset_like_the_environment(const dmc::Task& task, dmc::Physics& physics, std::uint64_t seed) {
  physics.reset_data();
  physics.forward_without_actuation();
  dmc::Random random(seed);
  task.initialize_episode(physics, random);
  physics.forward_without_actuation();
}

TEST(DmcTasks, QuadrupedResetIsUprightFreeOfContactsAtTheLowestCentimetre) {
  // plugins/benchmarks/dmc/README.md, "quadruped": root at (0, 0, z) with z a multiple of 0.01 where nothing
  // touches, z − 0.01 touching; a unit quaternion; hinges, velocities and act 0.
  const auto task = dmc::make_task("quadruped", "walk");
  dmc::Physics physics = task->make_physics();
  double mean_height = 0.0;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    reset_like_the_environment(*task, physics, seed);
    const mjData* d = physics.data();
    EXPECT_EQ(d->ncon, 0);
    EXPECT_EQ(d->qpos[0], 0.0);
    EXPECT_EQ(d->qpos[1], 0.0);
    const double z = d->qpos[2];
    EXPECT_NEAR(z / 0.01, std::round(z / 0.01), 1e-6) << z;
    EXPECT_GT(z, 0.1);
    const double norm2 =
        d->qpos[3] * d->qpos[3] + d->qpos[4] * d->qpos[4] + d->qpos[5] * d->qpos[5] + d->qpos[6] * d->qpos[6];
    EXPECT_NEAR(norm2, 1.0, 1e-12);
    for (int i = 7; i < 23; ++i) EXPECT_EQ(d->qpos[i], 0.0);
    for (int i = 0; i < 22; ++i) EXPECT_EQ(d->qvel[i], 0.0);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(d->act[i], 0.0);
    // one centimetre lower, the body touches the floor
    std::vector<double> state(57);
    physics.get_state(state.data());
    state[2] = z - 0.01;
    physics.set_state(state.data());
    physics.forward_without_actuation();
    EXPECT_GT(physics.data()->ncon, 0) << "seed " << seed;
    mean_height += z / 5.0;
  }
  EXPECT_LT(mean_height, 1.2);  // plugins/benchmarks/dmc/README.md, "quadruped": about 0.8 m on average
}

TEST(DmcTasks, QuadrupedObservationLayoutAtResetAndActivationAfterOneStep) {
  // Observation at the reset state (plugins/benchmarks/dmc/README.md, "quadruped"): hinges, hinge velocities,
  // act, velocimeter and gyro are 0; entry 47 is torso zz = 1 − 2(q_x² + q_y²) of the root quaternion.
  auto env = make_env("quadruped", "walk");
  const at::Tensor obs = env->reset(3);
  const at::Tensor state = env->simulator_state();
  const float* o = obs.data_ptr<float>();
  const double* q = state.data_ptr<double>();
  for (int i = 0; i < 47; ++i) EXPECT_EQ(o[i], 0.0F) << i;
  for (int i = 51; i < 54; ++i) EXPECT_EQ(o[i], 0.0F) << i;
  EXPECT_NEAR(o[47], 1.0 - 2.0 * (q[4] * q[4] + q[5] * q[5]), 1e-6);
  // Actuators (plugins/benchmarks/dmc/README.md, "quadruped") and the 2.2.2 filter (act += h·(ctrl −
  // act)/0.1, h = 0.005): after n = 4 sub-steps from act = 0, act = ctrl·(1 − 0.95⁴); ctrl from
  // docs/exorl.md, "Step, reset and state": yaw a, lift −1 + 2.1·(a + 1)/2, extend 0.8·a.
  std::vector<float> a(12);
  for (int i = 0; i < 12; ++i) a[static_cast<std::size_t>(i)] = -0.9F + 0.15F * static_cast<float>(i);
  const StepResult r = env->step(at::from_blob(a.data(), {12}, at::kFloat).clone());
  const float* o1 = r.observation.data_ptr<float>();
  const double gain = 1.0 - std::pow(0.95, 4);  // 0.18549375
  for (int i = 0; i < 12; ++i) {
    const double ai = a[static_cast<std::size_t>(i)];
    const double ctrl = i % 3 == 0 ? ai : i % 3 == 1 ? -1.0 + 2.1 * (ai + 1.0) / 2.0 : 0.8 * ai;
    EXPECT_NEAR(o1[32 + i], ctrl * gain, 1e-6) << "actuator " << i;
  }
}

TEST(DmcTasks, CheetahResetSettlesAndRestartsTheClock) {
  // plugins/benchmarks/dmc/README.md, "cheetah": 200 passive steps (2 s) after the draw, then time = 0; the
  // legs have moved under gravity and springs, so qpos differs from the drawn pose, and every entry stays
  // finite.
  const auto task = dmc::make_task("cheetah", "run");
  dmc::Physics physics = task->make_physics();
  reset_like_the_environment(*task, physics, 4);
  const mjData* d = physics.data();
  EXPECT_EQ(d->time, 0.0);
  dmc::Random random(4);
  const mjModel* m = physics.model();
  double moved = 0.0;
  for (int j = 3; j < 9; ++j) {
    const double drawn = random.uniform(m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
    moved = std::max(moved, std::abs(d->qpos[j] - drawn));
  }
  EXPECT_GT(moved, 1e-3);
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(std::isfinite(d->qvel[i]));
  EXPECT_LT(std::abs(d->qvel[0]), 1.0);  // settled near rest, not thrown
}

TEST(DmcTasks, SetStateGetStateRoundTrip) {
  const auto task = dmc::make_task("walker", "stand");
  dmc::Physics physics = task->make_physics();
  std::vector<double> state(static_cast<std::size_t>(physics.state_dim()));
  for (std::size_t i = 0; i < state.size(); ++i) state[i] = 0.01 * static_cast<double>(i) - 0.05;
  physics.set_state(state.data());
  std::vector<double> back(state.size(), -1.0);
  physics.get_state(back.data());
  EXPECT_EQ(back, state);
  EXPECT_EQ(physics.data()->qvel[0], state[9]);  // qpos (9) first, then qvel
}

TEST(DmcTasks, SetActionClipsAndMapsOntoTheControlRange) {
  const auto task = dmc::make_task("walker", "stand");
  dmc::Physics physics = task->make_physics();
  const std::vector<float> action = {0.5F, -2.0F, 3.0F, 0.0F, -0.25F, 1.0F};
  physics.set_action(action.data(), 6);
  const std::vector<double> expected = {0.5, -1.0, 1.0, 0.0, -0.25, 1.0};  // ctrlrange [−1, 1]
  for (int i = 0; i < 6; ++i) EXPECT_EQ(physics.data()->ctrl[i], expected[static_cast<std::size_t>(i)]) << i;
  const std::vector<float> bad = {0.0F, NAN, 0.0F, 0.0F, 0.0F, 0.0F};
  EXPECT_THROW(physics.set_action(bad.data(), 6), NumericError);
  EXPECT_THROW(physics.set_action(action.data(), 5), std::invalid_argument);
}

class DmcTaskEpisodes : public ::testing::TestWithParam<TaskCase> {};

TEST_P(DmcTaskEpisodes, FullEpisodeSizesRangeTruncationAndRelabellingIdentity) {
  const TaskCase& c = GetParam();
  auto env = make_env(c.domain, c.task);
  EXPECT_EQ(env->spec().obs_dim, c.obs_dim);
  EXPECT_EQ(env->spec().action_dim, c.action_dim);
  EXPECT_EQ(env->max_episode_steps(), c.episode_steps);
  const auto task = dmc::make_task(c.domain, c.task);
  dmc::Physics relabel = task->make_physics();

  const auto obs0 = env->reset(3);
  ASSERT_EQ(obs0.numel(), c.obs_dim);
  ASSERT_EQ(env->simulator_state().numel(), c.state_dim);
  ASSERT_EQ(env->simulator_state().scalar_type(), at::kDouble);
  double max_relabel_error = 0.0;
  double ret = 0.0;
  std::vector<float> recomputed(static_cast<std::size_t>(c.obs_dim));
  const auto actions = random_actions(c.episode_steps, c.action_dim, 5);
  for (std::int64_t t = 1; t <= c.episode_steps; ++t) {
    const StepResult r = env->step(actions[static_cast<std::size_t>(t - 1)]);
    ASSERT_EQ(r.observation.numel(), c.obs_dim);
    ASSERT_TRUE(at::isfinite(r.observation).all().item<bool>()) << label(c) << " step " << t;
    ASSERT_GE(r.reward, 0.0) << label(c) << " step " << t;
    ASSERT_LE(r.reward, 1.0) << label(c) << " step " << t;
    ASSERT_EQ(r.truncated, t == c.episode_steps) << label(c) << " step " << t;
    ASSERT_FALSE(r.terminated);
    const at::Tensor state = env->simulator_state();  // [state_dim] float64
    ASSERT_EQ(state.numel(), c.state_dim);
    const double relabelled = dmc::reward_from_state(*task, relabel, state.data_ptr<double>());
    max_relabel_error = std::max(max_relabel_error, std::abs(relabelled - r.reward));
    // docs/exorl.md, "Step, reset and state": the observation recomputed from the state equals the online
    // one, except the acceleration-stage entries, which online come from the last sub-step with actuation.
    task->observation(relabel, recomputed.data());
    const float* online = r.observation.data_ptr<float>();
    for (std::int64_t i = 0; i < c.obs_dim; ++i) {
      const bool acceleration_stage = c.acceleration_stage_obs && ((i >= 48 && i <= 50) || i >= 54);
      if (!acceleration_stage) {
        ASSERT_EQ(recomputed[static_cast<std::size_t>(i)], online[i]) << label(c) << " obs " << i;
      }
    }
    ret += r.reward;
  }
  EXPECT_LE(max_relabel_error, c.relabel_tolerance) << label(c);
  EXPECT_GE(ret, 0.0) << label(c);
  EXPECT_LE(ret, static_cast<double>(c.episode_steps)) << label(c);
  EXPECT_THROW(env->step(actions[0]), std::logic_error);
}

TEST_P(DmcTaskEpisodes, RandomActionReturnsNearTheReferenceMeasurements) {
  // A wrong timestep, action map, reset or reward term moves these far outside the bands.
  const TaskCase& c = GetParam();
  auto env = make_env(c.domain, c.task);
  constexpr int kEpisodes = 3;
  double mean = 0.0;
  for (int episode = 0; episode < kEpisodes; ++episode) {
    env->reset(200 + static_cast<std::uint64_t>(episode));
    double ret = 0.0;
    for (const auto& a :
         random_actions(c.episode_steps, c.action_dim, 300 + static_cast<std::uint32_t>(episode)))
      ret += env->step(a).reward;
    mean += ret / kEpisodes;
  }
  EXPECT_GE(mean, c.random_return_lo) << label(c);
  EXPECT_LE(mean, c.random_return_hi) << label(c);
}

TEST_P(DmcTaskEpisodes, SameSeedSameEpisodeOtherSeedOtherStart) {
  const TaskCase& c = GetParam();
  auto a = make_env(c.domain, c.task), b = make_env(c.domain, c.task);
  ASSERT_TRUE(at::equal(a->reset(7), b->reset(7)));
  ASSERT_TRUE(at::equal(a->simulator_state(), b->simulator_state()));
  for (const auto& act : random_actions(100, c.action_dim, 9)) {
    const StepResult ra = a->step(act), rb = b->step(act);  // interleaved: no shared state
    ASSERT_TRUE(at::equal(ra.observation, rb.observation)) << label(c);
    ASSERT_EQ(ra.reward, rb.reward) << label(c);
  }
  EXPECT_FALSE(at::equal(a->reset(7), b->reset(8))) << label(c);
}

std::string case_name(const ::testing::TestParamInfo<TaskCase>& info) {
  return std::string(info.param.domain) + "_" + info.param.task;
}

INSTANTIATE_TEST_SUITE_P(AllTasks, DmcTaskEpisodes, ::testing::ValuesIn(cases()), case_name);

#endif  // DIPOLE_HAVE_MUJOCO

}  // namespace
}  // namespace dipole
