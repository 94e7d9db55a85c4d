#include "dipole/app/process_settings.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "dipole/core/pipeline.hpp"

namespace dipole::app {

void apply_process_settings(const config::Pipeline& pipeline) {
  config::Pipeline copy = pipeline;  // validating marks the section used: leave the caller's as it is
  const Params trainer = copy.validate("trainer", "trainer", trainer_schema());
  apply_process_settings(trainer.integer("threads"));
  const TrainerConfig config = trainer_keys().read(trainer);
  if (config.seeds && config.seeds->size() > 1) set_openblas_threads(1);
}

bool set_openblas_threads(int threads) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
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
