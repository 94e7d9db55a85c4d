// OGBench's Markov (closed-loop) oracles of ogbench_manipulation.md §6.5, used for the `noisy`
// datasets: a state machine per target kind (cube, button, drawer, window) that acts on the current
// effector pose every step. MuJoCo-only: no ATen here.
#pragma once

#include <random>

#include "collect_env.hpp"

namespace dipole::manipspace::markov {

class Oracle {
 public:
  /// `arm_lo`/`arm_hi`: the env's arm sampling box (final poses); `always_closed`: puzzle buttons.
  Oracle(const Vec3& arm_lo, const Vec3& arm_hi, bool always_closed)
      : lo_(arm_lo), hi_(arm_hi), closed_(always_closed) {}

  /// Start the sub-task of `target`: draw the final pose f_p ~ U(arm box) (window: lower z raised to
  /// 0.3), f_ψ ~ U(−π, π); max_step 200 (cube), 100 (button), 75 (drawer, window).
  void reset(const CollectTarget& target, std::mt19937_64& rng);
  /// The clipped action for the current state; counts steps and sets done().
  Action action(const ManipEnv& env);
  bool done() const { return done_; }
  int max_step() const { return max_step_; }

 private:
  Action cube(const ManipEnv& env);
  Action button(const ManipEnv& env);
  Action handle(const ManipEnv& env, bool window);
  /// 5·shape(d) with min_norm 0.4, 3·yaw, grip; clipped to [−1, 1].
  static Action shaped(const Vec3& d, double yaw, double grip);

  Vec3 lo_, hi_;
  bool closed_;
  CollectTarget target_;
  Vec3 final_pos_{};
  double final_yaw_ = 0.0;
  int max_step_ = 0, steps_ = 0;
  bool done_ = true;
};

}  // namespace dipole::manipspace::markov
