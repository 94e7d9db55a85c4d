// Files in the official OGBench layout written by `dipole collect` (ogbench_locomaze environment,
// `ogbench` recorder): the relations between observations and stored qpos/qvel, the humanoid
// observation recomputed from the stored state, terminals, the reset-quaternion convention of the
// first rows, one-step replay of the stored rows, and the `ogbench` dataset's rewards and masks on
// them (docs/ogbench.md, "Locomotion environments").
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <dipole/core/config.hpp>
#include <dipole/core/registry.hpp>
#include <dipole/dataset.hpp>
#include <dipole/sdk/npz.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "support/run_command.hpp"

#ifdef DIPOLE_HAVE_MUJOCO
#include "loco_env.hpp"

namespace dipole::locomaze {
namespace {

namespace fs = std::filesystem;

struct Files {
  at::Tensor observations, actions, terminals, qpos, qvel;  // float32 / bool, as stored
};

class LocomazeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_locomaze_files_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// `dipole collect` of `episodes` random episodes of `steps` steps into <stem>.npz (one val episode).
  Files collect(const std::string& env, const std::string& stem, int episodes, int steps) {
    const auto r = test::dipole_cli(
        "collect " + std::string(DIPOLE_SOURCE_DIR) +
        "/configs/ogbench_locomaze_collect_random.toml --set recorder.directory=" + dir_.string() +
        " --set environment.env=" + env + " --set recorder.dataset=" + stem + " --set collect.max_steps=" +
        std::to_string(steps) + " --set recorder.val_episodes=1 --episodes " + std::to_string(episodes));
    EXPECT_EQ(r.code, 0) << r.output;
    const std::string path = (dir_ / (stem + ".npz")).string();
    Files f;
    f.observations = npz::to_tensor(npz::read_npz_member(path, "observations"));
    f.actions = npz::to_tensor(npz::read_npz_member(path, "actions"));
    f.terminals = npz::to_tensor(npz::read_npz_member(path, "terminals"));
    f.qpos = npz::to_tensor(npz::read_npz_member(path, "qpos"));
    f.qvel = npz::to_tensor(npz::read_npz_member(path, "qvel"));
    return f;
  }

  std::shared_ptr<Dataset> dataset(const std::string& name) {
    static Registry registry = Registry::with_default_plugins();
    auto pipeline = config::Pipeline::parse("[dataset]\ntype = \"ogbench\"\ndirectory = \"" + dir_.string() +
                                                "\"\ndataset = \"" + name + "\"\nclip_actions = 0\n",
                                            "test.toml");
    auto params = pipeline.validate("dataset", "ogbench", registry.info(Kind::Dataset, "ogbench").schema);
    BuildContext ctx;
    ctx.section = "dataset";
    return std::dynamic_pointer_cast<Dataset>(registry.create(Kind::Dataset, "ogbench", params, ctx));
  }

  /// Median of the one-step replay error: set (qpos_t, qvel_t) of a stored row as double, apply
  /// actions_t through the env step, compare with the stored qpos_{t+1}.
  static double replay_median(Scene& scene, const Files& f) {
    const auto q = f.qpos.to(at::kDouble).contiguous(), v = f.qvel.to(at::kDouble).contiguous(),
               a = f.actions.to(at::kDouble).contiguous();
    const auto term = f.terminals.contiguous();
    const int nq = scene.nq(), nv = scene.nv(), nu = scene.action_dim();
    std::vector<double> errors;
    for (std::int64_t t = 0; t + 1 < q.size(0); ++t) {
      if (term[t].item<bool>()) continue;  // the next row starts another episode
      scene.set_state(q.data_ptr<double>() + t * nq, v.data_ptr<double>() + t * nv);
      scene.step(a.data_ptr<double>() + t * nu);
      double err = 0;
      for (int i = 0; i < nq; ++i)
        err = std::max(err, std::abs(scene.data()->qpos[i] - q[t + 1][i].item<double>()));
      errors.push_back(err);
    }
    std::sort(errors.begin(), errors.end());
    return errors[errors.size() / 2];
  }

