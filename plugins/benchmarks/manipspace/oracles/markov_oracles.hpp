// OGBench's Markov (closed-loop) oracles (docs/ogbench.md, "Markov oracles and noisy data"), used for the
// `noisy` datasets: a state machine per target kind (cube, button, drawer, window) that acts on the current
// effector pose every step, with min_norm 0.4 shaping, gains 5 (translation) / 3 (yaw) and step
// limits 200 / 100 / 75 / 75. They read ManipEnv only (cube goal = mocap, handle targets = target
// sites), so they run on the data-collection PlayEnv and on the single-task envs alike.
// MuJoCo-only: no ATen here.
#pragma once

#include "play_env.hpp"

namespace dipole::manipspace::oracles {

/// Shaping: 5·shape(d) (shape(d) = d if ‖d‖ ≥ 0.4, else d·0.4/(‖d‖ + 1e-6)), 3·yaw, grip;
/// clipped to [−1, 1].
Action markov_action(const Vec3& d, double yaw, double grip);

class MarkovOracle {
 public:
  /// `arm_lo`/`arm_hi`: the env's arm sampling box (final poses); `always_closed`: puzzle buttons.
  MarkovOracle(const Vec3& arm_lo, const Vec3& arm_hi, bool always_closed)
      : lo_(arm_lo), hi_(arm_hi), closed_(always_closed) {}
  /// The box of `env`, gripper always closed in puzzle.
  explicit MarkovOracle(const PlayEnv& env)
      : MarkovOracle(env.arm_lo(), env.arm_hi(), env.category() == ogbench::Category::Puzzle3x3) {}

  /// Start the sub-task `target` (task, cube, button, button_state are used): draw the final pose
  /// f_p ~ U(arm box) (window: lower z raised to 0.3), f_ψ ~ U(−π, π); max_step 200 (cube), 100
  /// (button), 75 (drawer, window).
  void reset(const PlayTarget& target, Rng& rng);
  void reset(const PlayEnv& env, Rng& rng) { reset(env.target(), rng); }
  /// The clipped action for the current state; counts steps and sets done().
  Action action(const ManipEnv& env);
  Action action(const PlayEnv& env) { return action(env.env()); }
  bool done() const { return done_; }
  int max_step() const { return max_step_; }
  const Vec3& final_pos() const { return final_pos_; }

 private:
  Action cube(const ManipEnv& env);
  Action button(const ManipEnv& env);
  Action handle(const ManipEnv& env, bool window);

  Vec3 lo_, hi_;
  bool closed_;
  PlayTarget target_;
  Vec3 final_pos_{};
  double final_yaw_ = 0.0;
  int max_step_ = 0, steps_ = 0;
  bool done_ = true;
};

}  // namespace dipole::manipspace::oracles
