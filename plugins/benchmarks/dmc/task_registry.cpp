// make_task / task_names (dmc_task.hpp): the table of domains and their tasks. MuJoCo-only.
#include <dipole/errors.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dmc_task.hpp"
#include "task_factories.hpp"

namespace dipole::dmc {
namespace {

struct Domain {
  const char* name;
  std::vector<std::string> tasks;
  std::unique_ptr<Task> (*make)(const std::string& task);
};

/// Every domain with its tasks, in the order of docs/exorl.md, "Tasks". A domain is one line here plus
/// its factory in task_factories.hpp.
const std::vector<Domain>& domains() {
  static const std::vector<Domain> kDomains = {
      {"walker", {"stand", "walk", "run"}, &make_walker_task},
      {"cheetah", {"run", "run_backward"}, &make_cheetah_task},
      {"quadruped", {"walk", "run"}, &make_quadruped_task},
      {"jaco", {"reach_top_left", "reach_top_right"}, &make_jaco_task},  // jaco.cpp
  };
  return kDomains;
}

std::string valid_pairs() {
  std::string list;
  for (const auto& [domain, task] : task_names()) list += (list.empty() ? "" : ", ") + domain + "/" + task;
  return list;
}

}  // namespace

std::unique_ptr<Task> make_task(const std::string& domain, const std::string& task) {
  for (const Domain& d : domains()) {
    if (domain != d.name) continue;
    for (const std::string& t : d.tasks)
      if (t == task) return d.make(task);
    break;
  }
  throw ConfigError("dmc: no task '" + task + "' in domain '" + domain +
                    "'; valid (domain/task): " + valid_pairs());
}

std::vector<std::pair<std::string, std::string>> task_names() {
  std::vector<std::pair<std::string, std::string>> names;
  for (const Domain& d : domains())
    for (const std::string& t : d.tasks) names.emplace_back(d.name, t);
  return names;
}

}  // namespace dipole::dmc
