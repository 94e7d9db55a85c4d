// OGBench manipulation environment core (see manip_env.hpp; docs/ogbench.md, "Manipulation: ..." sections).
#include "manip_env.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace dipole::manipspace {
namespace {

constexpr double kPi = 3.141592653589793;

double clip(double x, double lo, double hi) {
  return std::min(std::max(x, lo), hi);
}

/// Solve the 6×6 system A x = b in place (Gaussian elimination with partial pivoting); A is
/// symmetric positive semi-definite plus λI here.
void solve6(std::array<double, 36>& a, std::array<double, 6>& b) {
  for (int col = 0; col < 6; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 6; ++r)
      if (std::abs(a[6 * r + col]) > std::abs(a[6 * pivot + col])) pivot = r;
    if (pivot != col) {
      for (int c = 0; c < 6; ++c) std::swap(a[6 * col + c], a[6 * pivot + c]);
      std::swap(b[col], b[pivot]);
    }
    const double diag = a[6 * col + col];
    if (diag == 0.0) continue;  // singular direction: leave that component at 0
    for (int r = col + 1; r < 6; ++r) {
      const double f = a[6 * r + col] / diag;
      if (f == 0.0) continue;
      for (int c = col; c < 6; ++c) a[6 * r + c] -= f * a[6 * col + c];
      b[r] -= f * b[col];
    }
  }
  for (int row = 5; row >= 0; --row) {
    double s = b[row];
    for (int c = row + 1; c < 6; ++c) s -= a[6 * row + c] * b[c];
    const double diag = a[6 * row + row];
    b[row] = diag == 0.0 ? 0.0 : s / diag;
  }
}

}  // namespace

double quat_yaw(const Quat& q) {
  return std::atan2(2.0 * (q[0] * q[3] + q[1] * q[2]), 1.0 - 2.0 * (q[2] * q[2] + q[3] * q[3]));
}

double mat_yaw(const double* xmat9) {
  Quat q{};
  mju_mat2Quat(q.data(), xmat9);
  return quat_yaw(q);
}

double wrap_angle(double angle) {
  double w = std::fmod(angle + kPi, 2.0 * kPi);
  if (w <= 0.0) w += 2.0 * kPi;
  return w - kPi;  // (−π, π]
}

Quat down_quat(double yaw) {
  // Rz(ψ) ⊗ (0, 1, 0, 0) = (0, cos(ψ/2), sin(ψ/2), 0)
  return {0.0, std::cos(0.5 * yaw), std::sin(0.5 * yaw), 0.0};
}

