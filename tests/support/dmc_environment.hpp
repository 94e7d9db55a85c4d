// The `dmc` environment (plugins/benchmarks/dmc) created through the plugin registry, as a pipeline would.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "dipole/core/registry.hpp"
#include "dipole/environment.hpp"

namespace dipole::test {

inline std::shared_ptr<Environment> make_dmc_environment(const std::string& domain, const std::string& task) {
  static const Registry registry = Registry::with_default_plugins();
  Params params("environment", "dmc");
  params.set("domain", domain);
  params.set("task", task);
  BuildContext ctx;
  ctx.section = "environment";
  auto env = std::dynamic_pointer_cast<Environment>(registry.create(Kind::Environment, "dmc", params, ctx));
  if (!env) throw std::runtime_error("dmc is not an Environment");
  return env;
}

}  // namespace dipole::test
