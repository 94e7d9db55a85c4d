// Reward relabelling (docs/exorl.md, "Reward relabelling") on the dmc tasks
// (plugins/benchmarks/dmc/dmc_task.hpp): MuJoCo only, no LibTorch. One Relabeller per thread: each owns its
// model and data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "exorl_format.hpp"

namespace dipole::dmc {
class Task;
class Physics;
}  // namespace dipole::dmc

namespace dipole::exorl {

/// Sizes of `domain`'s files: obs_dim and action_dim of its tasks, state_dim = nq + nv + na of its
/// compiled model. ConfigError (listing the valid domains) for an unknown domain.
DomainSizes dmc_domain_sizes(const std::string& domain);

/// ConfigError listing the valid (domain, task) pairs unless make_task accepts the pair.
void check_task(const std::string& domain, const std::string& task);

/// Computes R_task(physics[t]) for stored states: set qpos, qvel, act, forward without actuation,
/// reward (docs/exorl.md, "Reward relabelling"; mj_resetData is skipped, which changes nothing for these
/// rewards).
class Relabeller {
 public:
  /// ConfigError listing the valid (domain, task) pairs for an unknown pair.
  Relabeller(const std::string& domain, const std::string& task);
  ~Relabeller();
  Relabeller(const Relabeller&) = delete;
  Relabeller& operator=(const Relabeller&) = delete;

  std::int64_t state_dim() const;
  /// out[r] = float32(R(states[r])) for `rows` rows of state_dim() doubles.
  void relabel(const double* states, std::int64_t rows, float* out);

 private:
  std::unique_ptr<dmc::Task> task_;
  std::unique_ptr<dmc::Physics> physics_;
};

}  // namespace dipole::exorl
