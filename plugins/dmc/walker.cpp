// Environment `dmc_walker`: the DeepMind Control Suite walker (stand, walk, run) as ExORL, CFGRL and
// DIPOLE use it, on the MuJoCo 2.2.2 C API. Every number below is from docs exorl_tasks.md §2–§3
// (which restates dm_control's suite/walker.py, suite/base.py and utils/rewards.py); the reward is
// in walker_reward.hpp. Keys: README.md.
#include <ATen/ATen.h>
#include <mujoco/mujoco.h>

#include <dipole/core/assets.hpp>
#include <dipole/environment.hpp>
#include <dipole/plugin.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "walker_reward.hpp"

namespace dipole::plugins {
namespace {

constexpr double kPi = 3.141592653589793;  // the double nearest π, as NumPy's np.pi

struct ModelDeleter {
  void operator()(mjModel* model) const { mj_deleteModel(model); }
};
struct DataDeleter {
  void operator()(mjData* data) const { mj_deleteData(data); }
};

const char* warning_name(int index) {
  static constexpr std::array<const char*, mjNWARNING> kNames = {"inertia too small",
                                                                 "contact buffer full",
                                                                 "constraint buffer full",
                                                                 "visual geom buffer full",
                                                                 "bad qpos",
                                                                 "bad qvel",
                                                                 "bad qacc",
                                                                 "bad ctrl"};
  return index >= 0 && index < mjNWARNING ? kNames[static_cast<std::size_t>(index)] : "unknown warning";
}

/// One walker instance: it owns its model and data, so instances share no mutable state.
class DmcWalker final : public Environment {
 public:
  static constexpr const char* kModelAsset = "dm_control/suite/walker.xml";
  static constexpr double kPhysicsTimestep = 0.0025;   // s, the XML's <option timestep>
  static constexpr int kPhysicsStepsPerAction = 10;    // control timestep 0.025 s
  static constexpr std::int64_t kEpisodeSteps = 1000;  // 25 s
  static constexpr std::int64_t kObsDim = 24;          // orientations 14, height 1, velocity 9
  static constexpr std::int64_t kActionDim = 6;
  static constexpr int kNumBodies = 8;  // world, torso, right thigh/leg/foot, left thigh/leg/foot
  static constexpr int kNumJoints = 9;  // rootz, rootx, rooty, right hip/knee/ankle, left hip/knee/ankle

  static Schema schema() {
    return {param::text("task", "stand",
                        "stand (reward = stand), walk (stand · (5·move + 1)/6, move saturating at 1 m/s) or "
                        "run (same, saturating at 8 m/s); exorl_tasks.md §3.4")
                .one_of({"stand", "walk", "run"})};
  }

  DmcWalker(const Params& params, const BuildContext& /*ctx*/)
      : task_(dmc::walker_task(params.text("task"))), path_(find_asset(kModelAsset)) {
    std::array<char, 1000> error{};
    model_.reset(mj_loadXML(path_.c_str(), nullptr, error.data(), static_cast<int>(error.size())));
    if (!model_) throw DataError(path_ + ": MuJoCo could not load the walker model: " + error.data());
    const mjModel* m = model_.get();
    torso_ = mj_name2id(m, mjOBJ_BODY, "torso");
    const int sensor = mj_name2id(m, mjOBJ_SENSOR, "torso_subtreelinvel");
    if (m->nq != kNumJoints || m->nv != kNumJoints || m->njnt != kNumJoints || m->nu != kActionDim ||
        m->nbody != kNumBodies || torso_ != 1 || sensor < 0 || m->opt.timestep != kPhysicsTimestep)
      throw DataError(path_ +
                      ": not the dm_control walker model (expected nq = nv = njnt = 9, nu = 6, "
                      "nbody = 8 with body 1 'torso', sensor 'torso_subtreelinvel' and timestep "
                      "0.0025; got nq " +
                      std::to_string(m->nq) + ", nu " + std::to_string(m->nu) + ", nbody " +
                      std::to_string(m->nbody) + ")");
    for (int j = 0; j < m->njnt; ++j)
      if (m->jnt_type[j] != mjJNT_HINGE && m->jnt_type[j] != mjJNT_SLIDE)
        throw DataError(path_ + ": joint " + std::to_string(j) + " is not a hinge or slide");
    velocity_sensor_ = m->sensor_adr[sensor];
    data_.reset(mj_makeData(m));
    if (!data_) throw std::runtime_error("dmc_walker: MuJoCo could not allocate mjData");
    spec_.obs_dim = kObsDim;
    spec_.action_dim = kActionDim;
    spec_.action_low.assign(kActionDim, -1.0);
    spec_.action_high.assign(kActionDim, 1.0);
  }

  Spec spec() const override { return spec_; }
  std::int64_t max_episode_steps() const override { return kEpisodeSteps; }

  /// §3.2: reset, forward without actuation, random joint angles (rootz = rootx = 0, pitch uniform in
  /// [−π, π], leg joints uniform in their ranges, velocities 0), forward without actuation again.
  at::Tensor reset(std::uint64_t seed) override {
    const mjModel* m = model_.get();
    mjData* d = data_.get();
    mj_resetData(m, d);
    forward_without_actuation();
    std::mt19937_64 rng(seed);
    const auto uniform = [&rng](double lo, double hi) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
      return lo + (hi - lo) * u;
    };
    for (std::ptrdiff_t j = 0; j < m->njnt; ++j) {  // joint id order, as dm_control draws them
      double& q = d->qpos[m->jnt_qposadr[j]];
      if (m->jnt_limited[j])
        q = uniform(m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
      else if (m->jnt_type[j] == mjJNT_HINGE)
        q = uniform(-kPi, kPi);
      // unlimited slides (rootz, rootx) stay at 0
    }
    const auto before = warning_counts();
    forward_without_actuation();
    check_warnings(before, "reset");
    steps_ = 0;
    return observation();
  }

