// The DeepMind Control Suite tasks of ExORL (docs/exorl.md) on the MuJoCo C API, without LibTorch:
// `Physics` holds one model + data and dm_control's stepping conventions (docs/exorl.md, "Step, reset and
// state"); a `Task` holds what differs per domain and task (model, reset, observation, reward). The `dmc`
// environment plugin, the `exorl` dataset plugin (reward relabelling, docs/exorl.md, "Reward relabelling")
// and the tests all use these, so each formula lives here once. Built as the static library
// `dipole_dmc_tasks` (position-independent).
#pragma once

#include <mujoco/mujoco.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace dipole::dmc {

struct ModelDeleter {
  void operator()(mjModel* model) const { mj_deleteModel(model); }
};
struct DataDeleter {
  void operator()(mjData* data) const { mj_deleteData(data); }
};

using WarningCounts = std::array<int, mjNWARNING>;

/// One MuJoCo model and its data, with dm_control's conventions. Owns both; not copyable.
class Physics {
 public:
  /// Takes ownership of `model` (non-null); `source` names it in error messages (a path).
  Physics(mjModel* model, std::string source);
  /// Loads an MJCF file; DataError naming the path and MuJoCo's message on failure.
  static Physics load_xml(const std::string& path);
  /// Compiles MJCF text held in memory (through MuJoCo's VFS; the text must not include other files);
  /// `source` names it in error messages. DataError with MuJoCo's message on failure.
  static Physics load_xml_text(const std::string& xml, const std::string& source);

  const mjModel* model() const { return model_.get(); }
  mjModel* model() { return model_.get(); }
  const mjData* data() const { return data_.get(); }
  mjData* data() { return data_.get(); }
  const std::string& source() const { return source_; }

  /// mj_resetData: qpos = qpos0, qvel = act = ctrl = 0, time 0, warnings cleared.
  void reset_data();
  /// "forward-no-act" (docs/exorl.md, "Step, reset and state"): mj_forward with mjDSBL_ACTUATION temporarily
  /// set.
  void forward_without_actuation();
  /// Step, first part (docs/exorl.md, "Step, reset and state"): clip each entry to [−1, 1] and map it
  /// affinely onto the actuator's ctrlrange, in float32 as the Python wrappers do. NumericError on a
  /// non-finite entry.
  void set_action(const float* action, int action_dim);
  /// Step, physics part (docs/exorl.md, "Step, reset and state"), dm_control's "legacy step": mj_step2, n − 1
  /// × mj_step, mj_step1.
  void legacy_step(int physics_steps);

  /// nq + nv + na (docs/exorl.md, "Step, reset and state").
  int state_dim() const;
  /// Writes qpos, qvel, act (in that order) into `out` [state_dim()].
  void get_state(double* out) const;
  /// Reads qpos, qvel, act from `state` [state_dim()].
  void set_state(const double* state);

  WarningCounts warning_counts() const;
  /// NumericError "<source>: MuJoCo warning '<name>' during <where>" if a warning count grew.
  void check_warnings(const WarningCounts& before, const std::string& where) const;

 private:
  std::unique_ptr<mjModel, ModelDeleter> model_;
  std::unique_ptr<mjData, DataDeleter> data_;
  std::string source_;
};

/// Uniform [0, 1) doubles and standard normals from a seeded 64-bit Mersenne Twister (the draws do
/// not reproduce NumPy's stream, docs/exorl.md, "Step, reset and state": same seed, same episode, within
/// Dipole).
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() { return std::normal_distribution<double>(0.0, 1.0)(engine_); }

 private:
  std::mt19937_64 engine_;
};

/// One domain × task. Implementations: walker.cpp, cheetah.cpp, quadruped.cpp, jaco.cpp.
class Task {
 public:
  virtual ~Task() = default;

  virtual std::string domain() const = 0;  ///< "walker", "cheetah", "quadruped", "jaco"
  virtual std::string name() const = 0;    ///< "stand", "run_backward", "reach_top_left", ...
  virtual int obs_dim() const = 0;
  virtual int action_dim() const = 0;
  virtual int physics_steps_per_action() const = 0;  ///< n of docs/exorl.md, "Tasks"
  virtual std::int64_t episode_steps() const = 0;    ///< T of docs/exorl.md, "Tasks"

  /// A freshly compiled model for this task (assets located with dipole::find_asset), checked
  /// against the sizes of docs/exorl.md, "Tasks" (DataError naming the file otherwise).
  virtual Physics make_physics() const = 0;
  /// The task-specific part of the reset (plugins/benchmarks/dmc/README.md, one section per domain). Called
  /// after reset_data() and forward_without_actuation(); the caller runs the final
  /// forward_without_actuation().
  virtual void initialize_episode(Physics& physics, Random& random) const = 0;
  /// Observation [obs_dim()] from the current data (plugins/benchmarks/dmc/README.md, one section per
  /// domain), double → float32.
  virtual void observation(const Physics& physics, float* out) const = 0;
  /// Per-step reward in [0, 1] from position- and velocity-stage quantities
  /// (plugins/benchmarks/dmc/README.md, one section per domain).
  virtual double reward(const Physics& physics) const = 0;
  /// Relabelling (docs/exorl.md, "Reward relabelling"): the reward of the stored state `state`
  /// [physics.state_dim()]. Default: set the state, forward without actuation, reward(). A task whose reward
  /// needs less (jaco: the pinch site's position, mj_kinematics alone) overrides it with a cheaper
  /// computation giving the same value.
  virtual double reward_from_state(Physics& physics, const double* state) const;
};

/// The task `task` of `domain`; ConfigError listing the valid names otherwise.
std::unique_ptr<Task> make_task(const std::string& domain, const std::string& task);
/// Every (domain, task) pair make_task accepts, in a stable order.
std::vector<std::pair<std::string, std::string>> task_names();

/// Relabelling (docs/exorl.md, "Reward relabelling"): the reward of `task` for the state `state`
/// [physics.state_dim()] (Task::reward_from_state: set the state, forward without actuation, reward;
/// mj_resetData is skipped, which changes nothing here).
double reward_from_state(const Task& task, Physics& physics, const double* state);

}  // namespace dipole::dmc
