// The OGBench manipulation environment core on the MuJoCo C API (docs/ogbench.md, "Manipulation: scene
// model and physics", "Manipulation: action and controller", "Manipulation: observation"): model edits,
// the differential-IK controller, the 25-substep env step with the button logic of scene/puzzle, and the
// observation. Task logic (resets for a task, success, reward, time limit) lives in task_env.hpp; the
// oracles (docs/ogbench.md, "Manipulation data collection") can drive this class directly (effector
// pose, IK, object poses are public). MuJoCo-only: no ATen here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model_builder.hpp"

namespace dipole::manipspace {

using Vec3 = std::array<double, 3>;
using Quat = std::array<double, 4>;  ///< (w, x, y, z)
using Action = std::array<double, 5>;
using ArmQ = std::array<double, 6>;

/// Constants of docs/ogbench.md ("Manipulation: ..." sections).
struct Constants {
  static constexpr int kSubsteps = 25;  ///< mj_step calls per env step (0.05 s)
  static constexpr double kTimestep = 0.002;
  static constexpr std::array<double, 5> kActionScale = {0.05, 0.05, 0.05, 0.3, 1.0};
  static constexpr Vec3 kWorkspaceLo = {0.25, -0.35, 0.02};
  static constexpr Vec3 kWorkspaceHi = {0.6, 0.35, 0.35};
  static constexpr ArmQ kHome = {-1.5707963267948966, -1.5707963267948966, 1.5707963267948966,
                                 -1.5707963267948966, -1.5707963267948966, 0.0};
  static constexpr std::array<double, 6> kArmKp = {4500, 4500, 4500, 2000, 2000, 500};
  static constexpr std::array<double, 6> kArmGain2 = {-450, -450, -450, -200, -200, -50};  // inert (kept)
  static constexpr Vec3 kObsCenter = {0.425, 0.0, 0.0};
  static constexpr double kPressThreshold = -0.02;
  static constexpr double kLockedDamping = 1e6;
  static constexpr double kUnlockedDamping = 2.0;
  static constexpr int kIkMaxIters = 20;
  static constexpr double kIkPosTol = 1e-4;
  static constexpr double kIkOriTol = 1e-4;
  static constexpr double kIkDamping = 1e-12;
  static constexpr double kIkMaxStep = 0.7853981633974483;  // π/4
};

/// yaw(q) = atan2(2(wz + xy), 1 − 2(y² + z²)) (docs/ogbench.md, "Manipulation: action and controller").
double quat_yaw(const Quat& q);
/// yaw of a row-major 3×3 rotation through mju_mat2Quat, as OGBench computes it.
double mat_yaw(const double* xmat9);
/// Wrap into (−π, π].
double wrap_angle(double angle);
/// Quaternion of Rz(ψ)·D, D = π about x: the effector pointing down with yaw ψ.
Quat down_quat(double yaw);

class ManipEnv {
 public:
  struct IkResult {
    ArmQ q{};
    int iterations = 0;  ///< updates applied (0..20)
    bool converged = false;
    double pos_error = 0.0;  ///< ‖e_pos‖ and ‖e_rot‖ at the last check
    double rot_error = 0.0;
  };

  /// Builds and compiles the flat model (model_builder.hpp), applies the run-time edits (docs/ogbench.md,
  /// "Manipulation: scene model and physics") and computes T_pa at qpos0. Throws DataError when the model
  /// lacks a name the code relies on.
  explicit ManipEnv(const SceneLayout& layout);
  ManipEnv(const ManipEnv&) = delete;
  ManipEnv& operator=(const ManipEnv&) = delete;

  const SceneLayout& layout() const { return layout_; }
  const mjModel* model() const { return model_.get(); }
  mjData* data() { return data_.get(); }
  const mjData* data() const { return data_.get(); }
  int num_cubes() const { return static_cast<int>(cube_qpos_.size()); }
  int num_buttons() const { return static_cast<int>(button_qpos_.size()); }
  bool has_drawer() const { return drawer_qpos_ >= 0; }
  int obs_dim() const;

  // ---- kinematic read-outs of the current mjData (lagged by one substep after a cube-env step,
  // docs/ogbench.md, "Manipulation: observation")
  Vec3 effector_pos() const;
  double effector_yaw() const;
  double gripper_opening() const;  ///< clip(q_right_driver / 0.8, 0, 1)
  double contact() const;          ///< κ = clip(‖cfrc_ext(right_pad)‖ / 50, 0, 1)
  Vec3 site_pos(int site) const;
  int site_id(const std::string& name) const;  ///< DataError when absent

