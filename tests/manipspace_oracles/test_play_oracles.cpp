// Plan oracles on the C++ environments (docs/ogbench.md, "Plan oracles"; self-consistency checks of
// "Fidelity and checks"): data-collection reset and targets, cube / button / drawer / window sub-task success
// and lengths with noise off, observations recomputed from the stored qpos/qvel, determinism over thread
// counts, and the files of dipole_ogbench_generate (terminals, actions, widths).
#include <gtest/gtest.h>

#include <dipole/sdk/npz.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "generator_loop.hpp"

namespace dipole::manipspace::oracles {
namespace {

namespace fs = std::filesystem;
using ogbench::Category;

PlanConfig noise_free() {
  PlanConfig c;
  c.noise = 0.0;
  return c;
}

/// Runs the oracle for the current target until it is done; returns the sub-task length.
int run_subtask(PlayEnv& env, PlanOracle& oracle, Rng& rng) {
  oracle.reset(env, rng);
  int steps = 0;
  while (!oracle.done()) {
    Action a = oracle.action(env);
    for (const double v : a) EXPECT_LE(std::abs(v), 1.0);
    env.step(a);
    ++steps;
    if (steps > 400) {
      ADD_FAILURE() << "oracle never done";
      break;
    }
  }
  return steps;
}

TEST(PlayEnv, DataCollectionResetAndTargets) {
  PlayEnv env(Category::CubeDouble);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    env.reset(seed);
    EXPECT_EQ(env.steps(), 0);
    EXPECT_EQ(env.time(), 0.0);
    for (int i = 0; i < 2; ++i) {
      const Vec3 p = env.env().cube_pos(i);
      EXPECT_GE(p[0], 0.3);
      EXPECT_LE(p[0], 0.55);
      EXPECT_GE(p[1], -0.3);
      EXPECT_LE(p[1], 0.3);
      EXPECT_EQ(p[2], 0.02);
    }
    const Vec3 e = env.effector_pos();  // the arm pose of the arm box (IK converges to 1e-4)
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_GE(e[k], env.arm_lo()[k] - 1e-3);
      EXPECT_LE(e[k], env.arm_hi()[k] + 1e-3);
    }
    // The target cube's mocap holds the target, the other is parked at (0, 0, −0.3).
    const PlayTarget& t = env.target();
    EXPECT_EQ(t.task, TargetTask::Cube);
    const Vec3 goal = env.env().cube_goal(t.cube), parked = env.env().cube_goal(1 - t.cube);
    EXPECT_EQ(goal, t.cube_pos);
    EXPECT_EQ(parked, (Vec3{0.0, 0.0, -0.3}));
  }
  // Stacking: cube 1 on top of cube 0 → only cube 1 is a "top" cube; with p_stack = 1 and both on
  // the floor, the target sits 0.04 above the other cube.
  env.env().set_cube(0, {0.4, 0.0, 0.02}, {1, 0, 0, 0});
  env.env().set_cube(1, {0.4, 0.01, 0.06}, {1, 0, 0, 0});
  for (int i = 0; i < 10; ++i) {
    env.set_new_target(1.0);
    EXPECT_EQ(env.target().cube, 1);
    EXPECT_EQ(env.target().cube_pos[2], 0.02);  // one top cube: no stacking
  }
  env.env().set_cube(1, {0.5, 0.1, 0.02}, {1, 0, 0, 0});
  for (int i = 0; i < 10; ++i) {
    env.set_new_target(1.0);
    const Vec3 other = env.env().cube_pos(1 - env.target().cube);
    EXPECT_EQ(env.target().cube_pos, (Vec3{other[0], other[1], other[2] + 0.04}));
  }
}

