#include "dipole/core/seed_parallel.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <exception>
#include <vector>

namespace dipole {

void for_each_seed(std::int64_t n, int threads, const std::function<void(std::int64_t)>& fn) {
  if (n <= 0) return;
  if (threads <= 0) threads = at::get_num_threads();
  const int team = static_cast<int>(std::min<std::int64_t>(threads, n));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  // Exceptions must not leave an OpenMP region: each is kept and the first rethrown after it.
#if defined(_OPENMP)
#pragma omp parallel for num_threads(team) schedule(dynamic, 1) if (team > 1)
#endif
  for (std::int64_t i = 0; i < n; ++i) {
    try {
      fn(i);
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  }
  (void)team;
  for (auto& error : errors)
    if (error) std::rethrow_exception(error);
}

}  // namespace dipole
