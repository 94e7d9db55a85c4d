// The DeepMind Control Suite cheetah (run, and ExORL's run_backward) as a Task:
// plugins/benchmarks/dmc/README.md, "cheetah" (which restates dm_control's suite/cheetah.py and ExORL's
// custom_dmc_tasks/cheetah.py). MuJoCo-only.
#include <mujoco/mujoco.h>

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <limits>
#include <memory>
#include <string>

#include "dmc_task.hpp"
#include "task_factories.hpp"
#include "tolerance.hpp"

namespace dipole::dmc {
namespace {

/// Reward (plugins/benchmarks/dmc/README.md, "cheetah"): run = tolerance(v_x; 10, ∞, margin 10, linear, 0) =
/// clip(v_x/10, 0, 1); run_backward the same of −v_x. v_x: centre-of-mass x velocity (world frame, +
/// forward).
double cheetah_reward(bool backward, double com_velocity_x) {
  constexpr double kRunSpeed = 10.0;
  const double speed = backward ? -com_velocity_x : com_velocity_x;
  return tolerance(speed, kRunSpeed, std::numeric_limits<double>::infinity(), kRunSpeed, Sigmoid::Linear,
                   0.0);
}

class Cheetah final : public Task {
 public:
  static constexpr const char* kModelAsset = "dm_control/suite/cheetah.xml";
  static constexpr double kPhysicsTimestep = 0.01;  // s, the XML's <option timestep>
  static constexpr int kNumBodies = 8;  // world, torso, bthigh, bshin, bfoot, fthigh, fshin, ffoot
  static constexpr int kNumJoints = 9;  // rootx, rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot
  // 2 s of passive settling at reset (plugins/benchmarks/dmc/README.md, "cheetah")
  static constexpr int kSettleSteps = 200;
  static constexpr int kVelocitySensorAdr = 0;  // sensordata address of torso_subtreelinvel

  explicit Cheetah(const std::string& task) : backward_(task == "run_backward"), name_(task) {}

  std::string domain() const override { return "cheetah"; }
  std::string name() const override { return name_; }
  int obs_dim() const override { return 17; }  // position 8, velocity 9
  int action_dim() const override { return 6; }
  int physics_steps_per_action() const override { return 1; }   // control timestep 0.01 s
  std::int64_t episode_steps() const override { return 1000; }  // 10 s

  /// Model (plugins/benchmarks/dmc/README.md, "cheetah"): suite/cheetah.xml unmodified for both tasks
  /// (run_backward's copy differs only in the visual size of the ground plane).
  Physics make_physics() const override {
    Physics physics = Physics::load_xml(find_asset(kModelAsset));
    const mjModel* m = physics.model();
    const int sensor = mj_name2id(m, mjOBJ_SENSOR, "torso_subtreelinvel");
    if (m->nq != kNumJoints || m->nv != kNumJoints || m->na != 0 || m->njnt != kNumJoints ||
        m->nu != action_dim() || m->nbody != kNumBodies || sensor < 0 ||
        m->sensor_adr[sensor] != kVelocitySensorAdr || m->opt.timestep != kPhysicsTimestep)
      throw DataError(physics.source() +
                      ": not the dm_control cheetah model (expected nq = nv = njnt = 9, na = 0, nu = 6, "
                      "nbody = 8, sensor 'torso_subtreelinvel' at sensordata 0 and timestep 0.01; got nq " +
                      std::to_string(m->nq) + ", nu " + std::to_string(m->nu) + ", nbody " +
                      std::to_string(m->nbody) + ")");
    return physics;
  }

  /// Reset (plugins/benchmarks/dmc/README.md, "cheetah"): limited joints (the six leg joints, id order)
  /// uniform in their range, then 200 legacy physics steps with zero control and no forward before them (the
  /// first mj_step2 uses the kinematics of qpos0, as in dm_control), then time = 0. Velocities are what
  /// settling left.
  void initialize_episode(Physics& physics, Random& random) const override {
    const mjModel* m = physics.model();
    mjData* d = physics.data();
    for (int j = 0; j < m->njnt; ++j)
      if (m->jnt_limited[j])
        d->qpos[m->jnt_qposadr[j]] = random.uniform(m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
    physics.legacy_step(kSettleSteps);  // ctrl is 0 after mj_resetData
    d->time = 0.0;
  }

  /// Observation (plugins/benchmarks/dmc/README.md, "cheetah"): qpos[1..8] (rootx omitted), qvel[0..8];
  /// double → float32.
  void observation(const Physics& physics, float* out) const override {
    const mjData* d = physics.data();
    for (int i = 1; i < kNumJoints; ++i) *out++ = static_cast<float>(d->qpos[i]);
    for (int i = 0; i < kNumJoints; ++i) *out++ = static_cast<float>(d->qvel[i]);
  }

  double reward(const Physics& physics) const override {
    return cheetah_reward(backward_, physics.data()->sensordata[kVelocitySensorAdr]);
  }

 private:
  bool backward_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Task> make_cheetah_task(const std::string& task) {
  return std::make_unique<Cheetah>(task);
}

}  // namespace dipole::dmc