TEST(PlayEnv, SceneTargetsFollowTheRules) {
  PlayEnv env(Category::Scene);
  env.reset(3);
  EXPECT_GE(env.env().drawer_q(), -0.16);
  EXPECT_LE(env.env().drawer_q(), 0.0);
  EXPECT_GE(env.env().window_q(), 0.0);
  EXPECT_LE(env.env().window_q(), 0.2);
  int counts[4] = {0, 0, 0, 0};
  env.env().set_button_states({0, 1});  // drawer locked (weight 0.25), window unlocked (weight 1)
  env.env().set_drawer_q(-0.1);
  env.env().set_window_q(0.15);
  env.env().forward();
  for (int i = 0; i < 3250; ++i) {
    env.set_new_target(0.5);
    const PlayTarget& t = env.target();
    ++counts[static_cast<int>(t.task)];
    if (t.task == TargetTask::Drawer) {
      EXPECT_EQ(t.joint_target, 0.0);  // q < −0.08: close it
    }
    if (t.task == TargetTask::Window) {
      EXPECT_EQ(t.joint_target, 0.0);  // q > 0.1: close it
      EXPECT_NEAR(env.window_target_handle()[0], env.window_handle()[0] - 0.15, 1e-6);
    }
    if (t.task == TargetTask::Button) {
      EXPECT_EQ(t.button_state, 1 - env.env().button_states()[static_cast<std::size_t>(t.button)]);
    }
  }
  // Weights cube 1, button 1, drawer 0.25, window 1 (of 3.25): 1000, 1000, 250, 1000 expected.
  EXPECT_NEAR(counts[0], 1000, 100);
  EXPECT_NEAR(counts[1], 1000, 100);
  EXPECT_NEAR(counts[2], 250, 50);
  EXPECT_NEAR(counts[3], 1000, 100);
}

TEST(PlanOracles, CubeSubtasksSucceedWithNoiseOff) {
  GenerateConfig config;
  config.category = Category::CubeSingle;
  config.plan = noise_free();
  PlayEnv env(config.category);
  const PlayEpisode e = play_episode(env, config, 0);
  ASSERT_GE(e.subtasks.size(), 10U);
  int successes = 0;
  for (const auto& s : e.subtasks) {
    EXPECT_EQ(s.task, TargetTask::Cube);
    // docs/ogbench.md, "Fidelity and checks": 87–90 (4.4 s ± jitter of the last keyframe)
    EXPECT_GE(s.length, 86);
    EXPECT_LE(s.length, 91);
    successes += s.success ? 1 : 0;
  }
  const double rate = static_cast<double>(successes) / static_cast<double>(e.subtasks.size());
  std::printf("[ measure  ] cube-single noise 0: %d/%zu sub-tasks reached the target\n", successes,
              e.subtasks.size());
  EXPECT_GE(rate, 0.9);
}

TEST(PlanOracles, CubeSubtasksSucceedWithNoise) {
  GenerateConfig config;
  config.category = Category::CubeSingle;  // noise 0.1, smoothing 0.5 (the play defaults)
  PlayEnv env(config.category);
  const PlayEpisode e = play_episode(env, config, 1);
  int successes = 0;
  for (const auto& s : e.subtasks) successes += s.success ? 1 : 0;
  std::printf("[ measure  ] cube-single noise 0.1: %d/%zu sub-tasks reached the target\n", successes,
              e.subtasks.size());
  EXPECT_GE(static_cast<double>(successes) / static_cast<double>(e.subtasks.size()), 0.9);
}

TEST(PlanOracles, ButtonPressTogglesOnce) {
  PlayEnv env(Category::Scene);
  PlanOracle oracle(noise_free());
  Rng rng(11);
  int toggles = 0, trials = 0;
  for (int trial = 0; trial < 6; ++trial) {
    env.reset(100 + static_cast<std::uint64_t>(trial));
    PlayTarget t;
    t.task = TargetTask::Button;
    t.button = trial % 2;
    const int before = env.env().button_states()[static_cast<std::size_t>(t.button)];
    const int other_before = env.env().button_states()[static_cast<std::size_t>(1 - t.button)];
    t.button_state = 1 - before;
    env.set_target(t);
    const Vec3 e = env.effector_pos(), top = env.button_top(t.button);
    const double d = std::sqrt((e[0] - top[0]) * (e[0] - top[0]) + (e[1] - top[1]) * (e[1] - top[1]) +
                               (e[2] - top[2] - 0.06) * (e[2] - top[2] - 0.06));
    const int length = run_subtask(env, oracle, rng);
    // docs/ogbench.md, "Fidelity and checks": L = (1.34 + 1.6 d) / 0.05 (±0.04 s jitter of the last keyframe
    // = ±0.8 step).
    EXPECT_NEAR(length, (1.34 + 1.6 * d) / 0.05, 1.5);
    EXPECT_EQ(env.env().button_states()[static_cast<std::size_t>(1 - t.button)], other_before);
    toggles += env.env().button_states()[static_cast<std::size_t>(t.button)] != before ? 1 : 0;
    ++trials;
  }
  std::printf("[ measure  ] scene button (noise 0): %d/%d presses toggled\n", toggles, trials);
  EXPECT_EQ(toggles, trials);
}