ManipEnv::ManipEnv(const SceneLayout& layout) : layout_(layout), model_(load_scene_model(layout)) {
  mjModel* m = model_.get();
  // Run-time edits (docs/ogbench.md, "Manipulation: scene model and physics").
  m->opt.timestep = Constants::kTimestep;
  for (int i = 0; i < 6; ++i) {
    m->actuator_gainprm[mjNGAIN * i + 0] = Constants::kArmKp[static_cast<std::size_t>(i)];
    m->actuator_biasprm[mjNBIAS * i + 1] = -Constants::kArmKp[static_cast<std::size_t>(i)];
    m->actuator_gainprm[mjNGAIN * i + 2] = Constants::kArmGain2[static_cast<std::size_t>(i)];
  }
  // Names the code relies on.
  static const std::array<const char*, 6> kArmJoints = {"ur5e/shoulder_pan_joint", "ur5e/shoulder_lift_joint",
                                                        "ur5e/elbow_joint",        "ur5e/wrist_1_joint",
                                                        "ur5e/wrist_2_joint",      "ur5e/wrist_3_joint"};
  static const std::array<const char*, 7> kActuators = {
      "ur5e/shoulder_pan", "ur5e/shoulder_lift",           "ur5e/elbow", "ur5e/wrist_1", "ur5e/wrist_2",
      "ur5e/wrist_3",      "ur5e/robotiq/fingers_actuator"};
  for (int i = 0; i < 6; ++i) {
    const int j = require(mjOBJ_JOINT, kArmJoints[static_cast<std::size_t>(i)]);
    if (m->jnt_qposadr[j] != i || m->jnt_dofadr[j] != i)
      throw DataError(layout_.label() + ": arm joint " + kArmJoints[static_cast<std::size_t>(i)] +
                      " is not at qpos/qvel index " + std::to_string(i));
  }
  for (int i = 0; i < 7; ++i)
    if (require(mjOBJ_ACTUATOR, kActuators[static_cast<std::size_t>(i)]) != i)
      throw DataError(layout_.label() + ": actuator " + kActuators[static_cast<std::size_t>(i)] +
                      " is not actuator " + std::to_string(i));
  pinch_site_ = require(mjOBJ_SITE, "ur5e/robotiq/pinch");
  attach_site_ = require(mjOBJ_SITE, "ur5e/attachment_site");
  right_pad_body_ = require(mjOBJ_BODY, "ur5e/robotiq/right_pad");
  gripper_qpos_ = m->jnt_qposadr[require(mjOBJ_JOINT, "ur5e/robotiq/right_driver_joint")];

  const int cubes = layout_.kind == SceneLayout::Kind::Cubes   ? layout_.num_cubes
                    : layout_.kind == SceneLayout::Kind::Scene ? 1
                                                               : 0;
  for (int i = 0; i < cubes; ++i) {
    const int j = require(mjOBJ_JOINT, "object_joint_" + std::to_string(i));
    cube_qpos_.push_back(m->jnt_qposadr[j]);
    cube_qvel_.push_back(m->jnt_dofadr[j]);
    const int body = require(mjOBJ_BODY, "object_target_" + std::to_string(i));
    if (m->body_mocapid[body] < 0)
      throw DataError(layout_.label() + ": object_target_" + std::to_string(i) + " is not a mocap body");
    cube_mocap_.push_back(m->body_mocapid[body]);
  }
  const int buttons = layout_.kind == SceneLayout::Kind::Scene    ? 2
                      : layout_.kind == SceneLayout::Kind::Puzzle ? layout_.rows * layout_.cols
                                                                  : 0;
  for (int i = 0; i < buttons; ++i) {
    const int j = require(mjOBJ_JOINT, "buttonbox_joint_" + std::to_string(i));
    button_qpos_.push_back(m->jnt_qposadr[j]);
    button_qvel_.push_back(m->jnt_dofadr[j]);
  }
  if (layout_.kind == SceneLayout::Kind::Scene) {
    const int drawer = require(mjOBJ_JOINT, "drawer_slide");
    drawer_qpos_ = m->jnt_qposadr[drawer];
    drawer_qvel_ = drawer_dof_ = m->jnt_dofadr[drawer];
    const int window = require(mjOBJ_JOINT, "window_slide");
    window_qpos_ = m->jnt_qposadr[window];
    window_qvel_ = window_dof_ = m->jnt_dofadr[window];
    drawer_target_site_ = require(mjOBJ_SITE, "drawer_handle_center_target");
    window_target_site_ = require(mjOBJ_SITE, "window_handle_center_target");
  }
  button_states_.assign(static_cast<std::size_t>(buttons), 0);
  prev_button_states_ = button_states_;
  prev_button_q_.assign(static_cast<std::size_t>(buttons), 0.0);

  data_.reset(mj_makeData(m));
  ik_data_.reset(mj_makeData(m));
  ik_jacp_.assign(static_cast<std::size_t>(3 * m->nv), 0.0);
  ik_jacr_.assign(static_cast<std::size_t>(3 * m->nv), 0.0);
  if (!data_ || !ik_data_) throw DataError(layout_.label() + ": MuJoCo could not allocate mjData");

  // T_pa at qpos0: R_pa = R_pᵀ R_a, t_pa = R_pᵀ (p_a − p_p).
  mjData* d = ik_data_.get();
  mj_resetData(m, d);
  mj_kinematics(m, d);
  Quat qp{}, qa{}, qp_inv{};
  mju_mat2Quat(qp.data(), d->site_xmat + 9 * pinch_site_);
  mju_mat2Quat(qa.data(), d->site_xmat + 9 * attach_site_);
  mju_negQuat(qp_inv.data(), qp.data());
  mju_mulQuat(pa_quat_.data(), qp_inv.data(), qa.data());
  mju_normalize4(pa_quat_.data());
  double diff[3];
  mju_sub3(diff, d->site_xpos + 3 * attach_site_, d->site_xpos + 3 * pinch_site_);
  mju_rotVecMatT(pa_pos_.data(), diff, d->site_xmat + 9 * pinch_site_);

  prev_qpos_.assign(static_cast<std::size_t>(m->nq), 0.0);
  prev_qvel_.assign(static_cast<std::size_t>(m->nv), 0.0);
  reset_to_home();
}

