// OGBench single-task locomotion environment (see loco_env.hpp; docs/ogbench.md, "Locomotion
// environments").
#include "loco_env.hpp"

#include <dipole/errors.hpp>

#include <cmath>
#include <stdexcept>

namespace dipole::locomaze {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr int kFrameSkip = 5;
constexpr double kPointStep = 0.2;   // point: Δxy = 0.2·a per env step
constexpr double kResetNoise = 0.1;  // ant / point reset_noise_scale
constexpr double kCellNoise = 1.0;   // U(−1, 1) per axis around a cell centre (maze_unit / 4)
constexpr int kBallQpos = ogbench::kAntSoccerBallQposBegin;  // 15

int id_of(const mjModel* m, mjtObj type, const char* name, const std::string& label) {
  const int id = mj_name2id(m, type, name);
  if (id < 0) throw DataError(label + ": the composed model has no '" + name + "'");
  return id;
}

}  // namespace

RewardTiming parse_reward_timing(const std::string& text) {
  if (text == "pre") return RewardTiming::Pre;
  if (text == "post") return RewardTiming::Post;
  throw ConfigError("reward_timing: \"" + text + "\" is not pre or post");
}

ResetQuaternion parse_reset_quaternion(const std::string& text) {
  if (text == "raw") return ResetQuaternion::Raw;
  if (text == "normalized") return ResetQuaternion::Normalized;
  throw ConfigError("reset_quaternion: \"" + text + "\" is not raw or normalized");
}

// ---- Scene ---------------------------------------------------------------------------------------

Scene::Scene(const SceneKind& kind) : kind_(kind), model_(load_model(kind)) {
  data_.reset(mj_makeData(model_.get()));
  if (!data_) throw DataError(kind.label() + ": MuJoCo could not allocate mjData");
  const mjModel* m = model_.get();
  const std::string label = kind.label();
  target_geom_ = id_of(m, mjOBJ_GEOM, "target", label);
  if (kind.agent == Agent::Humanoid) {
    humanoid_.torso = id_of(m, mjOBJ_BODY, "torso", label);
    humanoid_.head = id_of(m, mjOBJ_BODY, "head", label);
    humanoid_.left_hand = id_of(m, mjOBJ_BODY, "left_hand", label);
    humanoid_.left_foot = id_of(m, mjOBJ_BODY, "left_foot", label);
    humanoid_.right_hand = id_of(m, mjOBJ_BODY, "right_hand", label);
    humanoid_.right_foot = id_of(m, mjOBJ_BODY, "right_foot", label);
    humanoid_.subtreelinvel = m->sensor_adr[id_of(m, mjOBJ_SENSOR, "torso_subtreelinvel", label)];
  }
}

int Scene::obs_dim() const {
  switch (kind_.agent) {
    case Agent::Point:
      return 2;
    case Agent::Ant:
      return model_->nq + model_->nv;  // 29, antsoccer 42
    case Agent::Humanoid:
      return 69;
  }
  return 0;
}

void Scene::step(const double* action) {
  mjModel* m = model_.get();
  mjData* d = data_.get();
  switch (kind_.agent) {
    case Agent::Point:
      // The point is moved kinematically; its motors are never driven (ctrl stays 0).
      d->qpos[0] += kPointStep * action[0];
      d->qpos[1] += kPointStep * action[1];
      d->qvel[0] = d->qvel[1] = 0.0;
      for (int k = 0; k < kFrameSkip; ++k) mj_step(m, d);
      break;
    case Agent::Ant:
      for (int i = 0; i < m->nu; ++i) d->ctrl[i] = action[i];
      for (int k = 0; k < kFrameSkip; ++k) mj_step(m, d);
      break;
    case Agent::Humanoid:
      // dm_control's step (mj_step2, 4 × mj_step, mj_step1) equals 5 × mj_step + mj_step1; the
      // trailing mj_step1 makes xpos/xmat/sensors current without touching the solver warm start.
      for (int i = 0; i < m->nu; ++i) d->ctrl[i] = action[i];
      for (int k = 0; k < kFrameSkip; ++k) mj_step(m, d);
      mj_step1(m, d);
      break;
  }
}

void Scene::set_state(const double* qpos, const double* qvel) {
  mjModel* m = model_.get();
  mjData* d = data_.get();
  for (int i = 0; i < m->nq; ++i) d->qpos[i] = qpos[i];
  for (int i = 0; i < m->nv; ++i) d->qvel[i] = qvel[i];
  mj_forward(m, d);
}

