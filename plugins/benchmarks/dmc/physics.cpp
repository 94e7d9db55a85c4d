// Physics (dmc_task.hpp): one MuJoCo model + data with dm_control's stepping conventions
// (docs/exorl.md, "Step, reset and state"), and reward_from_state (docs/exorl.md, "Reward relabelling").
// MuJoCo-only: no LibTorch here.
#include <mujoco/mujoco.h>

#include <dipole/errors.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "dmc_task.hpp"

namespace dipole::dmc {
namespace {

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

}  // namespace

Physics::Physics(mjModel* model, std::string source) : model_(model), source_(std::move(source)) {
  if (!model_) throw std::invalid_argument("dmc::Physics: null model for " + source_);
  data_.reset(mj_makeData(model_.get()));
  if (!data_) throw std::runtime_error(source_ + ": MuJoCo could not allocate mjData");
}

Physics Physics::load_xml(const std::string& path) {
  std::array<char, 1000> error{};
  mjModel* model = mj_loadXML(path.c_str(), nullptr, error.data(), static_cast<int>(error.size()));
  if (model == nullptr) throw DataError(path + ": MuJoCo could not load the model: " + error.data());
  return Physics(model, path);
}

Physics Physics::load_xml_text(const std::string& xml, const std::string& source) {
  constexpr const char* kVfsName = "model.xml";
  auto vfs = std::make_unique<mjVFS>();  // ~2 MB: not on the stack
  mj_defaultVFS(vfs.get());
  if (mj_makeEmptyFileVFS(vfs.get(), kVfsName, static_cast<int>(xml.size())) != 0)
    throw std::runtime_error(source + ": MuJoCo could not allocate a VFS file for the model text");
  const int file = mj_findFileVFS(vfs.get(), kVfsName);
  std::memcpy(vfs->filedata[file], xml.data(), xml.size());
  std::array<char, 1000> error{};
  mjModel* model = mj_loadXML(kVfsName, vfs.get(), error.data(), static_cast<int>(error.size()));
  mj_deleteVFS(vfs.get());
  if (model == nullptr) throw DataError(source + ": MuJoCo could not load the model: " + error.data());
  return Physics(model, source);
}

void Physics::reset_data() {
  mj_resetData(model_.get(), data_.get());
}

void Physics::forward_without_actuation() {
  mjModel* m = model_.get();
  const int flags = m->opt.disableflags;
  m->opt.disableflags |= mjDSBL_ACTUATION;
  mj_forward(m, data_.get());
  m->opt.disableflags = flags;
}

void Physics::set_action(const float* action, int action_dim) {
  const mjModel* m = model_.get();
  if (action_dim != m->nu)
    throw std::invalid_argument(source_ + ": action has " + std::to_string(action_dim) +
                                " entries, expected " + std::to_string(m->nu));
  for (int i = 0; i < action_dim; ++i)
    if (!std::isfinite(action[i]))
      throw NumericError(source_ + ": action entry " + std::to_string(i) + " is not finite");
  for (int i = 0; i < action_dim; ++i) {
    const float clipped = std::clamp(action[i], -1.0F, 1.0F);
    const auto lo = static_cast<float>(m->actuator_ctrlrange[2 * i]);
    const auto hi = static_cast<float>(m->actuator_ctrlrange[2 * i + 1]);
    data_->ctrl[i] = lo + (hi - lo) * (clipped + 1.0F) / 2.0F;  // float32, as the Python wrappers
  }
}

void Physics::legacy_step(int physics_steps) {
  if (physics_steps < 1)
    throw std::invalid_argument(source_ + ": legacy_step needs at least one physics step, got " +
                                std::to_string(physics_steps));
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  // Same computation as n × (mj_step2, mj_step1): the reset or the previous step left the position
  // and velocity stages up to date; afterwards they describe the new state (docs/exorl.md, "Step, reset and
  // state").
  mj_step2(m, d);
  for (int k = 1; k < physics_steps; ++k) mj_step(m, d);
  mj_step1(m, d);
}

int Physics::state_dim() const {
  return model_->nq + model_->nv + model_->na;
}

void Physics::get_state(double* out) const {
  const mjModel* m = model_.get();
  const mjData* d = data_.get();
  std::copy_n(d->qpos, m->nq, out);
  std::copy_n(d->qvel, m->nv, out + m->nq);
  std::copy_n(d->act, m->na, out + m->nq + m->nv);
}

void Physics::set_state(const double* state) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  std::copy_n(state, m->nq, d->qpos);
  std::copy_n(state + m->nq, m->nv, d->qvel);
  std::copy_n(state + m->nq + m->nv, m->na, d->act);
}

WarningCounts Physics::warning_counts() const {
  WarningCounts counts{};
  for (int i = 0; i < mjNWARNING; ++i) counts[static_cast<std::size_t>(i)] = data_->warning[i].number;
  return counts;
}

void Physics::check_warnings(const WarningCounts& before, const std::string& where) const {
  for (int i = 0; i < mjNWARNING; ++i)
    if (data_->warning[i].number > before[static_cast<std::size_t>(i)])
      throw NumericError(source_ + ": MuJoCo warning '" + warning_name(i) + "' during " + where + " (time " +
                         std::to_string(data_->time) + " s)");
}

double Task::reward_from_state(Physics& physics, const double* state) const {
  physics.set_state(state);
  physics.forward_without_actuation();
  return reward(physics);
}

double reward_from_state(const Task& task, Physics& physics, const double* state) {
  return task.reward_from_state(physics, state);
}

}  // namespace dipole::dmc