int ManipEnv::require(mjtObj type, const std::string& name) const {
  const int id = mj_name2id(model_.get(), type, name.c_str());
  if (id < 0) throw DataError(layout_.label() + " (flat MJCF): no element named '" + name + "'");
  return id;
}

int ManipEnv::site_id(const std::string& name) const {
  return require(mjOBJ_SITE, name);
}

int ManipEnv::obs_dim() const {
  switch (layout_.kind) {
    case SceneLayout::Kind::Cubes:
      return 19 + 9 * num_cubes();
    case SceneLayout::Kind::Scene:
      return 19 + 9 + 8 + 4;
    case SceneLayout::Kind::Puzzle:
      return 19 + 4 * num_buttons();
  }
  return 0;
}

Vec3 ManipEnv::site_pos(int site) const {
  const double* p = data_->site_xpos + 3 * site;
  return {p[0], p[1], p[2]};
}

Vec3 ManipEnv::effector_pos() const {
  return site_pos(pinch_site_);
}
double ManipEnv::effector_yaw() const {
  return mat_yaw(data_->site_xmat + 9 * pinch_site_);
}
double ManipEnv::gripper_opening() const {
  return clip(data_->qpos[gripper_qpos_] / 0.8, 0.0, 1.0);
}
double ManipEnv::contact() const {
  return clip(mju_norm(data_->cfrc_ext + 6 * right_pad_body_, 6) / 50.0, 0.0, 1.0);
}

void ManipEnv::flange_target(const Vec3& pinch_pos, double yaw, Vec3& flange_pos, Quat& flange_quat) const {
  const Quat q = down_quat(yaw);
  mju_mulQuat(flange_quat.data(), q.data(), pa_quat_.data());
  double rotated[3];
  mju_rotVecQuat(rotated, pa_pos_.data(), q.data());
  for (int k = 0; k < 3; ++k)
    flange_pos[static_cast<std::size_t>(k)] = pinch_pos[static_cast<std::size_t>(k)] + rotated[k];
}

