#include "exorl_relabel.hpp"

#include <set>
#include <utility>
#include <vector>

#include "dipole/errors.hpp"
#include "dmc_task.hpp"

namespace dipole::exorl {

DomainSizes dmc_domain_sizes(const std::string& domain) {
  std::set<std::string> domains;
  for (const auto& [d, task] : dmc::task_names()) {
    if (d != domain) {
      domains.insert(d);
      continue;
    }
    const auto t = dmc::make_task(d, task);
    DomainSizes sizes;
    sizes.domain = domain;
    sizes.obs_dim = t->obs_dim();
    sizes.action_dim = t->action_dim();
    sizes.state_dim = t->make_physics().state_dim();
    return sizes;
  }
  std::string list;
  for (const auto& d : domains) list += (list.empty() ? "" : ", ") + d;
  throw ConfigError("exorl: unknown domain '" + domain + "' (the dmc tasks provide: " + list + ")");
}

void check_task(const std::string& domain, const std::string& task) {
  (void)dmc::make_task(domain, task);
}

Relabeller::Relabeller(const std::string& domain, const std::string& task)
    : task_(dmc::make_task(domain, task)), physics_(std::make_unique<dmc::Physics>(task_->make_physics())) {}

Relabeller::~Relabeller() = default;

std::int64_t Relabeller::state_dim() const {
  return physics_->state_dim();
}

void Relabeller::relabel(const double* states, std::int64_t rows, float* out) {
  const std::int64_t width = state_dim();
  for (std::int64_t r = 0; r < rows; ++r)
    out[r] = static_cast<float>(dmc::reward_from_state(*task_, *physics_, states + r * width));
}

}  // namespace dipole::exorl
