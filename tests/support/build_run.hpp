// Builds a run the way the `dipole` programs do: the pipeline's process-wide settings
// (trainer.threads, the allocator) applied first by the apps layer, then core's build_run, which
// only records them (docs/architecture.md, "Layers").
#pragma once

#include <utility>

#include "dipole/app/process_settings.hpp"
#include "dipole/core/pipeline.hpp"

namespace dipole::test {

inline Run build_run(const Registry& registry, config::Pipeline pipeline) {
  app::apply_process_settings(pipeline);
  return dipole::build_run(registry, std::move(pipeline));
}

}  // namespace dipole::test