  fs::path dir_;
};

TEST_F(LocomazeFiles, HumanoidRowsMatchTheOfficialLayoutAndRecompute) {
  const int steps = 60;
  const Files f =
      collect("humanoidmaze-medium-singletask-task1-v0", "humanoidmaze-medium-navigate-v0", 3, steps);
  ASSERT_EQ(f.observations.size(0), 2 * steps);
  ASSERT_EQ(f.observations.size(1), 69);
  ASSERT_EQ(f.qpos.size(1), 28);
  ASSERT_EQ(f.qvel.size(1), 27);
  for (std::int64_t i = 0; i < f.terminals.size(0); ++i)
    EXPECT_EQ(f.terminals[i].item<bool>(), (i + 1) % steps == 0) << i;
  // Bit-for-bit relations of the official files.
  EXPECT_TRUE(at::equal(f.observations.slice(1, 0, 2), f.qpos.slice(1, 0, 2)));
  EXPECT_TRUE(at::equal(f.observations.slice(1, 2, 23), f.qpos.slice(1, 7, 28)));
  EXPECT_TRUE(at::equal(f.observations.slice(1, 42, 69), f.qvel));
  // obs 23–41 recomputed from the stored (float32) state by mj_forward.
  Scene scene({Agent::Humanoid, MapName::Medium});
  const auto q = f.qpos.to(at::kDouble).contiguous(), v = f.qvel.to(at::kDouble).contiguous();
  double worst = 0;
  for (std::int64_t t = 0; t < q.size(0); ++t) {
    const auto obs = scene.observation_of(q.data_ptr<double>() + t * 28, v.data_ptr<double>() + t * 27);
    for (int k = 23; k < 42; ++k)
      worst =
          std::max(worst, std::abs(obs[static_cast<std::size_t>(k)] - f.observations[t][k].item<double>()));
  }
  EXPECT_LT(worst, 5e-5);
  EXPECT_GT(worst, 0.0);  // float32 storage: not bit-identical
  // Stored rows replay one step at the float32 rounding floor.
  EXPECT_LT(replay_median(scene, f), 1e-6);
  // The `ogbench` dataset relabels them: rewards in {−1, 0}, mask = −reward.
  const auto data = dataset("humanoidmaze-medium-navigate-singletask-task1-v0");
  ASSERT_EQ(data->num_episodes(), 2);
  const Batch ep = data->episode(0);
  EXPECT_EQ(ep.rewards.size(0), steps - 1);
  EXPECT_TRUE(at::equal(ep.masks, -ep.rewards));
  EXPECT_TRUE(at::all(ep.rewards == -1.0f).item<bool>());  // a falling humanoid never reaches (20, 20)
}

TEST_F(LocomazeFiles, AntsoccerRowsAreQposThenQvelWithRawResetQuaternions) {
  const int steps = 25;
  const Files f = collect("antsoccer-arena-singletask-v0", "antsoccer-arena-navigate-v0", 4, steps);
  ASSERT_EQ(f.observations.size(1), 42);
  EXPECT_TRUE(at::equal(f.observations.slice(1, 0, 22), f.qpos));
  EXPECT_TRUE(at::equal(f.observations.slice(1, 22, 42), f.qvel));
  // First row of each episode: the ≥ 3.2 convention (the default `raw`) leaves ‖q‖ − 1 spread over ±0.1
  // for the ant and the ball; later rows are unit quaternions.
  double first_gap = 0, later_gap = 0;
  for (std::int64_t t = 0; t < f.qpos.size(0); ++t) {
    for (const int begin : {3, 18}) {
      const auto qq = f.qpos[t].slice(0, begin, begin + 4).to(at::kDouble);
      const double gap = std::abs(std::sqrt((qq * qq).sum().item<double>()) - 1.0);
      (t % steps == 0 ? first_gap : later_gap) = std::max(t % steps == 0 ? first_gap : later_gap, gap);
    }
  }
  EXPECT_GT(first_gap, 0.01);
  EXPECT_LT(later_gap, 1e-6);
  // The ball starts around (0, 0) (task4), the ant around (20, 20).
  EXPECT_LE(std::abs(f.qpos[0][15].item<float>()), 1.0f);
  EXPECT_LE(std::abs(f.qpos[0][0].item<float>() - 20.0f), 1.0f);
  Scene scene({Agent::Ant, MapName::Arena, true});
  EXPECT_LT(replay_median(scene, f), 1e-6);
}

TEST_F(LocomazeFiles, LocomotionPresetsResolveOnRecordedFiles) {
  // configs/presets/<method>/<task>.toml: the data, the ogbench_locomaze environment and the published
  // per-task settings reach the resolved pipeline (short files stand in for the official ones). One
  // of each method (the nine presets are the same few lines; `dipole config` costs ~1 s of CPU each).
  collect("humanoidmaze-medium-singletask-task1-v0", "humanoidmaze-medium-navigate-v0", 2, 5);
  collect("antsoccer-arena-singletask-v0", "antsoccer-arena-navigate-v0", 2, 5);
  struct Case {
    std::string method, task;
    std::vector<std::string> snippets;
  };
  const std::vector<Case> cases = {
      {"fql", "humanoidmaze-medium-navigate", {"alpha = 30.0", "discount = 0.995", "q_agg = \"mean\""}},
      {"fql", "antsoccer-arena-navigate", {"alpha = 10.0", "discount = 0.995", "-task4-v0"}},
      {"dipole", "humanoidmaze-medium-navigate", {"type = \"dipole\"", "discount = 0.995"}},
      {"flow_bc", "antsoccer-arena-navigate", {"type = \"flow_bc\""}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + "/" + c.task);
    const auto r =
        test::dipole_cli("config " + std::string(DIPOLE_SOURCE_DIR) + "/configs/presets/" + c.method + "/" +
                         c.task + ".toml --set dataset.directory=" + dir_.string());
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string category = c.task.substr(0, c.task.rfind("-navigate"));
    for (const std::string& s :
         {std::string("type = \"ogbench_locomaze\""), "env = \"" + category + "-singletask-task",
          "dataset = \"" + c.task + "-singletask-task", std::string("episodes = 50")})
      EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
    for (const std::string& s : c.snippets)
      EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  }
}

TEST_F(LocomazeFiles, PointmazeGeneratorWritesNavigateDataInTheOfficialLayout) {
  const int rows = 400;
  const auto r = test::run_command(
      std::string(DIPOLE_LOCOMAZE_GENERATE) + " --dataset pointmaze-medium-navigate-v0 --directory " +
      dir_.string() + " --episodes 4 --val-episodes 1 --steps " + std::to_string(rows) + " --seed 3");
  ASSERT_EQ(r.code, 0) << r.output;
  // The oracle walks the point from cell to cell: most episodes reach at least one goal in 400 steps.
  int reached = -1, total = -1;
  const auto at = r.output.find(" new episodes reached");
  ASSERT_NE(at, std::string::npos) << r.output;
  const auto line = r.output.substr(r.output.rfind(';', at) + 1);
  ASSERT_EQ(std::sscanf(line.c_str(), " %d of %d", &reached, &total), 2) << line;
  EXPECT_EQ(total, 5);
  EXPECT_GE(reached, 2) << r.output;
  const std::string path = (dir_ / "pointmaze-medium-navigate-v0.npz").string();
  const at::Tensor obs = npz::to_tensor(npz::read_npz_member(path, "observations"));
  const at::Tensor act = npz::to_tensor(npz::read_npz_member(path, "actions"));
  const at::Tensor qpos = npz::to_tensor(npz::read_npz_member(path, "qpos"));
  const at::Tensor qvel = npz::to_tensor(npz::read_npz_member(path, "qvel"));
  const at::Tensor term = npz::to_tensor(npz::read_npz_member(path, "terminals"));
  ASSERT_EQ(obs.size(0), 4 * rows);
  EXPECT_TRUE(at::equal(obs, qpos));
  EXPECT_LE(act.abs().max().item<float>(), 1.0f);
  EXPECT_EQ(term.sum().item<std::int64_t>(), 4);
  // Without wall contact the point moves exactly 0.2·a per step (qvel of the next row stays 0).
  int free_rows = 0;
  for (std::int64_t t = 0; t + 1 < obs.size(0); ++t) {
    if (term[t].item<bool>() || qvel[t + 1].abs().max().item<float>() != 0.0f) continue;
    ++free_rows;
    for (int k = 0; k < 2; ++k)
      EXPECT_NEAR(qpos[t + 1][k].item<float>() - qpos[t][k].item<float>(), 0.2f * act[t][k].item<float>(),
                  4e-6);
  }
  EXPECT_GT(free_rows, rows);
  // The noise: actions are not all saturated unit directions.
  EXPECT_LT(act.abs().mean().item<float>(), 0.9f);
  const auto data = dataset("pointmaze-medium-navigate-singletask-task2-v0");
  EXPECT_EQ(data->num_episodes(), 4);
  const auto stitch = test::run_command(std::string(DIPOLE_LOCOMAZE_GENERATE) +
                                        " --dataset pointmaze-large-stitch-v0 --directory " + dir_.string() +
                                        " --episodes 2 --val-episodes 0");
  ASSERT_EQ(stitch.code, 0) << stitch.output;
  EXPECT_EQ(
      npz::to_tensor(npz::read_npz_member((dir_ / "pointmaze-large-stitch-v0.npz").string(), "terminals"))
          .size(0),
      2 * 201);
  const auto bad = test::run_command(std::string(DIPOLE_LOCOMAZE_GENERATE) +
                                     " --dataset antmaze-medium-navigate-v0 --directory " + dir_.string());
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("unpublished"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace dipole::locomaze
#else
TEST(LocomazeFiles, Skipped) {
  GTEST_SKIP() << "built without MuJoCo: plugin dipole_locomaze not available";
}
#endif
