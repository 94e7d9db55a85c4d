// Rewards of the DMC walker tasks (plugins/benchmarks/dmc/README.md, "walker") as pure functions of three
// physics quantities, so tests can check them against hand-computed values without MuJoCo.
#pragma once

#include <limits>
#include <stdexcept>
#include <string>

#include "tolerance.hpp"

namespace dipole::dmc {

enum class WalkerTask { Stand, Walk, Run };

inline constexpr double kWalkerStandHeight = 1.2;  // torso height at which `standing` saturates
inline constexpr double kWalkerWalkSpeed = 1.0;    // m/s at which `move` saturates (walk)
inline constexpr double kWalkerRunSpeed = 8.0;     // m/s at which `move` saturates (run)

inline WalkerTask walker_task(const std::string& name) {
  if (name == "stand") return WalkerTask::Stand;
  if (name == "walk") return WalkerTask::Walk;
  if (name == "run") return WalkerTask::Run;
  throw std::invalid_argument("walker task must be stand, walk or run, got '" + name + "'");
}

/// stand = (3·standing + upright) / 4 with standing = tolerance(h; 1.2, ∞, margin 0.6, gaussian, 0.1)
/// and upright = (1 + z_z) / 2. h: torso height; z_z: torso xmat "zz" (cosine of the tilt).
inline double walker_stand_reward(double height, double torso_zz) {
  const double standing = tolerance(height, kWalkerStandHeight, std::numeric_limits<double>::infinity(),
                                    kWalkerStandHeight / 2, Sigmoid::Gaussian, 0.1);
  const double upright = (1.0 + torso_zz) / 2.0;
  return (3.0 * standing + upright) / 4.0;
}

/// The per-step reward in [0, 1]. v_x: x component of the walker's centre-of-mass velocity.
inline double walker_reward(WalkerTask task, double height, double torso_zz, double com_velocity_x) {
  const double stand = walker_stand_reward(height, torso_zz);
  if (task == WalkerTask::Stand) return stand;
  const double speed = task == WalkerTask::Walk ? kWalkerWalkSpeed : kWalkerRunSpeed;
  const double move = tolerance(com_velocity_x, speed, std::numeric_limits<double>::infinity(), speed / 2,
                                Sigmoid::Linear, 0.5);
  return stand * (5.0 * move + 1.0) / 6.0;  // multiply first, then divide (dm_control's order)
}

}  // namespace dipole::dmc
