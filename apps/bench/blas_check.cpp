// `dipole-bench blas-check` (`dipole bench blas-check`): the numerical self-check of the BLAS kernels this
// process uses (scripts/blas_env.sh runs it before selecting non-default OpenBLAS kernels;
// docs/reliability.md). The float32 and float64 products Dipole's networks use (mm, addmm, bmm, baddbmm) at
// awkward sizes, against a reference accumulated in long double from the same inputs. Exit 0 when every entry
// is within its rounding bound, 1 (naming the product) otherwise.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace dipole::bench {

namespace {

/// Largest |C - R| / bound over the entries, R the reference of C = beta·bias + A·B (A [m,k], B [k,n]).
/// bound = 4·k·eps·(Σ|a||b| + |bias|) + min normal: the worst-case rounding of any summation order.
double scaled_error(const at::Tensor& c, const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias) {
  const at::Tensor A = a.to(at::kDouble).contiguous(), B = b.to(at::kDouble).contiguous(),
                   C = c.to(at::kDouble).contiguous();
  const at::Tensor bias_d = bias.defined() ? bias.to(at::kDouble).expand({a.size(0), b.size(1)}).contiguous()
                                           : at::zeros({a.size(0), b.size(1)}, at::kDouble);
  const double eps = c.scalar_type() == at::kFloat ? std::numeric_limits<float>::epsilon()
                                                   : std::numeric_limits<double>::epsilon();
  const std::int64_t m = A.size(0), k = A.size(1), n = B.size(1);
  const double *pa = A.data_ptr<double>(), *pb = B.data_ptr<double>(), *pc = C.data_ptr<double>(),
               *pbias = bias_d.data_ptr<double>();
  double worst = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      long double sum = pbias[i * n + j], magnitude = std::fabs(pbias[i * n + j]);
      for (std::int64_t p = 0; p < k; ++p) {
        sum += static_cast<long double>(pa[i * k + p]) * pb[p * n + j];
        magnitude += std::fabs(pa[i * k + p] * pb[p * n + j]);
      }
      const double bound = 4.0 * static_cast<double>(k + 1) * eps * static_cast<double>(magnitude) +
                           std::numeric_limits<float>::min();
      const double error = std::fabs(pc[i * n + j] - static_cast<double>(sum));
      worst = std::max(worst, std::isfinite(error) ? error / bound : std::numeric_limits<double>::infinity());
    }
  return worst;
}

}  // namespace

int blas_check(const Args& args) {
  po::options_description options("options");
  double perturb = 0;
  options.add_options()("perturb", po::value(&perturb),
                        "testing aid: add this to one entry of every product, as a wrong kernel would");
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole bench blas-check\n"
          "Checks this process's BLAS products against a long-double reference; exit 1 on a mismatch.",
          options, {}, vm))
    return 0;
  auto gen = at::detail::createCPUGenerator(20240607);
  // Sizes around common kernel block edges (1, 4, 8, 16, 48, 64...) and odd remainders.
  const std::vector<std::array<std::int64_t, 3>> shapes = {
      {1, 1, 1},    {1, 31, 512},  {2, 512, 6},   {7, 33, 65},   {16, 256, 256},
      {64, 129, 3}, {100, 17, 97}, {257, 64, 48}, {33, 1000, 9}, {5, 5, 1024}};
  int products = 0, failures = 0;
  double worst = 0;
  auto check = [&](const std::string& what, at::Tensor c, const at::Tensor& a, const at::Tensor& b,
                   const at::Tensor& bias) {
    if (perturb != 0) {
      c = c.clone();
      c.view(-1)[c.numel() / 2] += perturb;
    }
    const double e = scaled_error(c, a, b, bias);
    ++products;
    worst = std::max(worst, e);
    if (!(e <= 1.0)) {
      ++failures;
      std::cout << fmt::format("MISMATCH: {} [{}x{}] @ [{}x{}]: error {:.3g} times its rounding bound\n",
                               what, a.size(0), a.size(1), b.size(0), b.size(1), e);
    }
  };
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    const std::string type = dtype == at::kFloat ? "float32" : "float64";
    for (const auto& [m, k, n] : shapes) {
      const at::Tensor a = at::randn({m, k}, gen, at::kDouble).to(dtype);
      const at::Tensor b = at::randn({k, n}, gen, at::kDouble).to(dtype);
      const at::Tensor bias = at::randn({n}, gen, at::kDouble).to(dtype);
      check(type + " mm", at::mm(a, b), a, b, {});
      check(type + " mm (transposed B)", at::mm(a, b.t().contiguous().t()), a, b, {});
      check(type + " addmm", at::addmm(bias, a, b), a, b, bias);
      // Batched as the ensemble networks run them: [2, m, k] @ [2, k, n] (+ bias [2, 1, n]).
      const at::Tensor a2 = at::stack({a, a.flip(0)}), b2 = at::stack({b, b.flip(1)});
      const at::Tensor bias2 = at::stack({bias, bias.flip(0)}).unsqueeze(1);
      const at::Tensor bmm = at::bmm(a2, b2), baddbmm = at::baddbmm(bias2, a2, b2);
      for (int e = 0; e < 2; ++e) {
        check(type + " bmm", bmm[e], a2[e], b2[e], {});
        check(type + " baddbmm", baddbmm[e], a2[e], b2[e], bias2[e][0]);
      }
    }
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::cout << fmt::format(
      "blas-check (OPENBLAS_CORETYPE={}): {} products, {} mismatches, largest error "
      "{:.3g} of the rounding bound: {}\n",
      coretype ? coretype : "(default)", products, failures, worst, failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace dipole::bench