  /// §2.1: clip to [−1, 1], map onto the actuators' ctrlrange (float32, as the Python wrappers do),
  /// advance 10 physics steps in dm_control's "legacy step" order, then reward and observation.
  StepResult step(const at::Tensor& action) override {
    if (steps_ < 0) throw std::logic_error("dmc_walker: step() before reset()");
    if (steps_ >= kEpisodeSteps)
      throw std::logic_error("dmc_walker: step() after the episode was truncated at " +
                             std::to_string(kEpisodeSteps) + " steps; call reset()");
    const auto a = action.detach().to(at::kCPU, at::kFloat).contiguous().reshape({-1});  // [6]
    if (a.numel() != kActionDim)
      throw std::invalid_argument("dmc_walker: action has " + std::to_string(a.numel()) +
                                  " entries, expected " + std::to_string(kActionDim));
    const mjModel* m = model_.get();
    mjData* d = data_.get();
    const float* values = a.data_ptr<float>();
    for (std::ptrdiff_t i = 0; i < kActionDim; ++i) {
      if (!std::isfinite(values[i]))
        throw NumericError("dmc_walker: action entry " + std::to_string(i) + " is not finite");
      const float clipped = std::clamp(values[i], -1.0F, 1.0F);
      const auto lo = static_cast<float>(m->actuator_ctrlrange[2 * i]);
      const auto hi = static_cast<float>(m->actuator_ctrlrange[2 * i + 1]);
      d->ctrl[i] = lo + (hi - lo) * (clipped + 1.0F) / 2.0F;
    }
    const auto before = warning_counts();
    // Same computation as 10 × (mj_step2, mj_step1): the reset or previous step left the position
    // and velocity stages up to date, and the observation reads them for the new state.
    mj_step2(m, d);
    for (int k = 1; k < kPhysicsStepsPerAction; ++k) mj_step(m, d);
    mj_step1(m, d);
    check_warnings(before, "step " + std::to_string(steps_ + 1));
    ++steps_;

    StepResult result;
    result.observation = observation();
    result.reward =
        dmc::walker_reward(task_, torso_height(), d->xmat[9 * torso_ + 8], d->sensordata[velocity_sensor_]);
    result.truncated = steps_ == kEpisodeSteps;
    return result;
  }

 private:
  double torso_height() const { return data_->xpos[3 * torso_ + 2]; }

  /// §3.3: (xx, xz) of bodies 1…7, torso height, qvel[0..8]; double → float32.
  at::Tensor observation() const {
    const mjData* d = data_.get();
    auto obs = at::empty({kObsDim}, at::kFloat);
    float* out = obs.data_ptr<float>();
    for (int body = 1; body < kNumBodies; ++body) {
      *out++ = static_cast<float>(d->xmat[9 * body + 0]);
      *out++ = static_cast<float>(d->xmat[9 * body + 2]);
    }
    *out++ = static_cast<float>(torso_height());
    for (int i = 0; i < kNumJoints; ++i) *out++ = static_cast<float>(d->qvel[i]);
    return obs;
  }

  /// "forward-no-act" of §2.2: mj_forward with actuation disabled.
  void forward_without_actuation() {
    mjModel* m = model_.get();
    const int flags = m->opt.disableflags;
    m->opt.disableflags |= mjDSBL_ACTUATION;
    mj_forward(m, data_.get());
    m->opt.disableflags = flags;
  }

  std::array<int, mjNWARNING> warning_counts() const {
    std::array<int, mjNWARNING> counts{};
    for (int i = 0; i < mjNWARNING; ++i) counts[static_cast<std::size_t>(i)] = data_->warning[i].number;
    return counts;
  }

  /// dm_control raises on a new MuJoCo warning during a step or the end of a reset; so do we.
  void check_warnings(const std::array<int, mjNWARNING>& before, const std::string& where) const {
    for (int i = 0; i < mjNWARNING; ++i)
      if (data_->warning[i].number > before[static_cast<std::size_t>(i)])
        throw NumericError("dmc_walker: MuJoCo warning '" + std::string(warning_name(i)) + "' during " +
                           where + " (time " + std::to_string(data_->time) + " s)");
  }

  dmc::WalkerTask task_;
  std::string path_;
  std::unique_ptr<mjModel, ModelDeleter> model_;
  std::unique_ptr<mjData, DataDeleter> data_;
  Spec spec_;
  int torso_ = -1;
  int velocity_sensor_ = -1;  // sensordata address of torso_subtreelinvel (x, y, z)
  std::int64_t steps_ = -1;   // steps taken in the current episode; −1 before the first reset
};

}  // namespace
}  // namespace dipole::plugins

DIPOLE_PLUGIN(plugin) {
  using dipole::plugins::DmcWalker;
  plugin.add<DmcWalker>(
      "dmc_walker", "DeepMind Control walker (stand, walk, run) on MuJoCo, as in ExORL (exorl_tasks.md §3)",
      DmcWalker::schema());
}