std::vector<double> Scene::observation() const {
  const mjModel* m = model_.get();
  const mjData* d = data_.get();
  std::vector<double> obs;
  obs.reserve(static_cast<std::size_t>(obs_dim()));
  switch (kind_.agent) {
    case Agent::Point:
      obs = {d->qpos[0], d->qpos[1]};
      break;
    case Agent::Ant:
      obs.assign(d->qpos, d->qpos + m->nq);
      obs.insert(obs.end(), d->qvel, d->qvel + m->nv);
      break;
    case Agent::Humanoid: {
      const HumanoidIds& ids = humanoid_;
      obs.push_back(d->qpos[0]);
      obs.push_back(d->qpos[1]);
      for (int i = 7; i < m->nq; ++i) obs.push_back(d->qpos[i]);  // the 21 hinges
      obs.push_back(d->xpos[3 * ids.head + 2]);                   // head height
      const double* R = d->xmat + 9 * ids.torso;                  // row-major world-from-torso
      const double* p = d->xpos + 3 * ids.torso;
      for (const int body : {ids.left_hand, ids.left_foot, ids.right_hand, ids.right_foot}) {
        const double v[3] = {d->xpos[3 * body] - p[0], d->xpos[3 * body + 1] - p[1],
                             d->xpos[3 * body + 2] - p[2]};
        for (int k = 0; k < 3; ++k) obs.push_back(v[0] * R[k] + v[1] * R[3 + k] + v[2] * R[6 + k]);  // Rᵀv
      }
      for (int k = 6; k < 9; ++k) obs.push_back(R[k]);  // world z in the torso frame
      for (int k = 0; k < 3; ++k) obs.push_back(d->sensordata[ids.subtreelinvel + k]);
      obs.insert(obs.end(), d->qvel, d->qvel + m->nv);
      break;
    }
  }
  return obs;
}

std::vector<double> Scene::observation_of(const double* qpos, const double* qvel) {
  set_state(qpos, qvel);
  return observation();
}

// ---- LocoEnv -------------------------------------------------------------------------------------

LocoEnv::LocoEnv(const std::string& env_id, RewardTiming timing, ResetQuaternion quaternion)
    : name_(ogbench::parse_name(env_id)),
      task_(ogbench::task_spec(name_)),
      timing_(timing),
      quaternion_(quaternion),
      scene_(scene_of(name_.category)) {
  if (!name_.dataset_type.empty())
    throw ConfigError("env: \"" + env_id + "\" is a dataset name; the environment is \"" + name_.env_id +
                      "\"");
  const auto& cat = category();
  const mjModel* m = scene_.model();
  if (m->nq != cat.nq || m->nv != cat.nv || m->nu != cat.act_dim || scene_.obs_dim() != cat.obs_dim)
    throw DataError(scene_.kind().label() + ": composed model has nq " + std::to_string(m->nq) + ", nv " +
                    std::to_string(m->nv) + ", nu " + std::to_string(m->nu) + "; expected nq " +
                    std::to_string(cat.nq) + ", nv " + std::to_string(cat.nv) + ", nu " +
                    std::to_string(cat.act_dim));
}

double LocoEnv::uniform(double lo, double hi) {
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  return lo + (hi - lo) * u;
}