TEST(PlanOracles, PuzzlePressWithTheGripperClosedTogglesTheCross) {
  PlayEnv env(Category::Puzzle3x3);
  PlanConfig config = noise_free();
  config.gripper_always_closed = true;  // docs/ogbench.md, "Generator loop": the puzzle's button oracle
  PlanOracle oracle(config);
  Rng rng(3);
  for (const int button : {0, 4, 4, 0}) {
    env.reset(300 + static_cast<std::uint64_t>(button));
    const std::vector<int> before = env.env().button_states();
    PlayTarget t;
    t.task = TargetTask::Button;
    t.button = button;
    t.button_state = 1 - before[static_cast<std::size_t>(button)];
    env.set_target(t);
    run_subtask(env, oracle, rng);
    for (const auto& row : oracle.plan()) EXPECT_EQ(row.grasp, 1.0);
    // Lights Out: the pressed button and its in-grid 4-neighbours toggle (0: 0, 1, 3; 4: 1, 3, 4, 5, 7).
    const std::vector<int> cross = button == 0 ? std::vector<int>{0, 1, 3} : std::vector<int>{1, 3, 4, 5, 7};
    const std::vector<int>& after = env.env().button_states();
    for (int k = 0; k < 9; ++k) {
      const bool in_cross = std::find(cross.begin(), cross.end(), k) != cross.end();
      EXPECT_EQ(after[static_cast<std::size_t>(k)] != before[static_cast<std::size_t>(k)], in_cross)
          << "button " << button << ", light " << k;
    }
  }
}

TEST(PlanOracles, UnlockedDrawerAndWindowReachTheirTargetsLockedOnesDoNot) {
  PlayEnv env(Category::Scene);
  PlanOracle oracle(noise_free());
  Rng rng(5);
  for (const TargetTask task : {TargetTask::Drawer, TargetTask::Window}) {
    for (const int lock : {1, 0}) {
      int reached = 0;
      const int trials = 4;
      for (int trial = 0; trial < trials; ++trial) {
        env.reset(200 + static_cast<std::uint64_t>(trial));
        env.env().set_button_states({lock, lock});  // 1 = unlocked (damping 2), 0 = locked (1e6)
        env.env().forward();
        PlayTarget t;
        t.task = task;
        const double q = task == TargetTask::Drawer ? env.env().drawer_q() : env.env().window_q();
        t.joint_target = task == TargetTask::Drawer ? (q >= -0.08 ? -0.16 : 0.0) : (q <= 0.1 ? 0.2 : 0.0);
        env.set_target(t);
        const int length = run_subtask(env, oracle, rng);
        EXPECT_GE(length, 35);  // docs/ogbench.md, "Fidelity and checks": 36–37 (1.8 s ± 0.04 s)
        EXPECT_LE(length, 37);
        reached += env.target_reached() ? 1 : 0;
      }
      std::printf("[ measure  ] scene %s %s (noise 0): %d/%d reached the target\n", to_string(task),
                  lock ? "unlocked" : "locked", reached, trials);
      if (lock)
        EXPECT_GE(reached, trials - 1);
      else
        EXPECT_EQ(reached, 0);
    }
  }
}

