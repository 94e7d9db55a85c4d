// Process-wide settings a program applies before it builds a pipeline's run. They belong to the
// program, not to the runtime: core's build_run() only records them in the Run (docs/architecture.md,
// "Layers").
#pragma once

#include "dipole/core/config.hpp"

namespace dipole::app {

/// Applies the pipeline's process-wide settings (its [trainer] section validated on a copy, so
/// errors name file:line:col as build_run's would):
/// - trainer.threads > 0: LibTorch's intra-op thread count (0 keeps LibTorch's default);
/// - trainer.seeds with two or more seeds: OpenBLAS on one thread (the seeds share the intra-op threads,
///   one seed per thread, docs/seeds.md; a BLAS call spreading over threads would compete with them);
/// - on glibc, freed heap memory is kept for reuse (once per process): every update allocates and
///   frees the same activation and gradient tensors (up to a few MB each), and glibc's defaults (mmap
///   for blocks >= 128 KiB, trimming of freed heap tops) make each update page-fault its working set
///   in again (~5000 faults per paper-scale update, ~10 % of its time; docs/performance.md). Blocks
///   >= 64 MiB (data sets) still use mmap.
void apply_process_settings(const config::Pipeline& pipeline);

/// The same with the thread count given directly (`threads` <= 0: LibTorch's default).
void apply_process_settings(std::int64_t threads);

/// openblas_set_num_threads(threads) when the loaded BLAS is OpenBLAS (looked up at run time: LibTorch
/// links whichever libblas.so.3 the system selects). False when it is not OpenBLAS.
bool set_openblas_threads(int threads);

}  // namespace dipole::app