ManipEnv::IkResult ManipEnv::solve_ik(const Vec3& flange_pos, const Quat& flange_quat,
                                      const ArmQ& q_init) const {
  const mjModel* m = model_.get();
  mjData* d = ik_data_.get();
  IkResult result;
  result.q = q_init;
  std::vector<double>& jacp = ik_jacp_;  // 3 × nv each, allocated once
  std::vector<double>& jacr = ik_jacr_;
  for (int iter = 0;; ++iter) {
    for (int i = 0; i < 6; ++i) d->qpos[i] = result.q[static_cast<std::size_t>(i)];
    mj_kinematics(m, d);
    mj_comPos(m, d);
    std::array<double, 6> err{};
    mju_sub3(err.data(), flange_pos.data(), d->site_xpos + 3 * attach_site_);
    Quat site_quat{}, site_conj{}, delta{};
    mju_mat2Quat(site_quat.data(), d->site_xmat + 9 * attach_site_);
    mju_negQuat(site_conj.data(), site_quat.data());
    mju_mulQuat(delta.data(), flange_quat.data(), site_conj.data());
    mju_quat2Vel(err.data() + 3, delta.data(), 1.0);
    result.pos_error = mju_norm3(err.data());
    result.rot_error = mju_norm3(err.data() + 3);
    if (result.pos_error <= Constants::kIkPosTol && result.rot_error <= Constants::kIkOriTol) {
      result.converged = true;
      break;
    }
    if (iter == Constants::kIkMaxIters) break;
    mj_jacSite(m, d, jacp.data(), jacr.data(), attach_site_);
    // J: 6×6 from the arm columns 0..5 of the 3×nv Jacobians.
    std::array<double, 36> jac{};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 6; ++c) {
        jac[static_cast<std::size_t>(6 * r + c)] = jacp[static_cast<std::size_t>(r * m->nv + c)];
        jac[static_cast<std::size_t>(6 * (r + 3) + c)] = jacr[static_cast<std::size_t>(r * m->nv + c)];
      }
    std::array<double, 36> jjt{};
    for (int r = 0; r < 6; ++r)
      for (int c = 0; c < 6; ++c) {
        double s = 0.0;
        for (int k = 0; k < 6; ++k)
          s += jac[static_cast<std::size_t>(6 * r + k)] * jac[static_cast<std::size_t>(6 * c + k)];
        jjt[static_cast<std::size_t>(6 * r + c)] = s + (r == c ? Constants::kIkDamping : 0.0);
      }
    std::array<double, 6> y = err;
    solve6(jjt, y);
    std::array<double, 6> dq{};
    double largest = 0.0;
    for (int c = 0; c < 6; ++c) {
      double s = 0.0;
      for (int r = 0; r < 6; ++r)
        s += jac[static_cast<std::size_t>(6 * r + c)] * y[static_cast<std::size_t>(r)];
      dq[static_cast<std::size_t>(c)] = s;
      largest = std::max(largest, std::abs(s));
    }
    const double scale = largest > Constants::kIkMaxStep ? Constants::kIkMaxStep / largest : 1.0;
    for (int c = 0; c < 6; ++c)
      result.q[static_cast<std::size_t>(c)] += scale * dq[static_cast<std::size_t>(c)];
    result.iterations = iter + 1;
  }
  return result;
}

ManipEnv::IkResult ManipEnv::set_control(const Action& action) {
  mjData* d = data_.get();
  const Vec3 p = effector_pos();
  const double yaw = effector_yaw();
  const double g = gripper_opening();
  Vec3 target{};
  for (std::size_t k = 0; k < 3; ++k)
    target[k] = clip(p[k] + action[k] * Constants::kActionScale[k], Constants::kWorkspaceLo[k],
                     Constants::kWorkspaceHi[k]);
  const double target_yaw = wrap_angle(yaw + action[3] * Constants::kActionScale[3]);
  const double target_g = clip(g + action[4] * Constants::kActionScale[4], 0.0, 1.0);
  Vec3 flange_pos{};
  Quat flange_quat{};
  flange_target(target, target_yaw, flange_pos, flange_quat);
  ArmQ q0{};
  for (int i = 0; i < 6; ++i) q0[static_cast<std::size_t>(i)] = d->qpos[i];
  const IkResult ik = solve_ik(flange_pos, flange_quat, q0);
  for (int i = 0; i < 6; ++i) d->ctrl[i] = ik.q[static_cast<std::size_t>(i)];
  d->ctrl[6] = 255.0 * target_g;
  return ik;
}

void ManipEnv::pre_step() {
  const mjModel* m = model_.get();
  const mjData* d = data_.get();
  std::copy(d->qpos, d->qpos + m->nq, prev_qpos_.begin());
  std::copy(d->qvel, d->qvel + m->nv, prev_qvel_.begin());
  prev_button_states_ = button_states_;
  for (std::size_t i = 0; i < button_qpos_.size(); ++i) prev_button_q_[i] = d->qpos[button_qpos_[i]];
}

void ManipEnv::post_step() {
  if (button_qpos_.empty()) return;
  const mjData* d = data_.get();
  const int n = num_buttons();
  std::vector<int> pressed;
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (prev_button_q_[k] > Constants::kPressThreshold &&
        d->qpos[button_qpos_[k]] <= Constants::kPressThreshold)
      pressed.push_back(i);
  }
  for (const int i : pressed) {
    auto toggle = [this](int b) { button_states_[static_cast<std::size_t>(b)] ^= 1; };
    toggle(i);
    if (layout_.kind == SceneLayout::Kind::Puzzle) {  // Lights Out: the in-grid 4-neighbours too
      const int r = i / layout_.cols, c = i % layout_.cols;
      if (r > 0) toggle(i - layout_.cols);
      if (r + 1 < layout_.rows) toggle(i + layout_.cols);
      if (c > 0) toggle(i - 1);
      if (c + 1 < layout_.cols) toggle(i + 1);
    }
  }
  apply_lock();
  mj_forward(model_.get(), data_.get());
}

