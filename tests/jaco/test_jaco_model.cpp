// Jaco (plugins/benchmarks/dmc/jaco.cpp): the composed model against its compiled facts, the errors for
// broken asset files, the IK and the reward formula (plugins/benchmarks/dmc/README.md, "jaco").
#include <gtest/gtest.h>

#ifdef DIPOLE_HAVE_MUJOCO

#include <mujoco/mujoco.h>

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <unistd.h>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "jaco.hpp"
#include "jaco_test_util.hpp"

namespace dipole::dmc {
namespace {

namespace fs = std::filesystem;

std::string kinova_dir() {
  return fs::path(find_asset(std::string(kJacoAssetDir) + "/jaco_arm.xml")).parent_path().string();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

/// A scratch copy of the kinova folder (XMLs copied, meshes linked) that a test may break.
class ScratchKinova {
 public:
  ScratchKinova() : dir_(fs::temp_directory_path() / ("dipole_jaco_test_" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const fs::path source = kinova_dir();
    for (const char* file : {"common.xml", "jaco_arm.xml", "jaco_hand.xml"})
      fs::copy_file(source / file, dir_ / file);
    fs::create_directory_symlink(source / "meshes_decimated", dir_ / "meshes_decimated");
  }
  ~ScratchKinova() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ScratchKinova(const ScratchKinova&) = delete;
  ScratchKinova& operator=(const ScratchKinova&) = delete;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

std::string error_of(const std::string& dir) {
  try {
    load_jaco_physics(dir, {0.0, 0.0, 0.0});
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

// ---- model -------------------------------------------------------------------------------------

TEST(JacoModel, CompiledSizesOfTheSpec) {
  const auto task = make_jaco_task("reach_top_left");
  ASSERT_NE(task, nullptr);
  const Physics physics = task->make_physics();
  const mjModel* m = physics.model();
  EXPECT_EQ(m->nq, 9);
  EXPECT_EQ(m->nv, 9);
  EXPECT_EQ(m->na, 0);
  EXPECT_EQ(m->nu, 9);
  EXPECT_EQ(m->nbody, 17);
  EXPECT_EQ(m->nsensor, 6);
  EXPECT_EQ(m->nsensordata, 18);
  EXPECT_EQ(physics.state_dim(), 18);
  EXPECT_EQ(m->opt.timestep, 0.002);
  EXPECT_EQ(m->opt.cone, mjCONE_ELLIPTIC);
  EXPECT_EQ(m->opt.noslip_iterations, 5);
  EXPECT_EQ(m->opt.noslip_tolerance, 0.0);
  // qpos order joint_1 … joint_6, finger_1 … finger_3
  for (int j = 0; j < 9; ++j) {
    const std::string name = j < 6 ? "joint_" + std::to_string(j + 1) : "finger_" + std::to_string(j - 5);
    const int id = mj_name2id(m, mjOBJ_JOINT, name.c_str());
    ASSERT_GE(id, 0) << name;
    EXPECT_EQ(m->jnt_qposadr[id], j) << name;
  }
  EXPECT_EQ(task->obs_dim(), 42);
  EXPECT_EQ(task->action_dim(), 9);
  EXPECT_EQ(task->physics_steps_per_action(), 20);
  EXPECT_EQ(task->episode_steps(), 250);
  EXPECT_EQ(task->domain(), "jaco");
  EXPECT_EQ(task->name(), "reach_top_left");
}

TEST(JacoModel, BodyMassesOfTheSpec) {
  const Physics physics = make_jaco_task("reach_top_right")->make_physics();
  const mjModel* m = physics.model();
  const auto mass = [m](const char* body) {
    const int id = mj_name2id(m, mjOBJ_BODY, body);
    EXPECT_GE(id, 0) << body;
    return id < 0 ? -1.0 : m->body_mass[id];
  };
  EXPECT_NEAR(mass("b_base"), 0.718306, 1e-12);
  EXPECT_NEAR(mass("b_1"), 0.643205, 1e-12);
  EXPECT_NEAR(mass("b_2"), 1.16915, 1e-12);
  EXPECT_NEAR(mass("b_3"), 0.673443, 1e-12);
  EXPECT_NEAR(mass("b_4"), 0.221432, 1e-12);
  EXPECT_NEAR(mass("b_5"), 0.221432, 1e-12);
  EXPECT_NEAR(mass("b_6"), 1e-5, 1e-15);  // raised from 1e-9 by boundmass
  EXPECT_NEAR(mass("hand"), 0.54719, 1e-12);
  for (const char* finger : {"b_finger_1", "b_finger_2", "b_finger_3"})
    EXPECT_NEAR(mass(finger), 0.0255204, 1e-12);
  for (const char* tip : {"b_finger_tip_1", "b_finger_tip_2", "b_finger_tip_3"})
    EXPECT_NEAR(mass(tip), 0.0132655, 1e-12);
}

TEST(JacoModel, ActuatorsOfTheSpec) {
  const Physics physics = make_jaco_task("reach_top_left")->make_physics();
  const mjModel* m = physics.model();
  for (int i = 0; i < 9; ++i) {
    const double ctrl = i < 3 ? 0.6283185 : (i < 6 ? 0.8377580 : 5.0);  // 36°/s, 48°/s, 5 rad/s
    const double force = i < 3 ? 30.5 : (i < 6 ? 6.8 : 1.0);
    const double kv = i < 6 ? 500.0 : 10.0;
    EXPECT_EQ(m->actuator_trnid[2 * i], i) << i;  // actuator i drives joint i (action order = qpos order)
    EXPECT_NEAR(m->actuator_ctrlrange[2 * i], -ctrl, 1e-7) << i;
    EXPECT_NEAR(m->actuator_ctrlrange[2 * i + 1], ctrl, 1e-7) << i;
    EXPECT_EQ(m->actuator_forcerange[2 * i + 1], force) << i;
    EXPECT_TRUE(m->actuator_ctrllimited[i] && m->actuator_forcelimited[i]) << i;
    EXPECT_EQ(m->actuator_gainprm[mjNGAIN * i], kv) << i;
    EXPECT_EQ(m->actuator_biasprm[mjNBIAS * i + 2], -kv) << i;  // velocity servo: kv·(ctrl − qvel)
  }
  // joint_2 and joint_3 limited, the other arm joints free; fingers limited to [0.15, 1.35]
  EXPECT_FALSE(m->jnt_limited[0]);
  EXPECT_NEAR(m->jnt_range[2], 0.820305, 1e-12);
  EXPECT_NEAR(m->jnt_range[5], 5.951573, 1e-12);
  EXPECT_TRUE(m->jnt_limited[1] && m->jnt_limited[2] && m->jnt_limited[6]);
  EXPECT_EQ(m->jnt_range[2 * 7 + 1], 1.35);
  EXPECT_EQ(m->dof_armature[0], 4.0);  // large_joint
  EXPECT_EQ(m->dof_armature[5], 2.0);  // small_joint
  EXPECT_EQ(m->dof_damping[8], 0.75);  // hand default
}

TEST(JacoModel, ComposedXmlDropsTheNativeccdFlagAndUsesAbsoluteMeshdir) {
  const std::string dir = kinova_dir();
  const std::string xml = jaco_model_xml(dir, {0.09, 0.09, 0.001});
  // still in the asset
  EXPECT_NE(read_text(fs::path(dir) / "common.xml").find("nativeccd"), std::string::npos);
  EXPECT_EQ(xml.find("nativeccd"), std::string::npos);
  EXPECT_NE(xml.find("meshdir=\"" + dir + "/meshes_decimated/\""), std::string::npos);
  EXPECT_NE(xml.find("boundmass=\"1e-05\""), std::string::npos);
}

TEST(JacoModel, MissingFileIsADataErrorNamingIt) {
  const ScratchKinova scratch;
  fs::remove(scratch.dir() / "jaco_hand.xml");
  const std::string msg = error_of(scratch.dir().string());
  EXPECT_NE(msg.find((scratch.dir() / "jaco_hand.xml").string()), std::string::npos) << msg;
}

TEST(JacoModel, MissingElementIsADataErrorNamingTheFile) {
  const ScratchKinova scratch;
  std::string arm = read_text(scratch.dir() / "jaco_arm.xml");
  const std::size_t site = arm.find("name=\"wristsite\"");
  ASSERT_NE(site, std::string::npos);
  arm.replace(site, 16, "name=\"elbowsite\"");
  write_text(scratch.dir() / "jaco_arm.xml", arm);
  const std::string msg = error_of(scratch.dir().string());
  EXPECT_NE(msg.find("jaco_arm.xml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wristsite"), std::string::npos) << msg;
}

TEST(JacoModel, WrongMassIsADataErrorNamingTheBody) {
  const ScratchKinova scratch;
  std::string arm = read_text(scratch.dir() / "jaco_arm.xml");
  const std::size_t mass = arm.find("mass=\"0.718306\"");
  ASSERT_NE(mass, std::string::npos);
  arm.replace(mass, 15, "mass=\"0.900000\"");
  write_text(scratch.dir() / "jaco_arm.xml", arm);
  const std::string msg = error_of(scratch.dir().string());
  EXPECT_NE(msg.find("b_base"), std::string::npos) << msg;
  EXPECT_NE(msg.find("jaco_arm"), std::string::npos) << msg;
}

TEST(JacoReset, EveryPlacementFailingIsANumericError) {
  // A pinch site 3 m from the hand cannot be brought into the spawn box: 10 samples × 10 IK
  // attempts all fail, and the reset says so instead of starting an episode from a wrong pose.
  const ScratchKinova scratch;
  std::string hand = read_text(scratch.dir() / "jaco_hand.xml");
  const std::size_t pinch = hand.find("pos=\"0.015 0.0024 -0.193\"");
  ASSERT_NE(pinch, std::string::npos);
  hand.replace(pinch, 26, "pos=\"3 0 0\"");
  write_text(scratch.dir() / "jaco_hand.xml", hand);
  Physics physics = load_jaco_physics(scratch.dir().string(), {0.0, 0.0, 0.0});
  const auto task = make_jaco_task("reach_top_left");
  Random random(1);
  try {
    test::reset_episode(static_cast<const JacoTask&>(*task), physics, random);
    ADD_FAILURE() << "expected NumericError";
  } catch (const NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("10 samples"), std::string::npos) << e.what();
  }
}

// ---- inverse kinematics -------------------------------------------------------------------------

TEST(JacoIk, MinimumNormLeastSquaresHandValues) {
  // full rank: the unique solution of A x = b (A upper triangular, back substitution by hand)
  std::array<double, 36> a{};
  for (int i = 0; i < 6; ++i) {
    a[i * 6 + i] = 2.0;
    if (i < 5) a[i * 6 + i + 1] = 1.0;
  }
  const std::array<double, 6> x = min_norm_least_squares(a, {3, 3, 3, 3, 3, 2});  // x = 1
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(x[i], 1.0, 1e-14) << i;
  // rank 1: rows (1, 1, 0, …) twice with right-hand sides 1 and 3 → least squares x0 + x1 = 2,
  // minimum norm x0 = x1 = 1, every other entry 0
  std::array<double, 36> b{};
  b[0] = b[1] = b[6] = b[7] = 1.0;
  const std::array<double, 6> y = min_norm_least_squares(b, {1, 3, 0, 0, 0, 0});
  EXPECT_NEAR(y[0], 1.0, 1e-14);
  EXPECT_NEAR(y[1], 1.0, 1e-14);
  for (int i = 2; i < 6; ++i) EXPECT_EQ(y[i], 0.0) << i;
  // a singular value below ε·σ_max counts as zero (NumPy rcond = −1): diag(1, 1e-17, …) ignores entry 1
  std::array<double, 36> c{};
  c[0] = 1.0;
  c[7] = 1e-17;
  const std::array<double, 6> z = min_norm_least_squares(c, {2, 1, 0, 0, 0, 0});
  EXPECT_EQ(z[0], 2.0);
  EXPECT_EQ(z[1], 0.0);
  c[7] = 1e-10;  // above the cut-off: kept
  EXPECT_NEAR(min_norm_least_squares(c, {2, 1, 0, 0, 0, 0})[1], 1e10, 1e-4);
}

/// The rotation of the "down" quaternion (0, 1/√2, 1/√2, 0): 180° about (1, 1, 0)/√2, i.e. 2uuᵀ − I.
constexpr std::array<double, 9> kDownMatrix = {0, 1, 0, 1, 0, 0, 0, 0, -1};

TEST(JacoIk, ReachesRandomTargetsInTheSpawnBoxPointingDown) {
  Physics physics = make_jaco_task("reach_top_left")->make_physics();
  const mjModel* m = physics.model();
  mjData* d = physics.data();
  const int site = mj_name2id(m, mjOBJ_SITE, "pinchsite");
  Random random(3);
  int attempts = 0;
  for (int sample = 0; sample < 20; ++sample) {
    const std::array<double, 3> target = {random.uniform(-0.2, 0.2), random.uniform(-0.2, 0.2),
                                          random.uniform(0.02, 0.4)};
    IkResult result;
    for (int attempt = 0; attempt < 10 && !result.success; ++attempt) {
      ++attempts;
      for (int j = 0; j < 6; ++j) d->qpos[j] = random.uniform(0.9, 5.4);  // inside every joint's range
      result = jaco_pinch_site_ik(physics, target, kJacoDownQuat);
    }
    ASSERT_TRUE(result.success) << "sample " << sample;
    EXPECT_LT(result.error, 1e-14);
    mj_kinematics(m, d);  // independent of the IK's own bookkeeping
    const mjtNum* p = d->site_xpos + 3 * site;
    EXPECT_LT(std::hypot(p[0] - target[0], p[1] - target[1], p[2] - target[2]), 1e-6) << "sample " << sample;
    for (int k = 0; k < 9; ++k)
      EXPECT_NEAR(d->site_xmat[9 * site + k], kDownMatrix[k], 1e-6) << sample << " " << k;
  }
  EXPECT_LT(attempts, 20 * 4);  // most targets converge at the first or second attempt
}

TEST(JacoIk, UnreachableTargetFails) {
  Physics physics = make_jaco_task("reach_top_left")->make_physics();
  const IkResult result = jaco_pinch_site_ik(physics, {3.0, 0.0, 0.2}, kJacoDownQuat);  // 3 m away, arm < 1 m
  EXPECT_FALSE(result.success);
  EXPECT_GT(result.error, 1.0);
}

// ---- reward ------------------------------------------------------------------------------------

TEST(JacoReward, ToleranceWorkedValues) {
  EXPECT_EQ(jaco_reach_reward(0.0), 1.0);
  EXPECT_EQ(jaco_reach_reward(0.05), 1.0);  // the bounds are inclusive
  EXPECT_EQ(jaco_reach_reward(0.1), static_cast<double>(0.1F));
  EXPECT_NEAR(jaco_reach_reward(0.075), 0.562341325, 1e-7);
  EXPECT_NEAR(jaco_reach_reward(0.15), std::pow(0.1, 4.0), 1e-10);  // 0.1^(((0.15 − 0.05)/0.05)²)
  // float32-rounded: the value is exactly representable as a float
  const double r = jaco_reach_reward(0.0731);
  EXPECT_EQ(r, static_cast<double>(static_cast<float>(r)));
}

TEST(JacoReward, PinchSiteOnTheTargetAndAtDistanceOneTenth) {
  for (const char* name : {"reach_top_left", "reach_top_right"}) {
    const auto task = make_jaco_task(name);
    const auto& jaco = static_cast<const JacoTask&>(*task);
    Physics physics = task->make_physics();
    physics.reset_data();
    const std::array<double, 3> target = jaco.target();
    EXPECT_EQ(std::abs(target[0]), 0.09);
    EXPECT_EQ(target[0] < 0, std::string(name) == "reach_top_left");  // left = −x
    EXPECT_EQ(target[1], 0.09);
    EXPECT_EQ(target[2], 0.001);
    const auto place = [&](const std::array<double, 3>& p) {
      Random random(11);
      for (int attempt = 0; attempt < 10; ++attempt) {
        if (jaco_pinch_site_ik(physics, p, kJacoDownQuat).success) break;
        for (int j = 0; j < 6; ++j) physics.data()->qpos[j] = random.uniform(0.9, 5.4);
      }
      physics.forward_without_actuation();
    };
    place(target);
    EXPECT_EQ(task->reward(physics), 1.0) << name;
    place({target[0], target[1], target[2] + 0.1});
    EXPECT_NEAR(task->reward(physics), 0.1, 1e-6) << name;
    place({target[0] + 0.05, target[1], target[2] + 0.03});  // distance √(0.0034) ≈ 0.0583
    EXPECT_NEAR(task->reward(physics), std::pow(0.1, std::pow((std::sqrt(0.0034) - 0.05) / 0.05, 2)), 1e-6)
        << name;
  }
}

TEST(JacoTasks, NamesAndUnknownName) {
  EXPECT_EQ(jaco_task_names(), (std::vector<std::string>{"reach_top_left", "reach_top_right"}));
  EXPECT_EQ(make_jaco_task("reach_bottom_left"), nullptr);
  const auto task = make_task("jaco", "reach_top_right");
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->name(), "reach_top_right");
  EXPECT_THROW(make_task("jaco", "reach"), ConfigError);
}

}  // namespace
}  // namespace dipole::dmc

#endif  // DIPOLE_HAVE_MUJOCO