/// Sets the stored state of row t, runs mj_forward and compares the observation with the stored
/// one: exact to float32 rounding except the effector entries (lagged by a substep in cube envs,
/// docs/ogbench.md, "Manipulation: observation") and κ (not recomputable from qpos/qvel).
void expect_observations_recomputable(Category category, int steps, double effector_tolerance) {
  GenerateConfig config;
  config.category = category;
  config.steps = steps;
  PlayEnv env(category);
  const PlayEpisode e = play_episode(env, config, 2);
  const mjModel* m = env.env().model();
  mjData* d = env.env().data();
  const int nb = env.env().num_buttons();
  double worst_effector = 0.0, worst_other = 0.0;
  for (int t = 0; t <= steps; ++t) {
    const double* s = e.states.data() + static_cast<std::size_t>(t * e.state_dim);
    for (int i = 0; i < m->nq; ++i) d->qpos[i] = static_cast<float>(s[i]);  // the file keeps float32
    for (int i = 0; i < m->nv; ++i) d->qvel[i] = static_cast<float>(s[m->nq + i]);
    std::vector<int> buttons;
    for (int i = 0; i < nb; ++i) buttons.push_back(static_cast<int>(s[m->nq + m->nv + i]));
    if (nb > 0) env.env().set_button_states(buttons);
    mj_forward(m, d);
    const std::vector<double> obs = env.env().observation();
    const float* stored = e.observations.data() + static_cast<std::size_t>(t * e.obs_dim);
    for (int k = 0; k < e.obs_dim; ++k) {
      const double diff = std::abs(obs[static_cast<std::size_t>(k)] - static_cast<double>(stored[k]));
      if (k == 18) {
        EXPECT_GE(stored[k], 0.0f);
        EXPECT_LE(stored[k], 1.0f);
      } else if (k >= 12 && k <= 16) {
        worst_effector = std::max(worst_effector, diff);
      } else {
        worst_other = std::max(worst_other, diff / (1.0 + std::abs(stored[k])));
      }
    }
  }
  std::printf("[ measure  ] %s: recomputed observations, worst effector |Δ| %.2e, others %.2e (relative)\n",
              ogbench::info(category).name, worst_effector, worst_other);
  EXPECT_LE(worst_other, 2e-6);
  EXPECT_LE(worst_effector, effector_tolerance);
}

TEST(PlayData, ObservationsRecomputedFromStoredState) {
  expect_observations_recomputable(Category::CubeSingle, 150, 0.015);  // the effector lag of cube envs
  expect_observations_recomputable(Category::Scene, 150, 1e-5);        // mj_forward after every step
}

std::vector<PlayEpisode> collect(const GenerateConfig& config, int count, int threads) {
  std::vector<PlayEpisode> out;
  std::vector<std::int64_t> order;
  generate_play(config, 3, count, threads, [&](std::int64_t index, PlayEpisode&& e) {
    order.push_back(index);
    out.push_back(std::move(e));
  });
  for (int i = 0; i < count; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], 3 + i);
  return out;
}

TEST(PlayData, SameSeedSameEpisodesWhateverTheThreadCount) {
  GenerateConfig config;
  config.category = Category::CubeDouble;
  config.steps = 60;
  config.seed = 9;
  const auto one = collect(config, 3, 1), two = collect(config, 3, 2);
  ASSERT_EQ(one.size(), 3U);
  ASSERT_EQ(two.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(one[i].observations, two[i].observations);
    EXPECT_EQ(one[i].states, two[i].states);
    EXPECT_EQ(one[i].actions, two[i].actions);
  }
  EXPECT_NE(one[0].actions, one[1].actions);  // different episodes differ
  config.seed = 10;
  EXPECT_NE(collect(config, 1, 1)[0].actions, one[0].actions);
}