void ManipEnv::step(const Action& action) {
  set_control(action);
  pre_step();
  for (int k = 0; k < Constants::kSubsteps; ++k) mj_step(model_.get(), data_.get());
  mj_rnePostConstraint(model_.get(), data_.get());
  post_step();
}

void ManipEnv::reset_to_home() {
  mjData* d = data_.get();
  mj_resetData(model_.get(), d);
  std::fill(button_states_.begin(), button_states_.end(), 0);
  apply_lock();
  mj_forward(model_.get(), d);
  for (int i = 0; i < 6; ++i) d->qpos[i] = Constants::kHome[static_cast<std::size_t>(i)];
  mj_kinematics(model_.get(), d);
}

ManipEnv::IkResult ManipEnv::place_arm(const Vec3& pinch_pos, double yaw) {
  Vec3 flange_pos{};
  Quat flange_quat{};
  flange_target(pinch_pos, yaw, flange_pos, flange_quat);
  const IkResult ik = solve_ik(flange_pos, flange_quat, Constants::kHome);
  for (int i = 0; i < 6; ++i) data_->qpos[i] = ik.q[static_cast<std::size_t>(i)];
  mj_forward(model_.get(), data_.get());
  return ik;
}

void ManipEnv::set_cube(int i, const Vec3& pos, const Quat& quat) {
  double* q = data_->qpos + cube_qpos_.at(static_cast<std::size_t>(i));
  std::copy(pos.begin(), pos.end(), q);
  std::copy(quat.begin(), quat.end(), q + 3);
}

Vec3 ManipEnv::cube_pos(int i) const {
  const double* q = data_->qpos + cube_qpos_.at(static_cast<std::size_t>(i));
  return {q[0], q[1], q[2]};
}

Quat ManipEnv::cube_quat(int i) const {
  const double* q = data_->qpos + cube_qpos_.at(static_cast<std::size_t>(i)) + 3;
  return {q[0], q[1], q[2], q[3]};
}

void ManipEnv::set_cube_velocity_zero(int i) {
  double* v = data_->qvel + cube_qvel_.at(static_cast<std::size_t>(i));
  std::fill(v, v + 6, 0.0);
}

void ManipEnv::set_cube_goal(int i, const Vec3& pos, const Quat& quat) {
  const int mocap = cube_mocap_.at(static_cast<std::size_t>(i));
  std::copy(pos.begin(), pos.end(), data_->mocap_pos + 3 * mocap);
  std::copy(quat.begin(), quat.end(), data_->mocap_quat + 4 * mocap);
}

Vec3 ManipEnv::cube_goal(int i) const {
  const double* p = data_->mocap_pos + 3 * cube_mocap_.at(static_cast<std::size_t>(i));
  return {p[0], p[1], p[2]};
}

void ManipEnv::set_button_states(const std::vector<int>& states) {
  if (states.size() != button_states_.size())
    throw DataError(layout_.label() + ": " + std::to_string(states.size()) +
                    " button states given, expected " + std::to_string(button_states_.size()));
  for (std::size_t i = 0; i < states.size(); ++i) button_states_[i] = states[i] != 0 ? 1 : 0;
  apply_lock();
}

double ManipEnv::button_q(int i) const {
  return data_->qpos[button_qpos_.at(static_cast<std::size_t>(i))];
}
double ManipEnv::drawer_q() const {
  return has_drawer() ? data_->qpos[drawer_qpos_] : 0.0;
}
double ManipEnv::window_q() const {
  return has_drawer() ? data_->qpos[window_qpos_] : 0.0;
}
void ManipEnv::set_drawer_q(double q) {
  if (has_drawer()) data_->qpos[drawer_qpos_] = q;
}
void ManipEnv::set_window_q(double q) {
  if (has_drawer()) data_->qpos[window_qpos_] = q;
}
void ManipEnv::set_drawer_target(double q) {
  if (has_drawer()) model_->site_pos[3 * drawer_target_site_ + 1] = q;
}
void ManipEnv::set_window_target(double q) {
  if (has_drawer()) model_->site_pos[3 * window_target_site_ + 0] = q;
}