double LocoEnv::normal() {
  const double u1 = 1.0 - uniform(0.0, 1.0);  // (0, 1]
  const double u2 = uniform(0.0, 1.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

void LocoEnv::set_goal(const std::array<double, 2>& goal) {
  goal_ = goal;
  task_.goal_xy = {goal[0], goal[1]};
  mjModel* m = scene_.model();
  m->geom_pos[3 * scene_.target_geom_] = goal[0];
  m->geom_pos[3 * scene_.target_geom_ + 1] = goal[1];
}

void LocoEnv::reset_agent() {
  mjModel* m = scene_.model();
  mjData* d = scene_.data();
  const int nq = m->nq, nv = m->nv;
  std::vector<double> qpos(m->qpos0, m->qpos0 + nq), qvel(static_cast<std::size_t>(nv), 0.0);
  rejections_ = 0;
  if (scene_.kind().agent != Agent::Humanoid) {
    // Point and ant (ball included): qpos0 + U(±0.1) on every entry, quaternions not renormalised
    // (the ankles start outside their joint ranges, the torso 0.75 m up); qvel = 0.1·N(0, 1).
    for (double& q : qpos) q += uniform(-kResetNoise, kResetNoise);
    for (double& v : qvel) v = kResetNoise * normal();
    reset_qpos_ = qpos;
    scene_.set_state(qpos.data(), qvel.data());
    return;
  }
  // Humanoid: root at qpos0 (0, 0, 1.5), quaternion = normalise(U[0, 1)⁴), qvel = 0.1·N(0, 1),
  // hinges uniform in their ranges; forward without actuation; retry while anything touches.
  for (;;) {
    double q[4], norm = 0.0;
    for (double& c : q) {
      c = uniform(0.0, 1.0);
      norm += c * c;
    }
    norm = std::sqrt(norm);
    for (int k = 0; k < 4; ++k) qpos[static_cast<std::size_t>(3 + k)] = q[k] / norm;
    for (double& v : qvel) v = kResetNoise * normal();
    for (int j = 1; j < m->njnt; ++j)
      qpos[static_cast<std::size_t>(m->jnt_qposadr[j])] =
          uniform(m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
    for (int i = 0; i < nq; ++i) d->qpos[i] = qpos[static_cast<std::size_t>(i)];
    for (int i = 0; i < nv; ++i) d->qvel[i] = qvel[static_cast<std::size_t>(i)];
    const int flags = m->opt.disableflags;
    m->opt.disableflags |= mjDSBL_ACTUATION;
    mj_forward(m, d);
    m->opt.disableflags = flags;
    if (d->ncon == 0) break;
    ++rejections_;
  }
  reset_qpos_.assign(d->qpos, d->qpos + nq);
}

void LocoEnv::place(const std::array<double, 2>& agent_xy, const std::array<double, 2>& ball_xy) {
  mjModel* m = scene_.model();
  mjData* d = scene_.data();
  d->qpos[0] = reset_qpos_[0] = agent_xy[0];
  d->qpos[1] = reset_qpos_[1] = agent_xy[1];
  if (scene_.kind().ball) {
    d->qpos[kBallQpos] = reset_qpos_[kBallQpos] = ball_xy[0];
    d->qpos[kBallQpos + 1] = reset_qpos_[kBallQpos + 1] = ball_xy[1];
  }
  mj_forward(m, d);
}

const std::vector<double>& LocoEnv::reset(std::uint64_t seed) {
  rng_.seed(seed);
  // Start (and ball) at their cell centres plus U(−1, 1) per axis, x then y; the goal without noise.
  std::array<double, 2> agent{task_.agent_init_xy[0], task_.agent_init_xy[1]};
  std::array<double, 2> ball{task_.ball_init_xy[0], task_.ball_init_xy[1]};
  const ogbench::TaskSpec table = ogbench::task_spec(name_);
  for (double& c : agent) c += uniform(-kCellNoise, kCellNoise);
  if (scene_.kind().ball)
    for (double& c : ball) c += uniform(-kCellNoise, kCellNoise);
  return reset_at(agent, ball, {table.goal_xy[0], table.goal_xy[1]});
}

void LocoEnv::seed(std::uint64_t seed) {
  rng_.seed(seed);
}

const std::vector<double>& LocoEnv::reset_at(const std::array<double, 2>& agent_xy,
                                             const std::array<double, 2>& ball_xy,
                                             const std::array<double, 2>& goal_xy) {
  mj_resetData(scene_.model(), scene_.data());
  reset_agent();
  set_goal(goal_xy);
  place(agent_xy, ball_xy);
  observation_ = scene_.observation();
  if (scene_.kind().agent == Agent::Ant && quaternion_ == ResetQuaternion::Raw)
    for (int i = 0; i < scene_.nq(); ++i)
      observation_[static_cast<std::size_t>(i)] = reset_qpos_[static_cast<std::size_t>(i)];
  steps_ = 0;
  at_reset_ = true;
  return observation_;
}

std::vector<double> LocoEnv::state() const {
  const mjModel* m = scene_.model();
  const mjData* d = scene_.data();
  std::vector<double> s;
  s.reserve(static_cast<std::size_t>(m->nq + m->nv));
  if (at_reset_ && quaternion_ == ResetQuaternion::Raw && scene_.kind().agent == Agent::Ant)
    s.assign(reset_qpos_.begin(), reset_qpos_.end());
  else
    s.assign(d->qpos, d->qpos + m->nq);
  s.insert(s.end(), d->qvel, d->qvel + m->nv);
  return s;
}

bool LocoEnv::success_now() const {
  return ogbench::success(ogbench::indicators(task_, scene_.data()->qpos, nullptr));
}

StepOutcome LocoEnv::step(const double* action) {
  if (steps_ < 0) throw std::logic_error("ogbench_locomaze: step() before reset()");
  StepOutcome out;
  if (timing_ == RewardTiming::Pre) out.success = success_now();
  scene_.step(action);
  at_reset_ = false;
  observation_ = scene_.observation();
  if (timing_ == RewardTiming::Post) out.success = success_now();
  // Teleport mazes: after the step and its success, an inbound disc within 1.5 m sends the agent to
  // a uniformly drawn outbound one; this step still returns the observation from before the jump.
  if (scene_.kind().map == MapName::Teleport) {
    mjData* d = scene_.data();
    for (const auto& in : kTeleportIn) {
      if (std::hypot(d->qpos[0] - in[0], d->qpos[1] - in[1]) > kTeleportRadius) continue;
      const auto& out_xy = kTeleportOut[static_cast<std::size_t>(rng_() % kTeleportOut.size())];
      d->qpos[0] = out_xy[0];
      d->qpos[1] = out_xy[1];
      mj_forward(scene_.model(), d);
      out.teleported = true;
      break;
    }
  }
  out.reward = out.success ? 0.0 : -1.0;
  out.terminated = out.success;
  ++steps_;
  out.truncated = steps_ >= max_episode_steps();
  return out;
}

}  // namespace dipole::locomaze
