// The DeepMind Control Suite walker (stand, walk, run) as a Task: plugins/benchmarks/dmc/README.md, "walker"
// (which restates dm_control's suite/walker.py); the reward formula is in walker_reward.hpp. MuJoCo-only.
#include <mujoco/mujoco.h>

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <memory>
#include <string>

#include "dmc_task.hpp"
#include "task_factories.hpp"
#include "walker_reward.hpp"

namespace dipole::dmc {
namespace {

constexpr double kPi = 3.141592653589793;  // the double nearest π, as NumPy's np.pi

class Walker final : public Task {
 public:
  static constexpr const char* kModelAsset = "dm_control/suite/walker.xml";
  static constexpr double kPhysicsTimestep = 0.0025;  // s, the XML's <option timestep>
  static constexpr int kNumBodies = 8;  // world, torso, right thigh/leg/foot, left thigh/leg/foot
  static constexpr int kNumJoints = 9;  // rootz, rootx, rooty, right hip/knee/ankle, left hip/knee/ankle
  static constexpr int kTorso = 1;      // body id
  static constexpr int kVelocitySensorAdr = 0;  // sensordata address of torso_subtreelinvel (x, y, z)

  explicit Walker(const std::string& task) : task_(walker_task(task)), name_(task) {}

  std::string domain() const override { return "walker"; }
  std::string name() const override { return name_; }
  int obs_dim() const override { return 24; }  // orientations 14, height 1, velocity 9
  int action_dim() const override { return 6; }
  int physics_steps_per_action() const override { return 10; }  // control timestep 0.025 s
  std::int64_t episode_steps() const override { return 1000; }  // 25 s

  Physics make_physics() const override {
    Physics physics = Physics::load_xml(find_asset(kModelAsset));
    const mjModel* m = physics.model();
    const int sensor = mj_name2id(m, mjOBJ_SENSOR, "torso_subtreelinvel");
    if (m->nq != kNumJoints || m->nv != kNumJoints || m->na != 0 || m->njnt != kNumJoints ||
        m->nu != action_dim() || m->nbody != kNumBodies || mj_name2id(m, mjOBJ_BODY, "torso") != kTorso ||
        sensor < 0 || m->sensor_adr[sensor] != kVelocitySensorAdr || m->opt.timestep != kPhysicsTimestep)
      throw DataError(physics.source() +
                      ": not the dm_control walker model (expected nq = nv = njnt = 9, na = 0, nu = 6, "
                      "nbody = 8 with body 1 'torso', sensor 'torso_subtreelinvel' at sensordata 0 and "
                      "timestep 0.0025; got nq " +
                      std::to_string(m->nq) + ", nu " + std::to_string(m->nu) + ", nbody " +
                      std::to_string(m->nbody) + ")");
    for (int j = 0; j < m->njnt; ++j)
      if (m->jnt_type[j] != mjJNT_HINGE && m->jnt_type[j] != mjJNT_SLIDE)
        throw DataError(physics.source() + ": joint " + std::to_string(j) + " is not a hinge or slide");
    return physics;
  }

  /// Reset (plugins/benchmarks/dmc/README.md, "walker"): in joint id order, limited joints uniform in their
  /// range, the unlimited hinge (rooty) uniform in [−π, π], unlimited slides (rootz, rootx) left at 0;
  /// velocities stay 0.
  void initialize_episode(Physics& physics, Random& random) const override {
    const mjModel* m = physics.model();
    mjData* d = physics.data();
    for (int j = 0; j < m->njnt; ++j) {
      double& q = d->qpos[m->jnt_qposadr[j]];
      if (m->jnt_limited[j])
        q = random.uniform(m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
      else if (m->jnt_type[j] == mjJNT_HINGE)
        q = random.uniform(-kPi, kPi);
    }
  }

  /// Observation (plugins/benchmarks/dmc/README.md, "walker"): (xx, xz) of bodies 1…7, torso height,
  /// qvel[0..8]; double → float32.
  void observation(const Physics& physics, float* out) const override {
    const mjData* d = physics.data();
    for (int body = 1; body < kNumBodies; ++body) {
      *out++ = static_cast<float>(d->xmat[9 * body + 0]);
      *out++ = static_cast<float>(d->xmat[9 * body + 2]);
    }
    *out++ = static_cast<float>(d->xpos[3 * kTorso + 2]);
    for (int i = 0; i < kNumJoints; ++i) *out++ = static_cast<float>(d->qvel[i]);
  }

  /// Reward (plugins/benchmarks/dmc/README.md, "walker") from torso height, torso zz and the centre-of-mass x
  /// velocity.
  double reward(const Physics& physics) const override {
    const mjData* d = physics.data();
    return walker_reward(task_, d->xpos[3 * kTorso + 2], d->xmat[9 * kTorso + 8],
                         d->sensordata[kVelocitySensorAdr]);
  }

 private:
  WalkerTask task_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Task> make_walker_task(const std::string& task) {
  return std::make_unique<Walker>(task);
}

}  // namespace dipole::dmc