void ManipEnv::apply_lock() {
  if (!has_drawer()) return;
  model_->dof_damping[drawer_dof_] =
      button_states_[0] == 0 ? Constants::kLockedDamping : Constants::kUnlockedDamping;
  model_->dof_damping[window_dof_] =
      button_states_[1] == 0 ? Constants::kLockedDamping : Constants::kUnlockedDamping;
}

void ManipEnv::forward() {
  mj_forward(model_.get(), data_.get());
}

namespace {
template <typename T>
void load_state(ManipEnv& env, mjData* d, const mjModel* m, const T* qpos, const T* qvel,
                const std::int64_t* buttons) {
  for (int i = 0; i < m->nq; ++i) d->qpos[i] = static_cast<double>(qpos[i]);
  for (int i = 0; i < m->nv; ++i) d->qvel[i] = static_cast<double>(qvel[i]);
  std::fill(d->qacc_warmstart, d->qacc_warmstart + m->nv, 0.0);
  if (env.num_buttons() > 0) {
    std::vector<int> states(static_cast<std::size_t>(env.num_buttons()));
    for (std::size_t i = 0; i < states.size(); ++i) states[i] = static_cast<int>(buttons[i]);
    env.set_button_states(states);
  }
  env.forward();
}
}  // namespace

void ManipEnv::set_state(const double* qpos, const double* qvel, const std::int64_t* buttons) {
  load_state(*this, data_.get(), model_.get(), qpos, qvel, buttons);
}
void ManipEnv::set_state(const float* qpos, const float* qvel, const std::int64_t* buttons) {
  load_state(*this, data_.get(), model_.get(), qpos, qvel, buttons);
}

std::vector<double> ManipEnv::observation() const {
  std::vector<double> obs(static_cast<std::size_t>(obs_dim()));
  observation(obs.data());
  return obs;
}

void ManipEnv::observation(double* out) const {
  const mjData* d = data_.get();
  for (int i = 0; i < 6; ++i) *out++ = d->qpos[i];
  for (int i = 0; i < 6; ++i) *out++ = d->qvel[i];
  const Vec3 p = effector_pos();
  for (std::size_t k = 0; k < 3; ++k) *out++ = (p[k] - Constants::kObsCenter[k]) * 10.0;
  const double yaw = effector_yaw();
  *out++ = std::cos(yaw);
  *out++ = std::sin(yaw);
  *out++ = 3.0 * gripper_opening();
  *out++ = contact();
  for (int i = 0; i < num_cubes(); ++i) {
    const Vec3 c = cube_pos(i);
    for (std::size_t k = 0; k < 3; ++k) *out++ = (c[k] - Constants::kObsCenter[k]) * 10.0;
    const Quat q = cube_quat(i);
    for (const double v : q) *out++ = v;
    const double beta = quat_yaw(q);
    *out++ = std::cos(beta);
    *out++ = std::sin(beta);
  }
  for (int i = 0; i < num_buttons(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    *out++ = button_states_[k] == 0 ? 1.0 : 0.0;
    *out++ = button_states_[k] == 0 ? 0.0 : 1.0;
    *out++ = 120.0 * d->qpos[button_qpos_[k]];
    *out++ = d->qvel[button_qvel_[k]];
  }
  if (has_drawer()) {
    *out++ = 18.0 * d->qpos[drawer_qpos_];
    *out++ = d->qvel[drawer_qvel_];
    *out++ = 15.0 * d->qpos[window_qpos_];
    *out++ = d->qvel[window_qvel_];
  }
}

int ManipEnv::warning_count() const {
  int total = 0;
  for (int i = 0; i < mjNWARNING; ++i) total += data_->warning[i].number;
  return total;
}

}  // namespace dipole::manipspace
