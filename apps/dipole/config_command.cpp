#include <iostream>

#include "dipole/core/config.hpp"
#include "dipole/core/pipeline.hpp"
#include "options.hpp"

namespace dipole::cli {

int config_command(const Args& args) {
  po::options_description options("options");
  std::string file;
  std::vector<std::string> overrides;
  options.add_options()("pipeline", po::value(&file)->required(), "pipeline TOML file")(
      "set", po::value(&overrides)->composing(), "override a key: --set critic.expectile=0.8 (repeatable)")(
      "raw", "print the merged file without validating it against the plugins' schemas");
  po::positional_options_description positional;
  positional.add("pipeline", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole config <pipeline.toml> [--set section.key=value ...]", options,
                     positional, vm))
    return 0;
  auto pipeline = config::Pipeline::load(file, overrides);
  if (vm.count("raw")) {
    std::cout << pipeline.resolved_toml();
    return 0;
  }
  // Resolving validates every section against its plugin type's schema and fills in defaults without
  // constructing anything: no data set is read, no file written, no process-wide setting changed.
  std::cout << resolve_pipeline(Registry::with_default_plugins(), std::move(pipeline)).resolved_toml();
  return 0;
}

}  // namespace dipole::cli
