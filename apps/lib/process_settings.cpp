#include "dipole/app/process_settings.hpp"

#include <ATen/Parallel.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "dipole/core/pipeline.hpp"

namespace dipole::app {

void apply_process_settings(const config::Pipeline& pipeline) {
  config::Pipeline copy = pipeline;  // validating marks the section used: leave the caller's as it is
  apply_process_settings(copy.validate("trainer", "trainer", trainer_schema()).integer("threads"));
}

void apply_process_settings(std::int64_t threads) {
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
#if defined(__GLIBC__)
  static const bool keep_freed_memory = [] {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)keep_freed_memory;
#endif
}

}  // namespace dipole::app