  /// T_pa = T_pinch⁻¹ ∘ T_attach at qpos0 (docs/ogbench.md, "Manipulation: action and controller").
  const Quat& pinch_to_flange_quat() const { return pa_quat_; }
  const Vec3& pinch_to_flange_pos() const { return pa_pos_; }
  /// Flange target (pos, quat) of a pinch pose (p, Rz(yaw)·D): (R*, p*) ∘ T_pa.
  void flange_target(const Vec3& pinch_pos, double yaw, Vec3& flange_pos, Quat& flange_quat) const;

  /// Differential IK (docs/ogbench.md, "Manipulation: action and controller") for the attachment site, from
  /// q_init, on a scratch mjData.
  IkResult solve_ik(const Vec3& flange_pos, const Quat& flange_quat, const ArmQ& q_init) const;

  /// set_control (docs/ogbench.md, "Manipulation: action and controller"): the action (not clipped) → ctrl.
  /// Returns the IK result.
  IkResult set_control(const Action& action);
  /// The step order of docs/ogbench.md, "Manipulation: action and controller", without task bookkeeping:
  /// set_control, pre_step, 25 × mj_step, mj_rnePostConstraint, then (scene/puzzle) button toggles, damping
  /// lock and mj_forward.
  void step(const Action& action);

  // ---- state edits used by resets and oracles
  /// Reset, first part (docs/ogbench.md, "Manipulation: reset, success, reward"): mj_resetData, mj_forward,
  /// arm at home, mj_kinematics; button states 0.
  void reset_to_home();
  /// Random arm pose at reset (docs/ogbench.md, "Manipulation: reset, success, reward"): IK from home to the
  /// pinch pose (pos, Rz(yaw)·D), write qpos[0..5], mj_forward.
  IkResult place_arm(const Vec3& pinch_pos, double yaw);
  void set_cube(int i, const Vec3& pos, const Quat& quat);  ///< qpos only; call forward()
  Vec3 cube_pos(int i) const;
  Quat cube_quat(int i) const;
  void set_cube_velocity_zero(int i);
  void set_cube_goal(int i, const Vec3& pos, const Quat& quat);  ///< mocap i
  Vec3 cube_goal(int i) const;
  const std::vector<int>& button_states() const { return button_states_; }
  /// Set the states (and the damping lock of the scene, docs/ogbench.md, "Manipulation: scene model and
  /// physics"); no mj_forward.
  void set_button_states(const std::vector<int>& states);
  double button_q(int i) const;
  double drawer_q() const;
  double window_q() const;
  void set_drawer_q(double q);
  void set_window_q(double q);
  /// Scene targets (docs/ogbench.md, "Manipulation: scene model and physics"): local y of
  /// drawer_handle_center_target / local x of window_handle_center_target.
  void set_drawer_target(double q);
  void set_window_target(double q);
  /// Load a stored state (one-step replay, docs/ogbench.md, "Fidelity and checks"): qpos [nq], qvel [nv],
  /// button states [buttons] (may be null without buttons) with their damping lock, qacc_warmstart 0, then
  /// mj_forward. Float input (the official files) is widened to double.
  void set_state(const double* qpos, const double* qvel, const std::int64_t* buttons);
  void set_state(const float* qpos, const float* qvel, const std::int64_t* buttons);
  /// pre_step of the step order (saves the state before a step).
  void pre_step();
  void forward();
  const std::vector<double>& prev_qpos() const { return prev_qpos_; }
  const std::vector<double>& prev_qvel() const { return prev_qvel_; }
  const std::vector<int>& prev_button_states() const { return prev_button_states_; }

  /// Observation (float64) of the current data (docs/ogbench.md, "Manipulation: observation").
  std::vector<double> observation() const;
  void observation(double* out) const;

  /// Number of MuJoCo warnings raised so far (all kinds).
  int warning_count() const;

 private:
  int require(mjtObj type, const std::string& name) const;
  void apply_lock();
  void post_step();

  SceneLayout layout_;
  ModelPtr model_;
  DataPtr data_;
  DataPtr ik_data_;  // scratch for the IK (mutable through a const method: not shared across threads)
  mutable std::vector<double> ik_jacp_, ik_jacr_;  // IK Jacobian scratch
  int pinch_site_ = -1;
  int attach_site_ = -1;
  int right_pad_body_ = -1;
  int gripper_qpos_ = -1;
  std::vector<int> cube_qpos_, cube_qvel_, cube_mocap_;
  std::vector<int> button_qpos_, button_qvel_;
  int drawer_qpos_ = -1, drawer_qvel_ = -1, drawer_dof_ = -1;
  int window_qpos_ = -1, window_qvel_ = -1, window_dof_ = -1;
  int drawer_target_site_ = -1, window_target_site_ = -1;
  Quat pa_quat_{};
  Vec3 pa_pos_{};
  std::vector<int> button_states_, prev_button_states_;
  std::vector<double> prev_qpos_, prev_qvel_, prev_button_q_;
};

}  // namespace dipole::manipspace
