// `dipole-bench kernels`: the no-grad EnsembleMlp products (core/src/nn.cpp: a streaming kernel for
// products of few rows, gemm above) against the plain baddbmm + GELU sequence, for a 4×512 actor
// pair ([2, rows, ·]) at 1 … 256 rows, alternated in one run. Medians over --repeats calls.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "bench_common.hpp"
#include "dipole/sdk/nn.hpp"

namespace dipole::bench {

int kernels(const Args& args) {
  po::options_description options("options");
  int repeats = 200;
  options.add_options()("repeats", po::value(&repeats), "timed calls per row count and path");
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole bench kernels [--repeats N]", options, {}, vm)) return 0;
  auto gen = at::detail::createCPUGenerator(43);
  const MlpConfig config = mlp_preset("fql", NetworkRole::Actor);
  EnsembleMlp net(2, 31, 6, config, gen);
  at::NoGradGuard no_grad;
  std::cout << "| rows | EnsembleMlp (ms) | baddbmm + GELU (ms) | ratio |\n|---:|---:|---:|---:|\n";
  for (std::int64_t rows : {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
    const auto x = at::randn({rows, 31}, gen);
    auto reference = [&] {
      at::Tensor h = x.unsqueeze(0).expand({2, rows, 31});
      const auto& layers = net.layers();
      for (std::size_t l = 0; l < layers.size(); ++l) {
        h = at::baddbmm(layers[l].bias, h, layers[l].weight);
        if (l + 1 < layers.size()) h = activate(h, Activation::GeluTanh);
      }
      return h;
    };
    std::vector<double> kernel, plain;
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = Clock::now();
      net.forward(x);
      const auto t1 = Clock::now();
      reference();
      const auto t2 = Clock::now();
      kernel.push_back(std::chrono::duration<double>(t1 - t0).count());
      plain.push_back(std::chrono::duration<double>(t2 - t1).count());
    }
    std::sort(kernel.begin(), kernel.end());
    std::sort(plain.begin(), plain.end());
    const double k = kernel[kernel.size() / 2], p = plain[plain.size() / 2];
    std::cout << fmt::format("| {} | {:.3f} | {:.3f} | {:.2f} |\n", rows, 1e3 * k, 1e3 * p, k / p);
  }
  return 0;
}

}  // namespace dipole::bench
