// Work for several seeds of one pipeline at once (trainer.seeds, docs/seeds.md): the seeds share the
// process's threads, one seed per thread at a time, instead of each seed spreading its small kernels
// over all threads.
#pragma once

#include <cstdint>
#include <functional>

namespace dipole {

/// Calls fn(i) for every i in [0, n) on min(threads, n) threads (threads ≤ 0: at::get_num_threads()),
/// handing out indices one at a time. With two or more threads, ATen's and Dipole's parallel kernels
/// inside fn run on the calling thread (they see an OpenMP parallel region); with one (threads or n
/// is 1) fn runs on the caller and its kernels use LibTorch's intra-op threads. Either way a seed's
/// results are the same: no kernel's result depends on its thread count. Returns when every call has
/// returned; then rethrows the exception of the lowest index that threw, if any.
void for_each_seed(std::int64_t n, int threads, const std::function<void(std::int64_t)>& fn);

}  // namespace dipole