// ---- the executable and its files -----------------------------------------------------------------

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int generate(const fs::path& dir, const std::string& args) {
  const std::string command = std::string(DIPOLE_OGBENCH_GENERATE) + " --directory " + dir.string() + " " +
                              args + " > " + (dir.string() + ".log") + " 2>&1";
  return std::system(command.c_str());
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("dipole_test_oracles_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

TEST(Generator, FilesAreIdenticalForOneAndTwoThreads) {
  const fs::path a = fresh_dir("t1"), b = fresh_dir("t2");
  const std::string args = "--dataset scene-play-v0 --episodes 2 --val-episodes 1 --steps 40 --seed 4";
  ASSERT_EQ(generate(a, args + " --threads 1"), 0) << slurp(a.string() + ".log");
  ASSERT_EQ(generate(b, args + " --threads 2"), 0) << slurp(b.string() + ".log");
  for (const char* file : {"scene-play-v0.npz", "scene-play-v0-val.npz"}) {
    const std::string x = slurp(a / file), y = slurp(b / file);
    EXPECT_FALSE(x.empty()) << file;
    EXPECT_EQ(x, y) << file;
  }
  const auto arrays = npz::read_npz((a / "scene-play-v0.npz").string());
  ASSERT_EQ(arrays.count("button_states"), 1U);
  EXPECT_EQ(arrays.at("button_states").dtype, npz::DType::Int64);
  EXPECT_EQ(arrays.at("button_states").shape, (std::vector<std::int64_t>{80, 2}));
  EXPECT_EQ(arrays.at("observations").shape, (std::vector<std::int64_t>{80, 40}));
  // Running again into the same directory finds every episode: nothing to do.
  ASSERT_EQ(generate(a, args), 0);
  EXPECT_NE(slurp(a.string() + ".log").find("nothing to do"), std::string::npos);
  fs::remove_all(a);
  fs::remove_all(b);
  fs::remove(a.string() + ".log");
  fs::remove(b.string() + ".log");
}

TEST(Generator, ExtendingACollectionEqualsOneRun) {
  // Episode i depends only on (seed, i): 2 episodes, then a rerun asking for 3, gives the file of
  // one run of 3.
  const fs::path a = fresh_dir("ext"), b = fresh_dir("one");
  const std::string args = "--dataset cube-double-play-v0 --val-episodes 0 --steps 30 --seed 5 --threads 1";
  ASSERT_EQ(generate(a, args + " --episodes 2"), 0) << slurp(a.string() + ".log");
  ASSERT_EQ(generate(a, args + " --episodes 3"), 0) << slurp(a.string() + ".log");
  ASSERT_EQ(generate(b, args + " --episodes 3"), 0) << slurp(b.string() + ".log");
  const auto x = npz::read_npz((a / "cube-double-play-v0.npz").string());
  const auto y = npz::read_npz((b / "cube-double-play-v0.npz").string());
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [key, array] : y) {
    ASSERT_EQ(x.count(key), 1U) << key;
    EXPECT_EQ(x.at(key).shape, array.shape) << key;
    EXPECT_EQ(x.at(key).data, array.data) << key;
  }
  EXPECT_EQ(y.at("terminals").shape, (std::vector<std::int64_t>{90}));
  for (const fs::path& d : {a, b}) {
    fs::remove_all(d);
    fs::remove(d.string() + ".log");
  }
}

TEST(Generator, FullLengthEpisodesTerminalsAndActions) {
  const fs::path dir = fresh_dir("full");
  ASSERT_EQ(generate(dir, "--dataset cube-single-play-v0 --episodes 1 --val-episodes 1 --seed 2"), 0)
      << slurp(dir.string() + ".log");
  for (const char* file : {"cube-single-play-v0.npz", "cube-single-play-v0-val.npz"}) {
    const auto arrays = npz::read_npz((dir / file).string());
    const npz::Array& terminals = arrays.at("terminals");
    ASSERT_EQ(terminals.dtype, npz::DType::Bool);
    ASSERT_EQ(terminals.shape, (std::vector<std::int64_t>{1001}));
    for (std::size_t i = 0; i < 1001; ++i)
      EXPECT_EQ(terminals.data[i], i == 1000 ? 1 : 0) << file << " row " << i;
    const npz::Array& actions = arrays.at("actions");
    ASSERT_EQ(actions.shape, (std::vector<std::int64_t>{1001, 5}));
    const auto* a = reinterpret_cast<const float*>(actions.data.data());
    int saturated_z = 0;
    for (std::size_t i = 0; i < 1001 * 5; ++i) {
      EXPECT_LE(std::abs(a[i]), 1.0f);
      saturated_z += (i % 5 == 2 && std::abs(a[i]) == 1.0f) ? 1 : 0;
    }
    EXPECT_EQ(arrays.at("qpos").shape, (std::vector<std::int64_t>{1001, 21}));
    EXPECT_EQ(arrays.at("qvel").shape, (std::vector<std::int64_t>{1001, 20}));
    EXPECT_EQ(arrays.at("observations").shape, (std::vector<std::int64_t>{1001, 28}));
    EXPECT_EQ(arrays.count("button_states"), 0U);
    std::printf("[ measure  ] %s: share of rows with |a_z| = 1: %.3f (prototype 0.20)\n", file,
                saturated_z / 1001.0);
  }
  // The file holds exactly the in-process episode (recorder rows = s_0 … s_1000, a_0 … a_1000).
  GenerateConfig config;
  config.category = Category::CubeSingle;
  config.seed = 2;
  PlayEnv env(config.category);
  const PlayEpisode e = play_episode(env, config, 1);  // episode 1 = the validation file's
  const auto val = npz::read_npz((dir / "cube-single-play-v0-val.npz").string());
  const auto* obs = reinterpret_cast<const float*>(val.at("observations").data.data());
  const auto* act = reinterpret_cast<const float*>(val.at("actions").data.data());
  const auto* qpos = reinterpret_cast<const float*>(val.at("qpos").data.data());
  EXPECT_TRUE(std::equal(obs, obs + 1001 * 28, e.observations.begin()));
  EXPECT_TRUE(std::equal(act, act + 1001 * 5, e.actions.begin()));
  for (int t = 0; t < 1001; t += 100)
    for (int k = 0; k < 21; ++k)
      EXPECT_EQ(qpos[t * 21 + k],
                static_cast<float>(e.states[static_cast<std::size_t>(t * e.state_dim + k)]));
  fs::remove_all(dir);
  fs::remove(dir.string() + ".log");
}

TEST(Generator, NoisyTypeWritesTheMarkovEpisodesToNoisyFiles) {
  const fs::path dir = fresh_dir("noisy");
  ASSERT_EQ(generate(dir,
                     "--type noisy --dataset puzzle-3x3-noisy-v0 --episodes 1 --val-episodes 0 --steps 50 "
                     "--seed 3 --threads 1"),
            0)
      << slurp(dir.string() + ".log");
  const auto arrays = npz::read_npz((dir / "puzzle-3x3-noisy-v0.npz").string());
  ASSERT_EQ(arrays.at("actions").shape, (std::vector<std::int64_t>{50, 5}));
  EXPECT_EQ(arrays.at("button_states").shape, (std::vector<std::int64_t>{50, 9}));
  GenerateConfig config;
  config.category = Category::Puzzle3x3;
  config.type = DataType::Noisy;
  config.steps = 50;
  config.seed = 3;
  PlayEnv env(config.category);
  const PlayEpisode e = play_episode(env, config, 0);
  const auto* act = reinterpret_cast<const float*>(arrays.at("actions").data.data());
  EXPECT_TRUE(std::equal(act, act + 50 * 5, e.actions.begin()));
  config.type = DataType::Play;  // the plan oracles act differently from the same reset
  EXPECT_NE(play_episode(env, config, 0).actions, e.actions);
  // The dataset name must carry the type.
  EXPECT_NE(generate(dir, "--type noisy --dataset puzzle-3x3-play-v0 --episodes 1"), 0);
  EXPECT_NE(slurp(dir.string() + ".log").find("puzzle-3x3-noisy-v0"), std::string::npos);
  EXPECT_NE(generate(dir, "--type clean --episodes 1"), 0);
  EXPECT_NE(slurp(dir.string() + ".log").find("expected play or noisy"), std::string::npos);
  fs::remove_all(dir);
  fs::remove(dir.string() + ".log");
}

}  // namespace
}  // namespace dipole::manipspace::oracles

#else
TEST(PlanOracles, SkippedWithoutMujoco) {
  GTEST_SKIP() << "MuJoCo not found";
}
#endif
