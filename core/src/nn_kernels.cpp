// The hand-written float32 CPU kernels of the networks (docs/performance.md): LayerNorm with a
// per-member affine, the fused GELU(tanh) and mish activations (one autograd wrapper, FusedActivation)
// the small-rows affine products used without autograd, and FusedMlp, a whole ensemble MLP as one
// autograd node. Declared in nn_kernels.hpp; the networks
// that use them are in nn.cpp.
#include "nn_kernels.hpp"

#include "dipole/core/fused_mlp.hpp"

#include <ATen/ATen.h>
#include <ATen/ExpandUtils.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/record_function.h>
#include <dlfcn.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace dipole::detail {

namespace {

// ---- LayerNorm with a per-member affine ---------------------------------------------------------------
//
// y = x̂·γ + β, x̂ = (x − mean)/√(var + ε) over the last axis, with γ, β [M, 1, n] for h [M, B, n] (or
// [1, n] / [n] for h [B, n]). at::layer_norm has no per-member affine, so ATen needs layer_norm then
// addcmul forward, and in the backward mul/sum for γ, sum for β, mul for x̂'s gradient and
// native_layer_norm_backward: about seven passes and as many allocations. The float32 CPU path below
// does one pass each way (row statistics in double), keeping x̂ and 1/σ for the backward:
//   dγ = Σ_rows dy·x̂,  dβ = Σ_rows dy,  g = dy·γ,  dx = (g − mean(g) − x̂·mean(g·x̂))/σ.
// Equal to the ATen sequence to float rounding (tests/perf/test_layer_norm.cpp). Other dtypes,
// devices, layouts and shapes use the ATen sequence.

at::Tensor layer_norm_affine_aten(const at::Tensor& h, const at::Tensor& scale, const at::Tensor& bias,
                                  double eps) {
  auto normed = at::layer_norm(h, {h.size(-1)}, {}, {}, eps);
  return at::addcmul(bias, normed, scale);
}

/// Rows of h per member of γ/β, or 0 when the shapes are not ones the fused path handles.
std::int64_t fused_ln_rows_per_member(const at::Tensor& h, const at::Tensor& scale, const at::Tensor& bias) {
  auto plain = [](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided &&
           !t.is_mkldnn() && t.is_contiguous();
  };
  if (!plain(h) || !plain(scale) || !plain(bias) || h.numel() == 0 || scale.sizes() != bias.sizes()) return 0;
  const auto n = h.size(-1);
  if (h.dim() == 3 && scale.dim() == 3 && scale.size(0) == h.size(0) && scale.size(1) == 1 &&
      scale.size(2) == n)
    return h.size(1);
  if (h.dim() == 2 && scale.numel() == n && (scale.dim() == 1 || (scale.dim() == 2 && scale.size(0) == 1)))
    return h.size(0);
  return 0;
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DIPOLE_LN_CLONES __attribute__((noinline, target_clones("avx512f", "avx2", "default")))
#else
#define DIPOLE_LN_CLONES
#endif

constexpr int kLanes = 16;  // independent partial sums: the reductions vectorise without -ffast-math

/// Σ a[i] with kLanes float partial sums combined in double.
inline double row_sum(const float* __restrict a, std::int64_t n) {
  float acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j];
  double s = 0;
  for (; i < n; ++i) s += a[i];
  for (float v : acc) s += v;
  return s;
}

/// Σ a[i]·b[i], the same way.
inline double row_dot(const float* __restrict a, const float* __restrict b, std::int64_t n) {
  float acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j] * b[i + j];
  double s = 0;
  for (; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  for (float v : acc) s += v;
  return s;
}

/// y (and x̂, 1/σ when `xhat` is not null) for `rows` rows of n sharing one γ/β row.
DIPOLE_LN_CLONES void ln_forward_kernel(const float* __restrict x, const float* __restrict g,
                                        const float* __restrict b, float* __restrict y,
                                        float* __restrict xhat, float* __restrict rstd, std::int64_t rows,
                                        std::int64_t n, double eps) {
  const double inv_n = 1.0 / static_cast<double>(n);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float m = static_cast<float>(row_sum(xr, n) * inv_n);
    // Second pass on the centred values (no cancellation from E[x²] − E[x]²).
    float acc[kLanes] = {};
    std::int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        const float d = xr[i + j] - m;
        acc[j] += d * d;
      }
    double sq = 0;
    for (; i < n; ++i) sq += static_cast<double>(xr[i] - m) * (xr[i] - m);
    for (float v : acc) sq += v;
    const float inv = static_cast<float>(1.0 / std::sqrt(sq * inv_n + eps));
    float* yr = y + r * n;
    if (xhat != nullptr) {
      float* hr = xhat + r * n;
      for (std::int64_t k = 0; k < n; ++k) {
        const float v = (xr[k] - m) * inv;
        hr[k] = v;
        yr[k] = v * g[k] + b[k];
      }
      rstd[r] = inv;
    } else {
      for (std::int64_t k = 0; k < n; ++k) yr[k] = (xr[k] - m) * inv * g[k] + b[k];
    }
  }
}

/// dx for `rows` rows sharing one γ row, accumulating dγ and dβ of that row.
DIPOLE_LN_CLONES void ln_backward_kernel(const float* __restrict dy, const float* __restrict xhat,
                                         const float* __restrict rstd, const float* __restrict g,
                                         float* __restrict dx, float* __restrict dg, float* __restrict db,
                                         float* __restrict scratch, std::int64_t rows, std::int64_t n) {
  const double inv_n = 1.0 / static_cast<double>(n);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * n;
    const float* hr = xhat + r * n;
    for (std::int64_t k = 0; k < n; ++k) {
      scratch[k] = dyr[k] * g[k];
      dg[k] += dyr[k] * hr[k];
      db[k] += dyr[k];
    }
    const float mean_g = static_cast<float>(row_sum(scratch, n) * inv_n);
    const float mean_gh = static_cast<float>(row_dot(scratch, hr, n) * inv_n);
    const float inv = rstd[r];
    float* dxr = dx + r * n;
    for (std::int64_t k = 0; k < n; ++k) dxr[k] = (scratch[k] - mean_g - hr[k] * mean_gh) * inv;
  }
}

constexpr std::int64_t kLnGrainRows = 16;

void ln_forward(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& bias, const at::Tensor& y,
                const at::Tensor& xhat, const at::Tensor& rstd, std::int64_t per_member, double eps) {
  const auto n = x.size(-1);
  const auto rows = x.numel() / n;
  const float* px = x.data_ptr<float>();
  const float* pg = scale.data_ptr<float>();
  const float* pb = bias.data_ptr<float>();
  float* py = y.data_ptr<float>();
  float* ph = xhat.defined() ? xhat.data_ptr<float>() : nullptr;
  float* pr = rstd.defined() ? rstd.data_ptr<float>() : nullptr;
  at::parallel_for(0, rows, kLnGrainRows, [&](std::int64_t begin, std::int64_t end) {
    // Rows [begin, end) split at member boundaries: each piece shares one γ/β row.
    for (std::int64_t r = begin; r < end;) {
      const std::int64_t member = r / per_member;
      const std::int64_t stop = std::min(end, (member + 1) * per_member);
      ln_forward_kernel(px + r * n, pg + member * n, pb + member * n, py + r * n,
                        ph == nullptr ? nullptr : ph + r * n, pr == nullptr ? nullptr : pr + r, stop - r, n,
                        eps);
      r = stop;
    }
  });
}

/// LayerNorm backward from the forward's x̂ and 1/σ: dx, dγ, dβ. Serial over rows: dγ and dβ
/// accumulate over the rows of each member.
std::array<at::Tensor, 3> layer_norm_backward(const at::Tensor& dy_in, const at::Tensor& xhat,
                                              const at::Tensor& rstd, const at::Tensor& scale,
                                              std::int64_t per_member) {
  const auto dy = dy_in.contiguous();
  const auto n = xhat.size(-1);
  const auto rows = xhat.numel() / n;
  auto dx = at::empty_like(xhat, at::MemoryFormat::Contiguous);
  auto dscale = at::zeros_like(scale, at::MemoryFormat::Contiguous);
  auto dbias = at::zeros_like(scale, at::MemoryFormat::Contiguous);
  const float* pdy = dy.data_ptr<float>();
  const float* ph = xhat.data_ptr<float>();
  const float* pr = rstd.data_ptr<float>();
  const float* pg = scale.data_ptr<float>();
  float* pdx = dx.data_ptr<float>();
  float* pdg = dscale.data_ptr<float>();
  float* pdb = dbias.data_ptr<float>();
  std::vector<float> scratch(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < rows;) {
    const std::int64_t member = r / per_member;
    const std::int64_t stop = std::min(rows, (member + 1) * per_member);
    ln_backward_kernel(pdy + r * n, ph + r * n, pr + r, pg + member * n, pdx + r * n, pdg + member * n,
                       pdb + member * n, scratch.data(), stop - r, n);
    r = stop;
  }
  return {dx, dscale, dbias};
}

struct LayerNormAffineFunction : public torch::autograd::Function<LayerNormAffineFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h,
                            const at::Tensor& scale, const at::Tensor& bias, std::int64_t per_member,
                            double eps) {
    const auto n = h.size(-1);
    auto y = at::empty_like(h, at::MemoryFormat::Contiguous);
    auto xhat = at::empty_like(h, at::MemoryFormat::Contiguous);
    auto rstd = at::empty({h.numel() / n}, h.options());
    ln_forward(h, scale, bias, y, xhat, rstd, per_member, eps);
    ctx->save_for_backward({xhat, rstd, scale});
    ctx->saved_data["per_member"] = per_member;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& xhat = saved[0];
    const auto& rstd = saved[1];
    const auto& scale = saved[2];
    const std::int64_t per_member = ctx->saved_data["per_member"].toInt();
    auto parts = layer_norm_backward(grad_outputs[0], xhat, rstd, scale, per_member);
    return {parts[0], parts[1], parts[2], at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor layer_norm_affine(const at::Tensor& h, const at::Tensor& scale, const at::Tensor& bias,
                             double eps) {
  const std::int64_t per_member = fused_ln_rows_per_member(h, scale, bias);
  if (per_member == 0) return layer_norm_affine_aten(h, scale, bias, eps);
  const bool grad =
      at::GradMode::is_enabled() && (h.requires_grad() || scale.requires_grad() || bias.requires_grad());
  if (grad) return LayerNormAffineFunction::apply(h, scale, bias, per_member, eps);
  auto y = at::empty_like(h, at::MemoryFormat::Contiguous);
  ln_forward(h, scale, bias, y, at::Tensor(), at::Tensor(), per_member, eps);
  return y;
}

// ---- GELU (tanh approximation) ------------------------------------------------------------------
//
// at::gelu(x, "tanh") of LibTorch 1.13 evaluates 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), with
// SLEEF's tanh and recomputes it in the backward: ≈ 2.5 ns per element each way, 22 % of a paper-scale
// update. The same function is x·σ(2u) = x / (1 + e), e = exp(−2u). The float32 CPU path below computes
// e with a branch-free Cephes-style exp that the compiler vectorises, keeps e for the backward, and
// differentiates analytically: dy/dx = s + 2x·s·(e·s)·u′, s = 1/(1 + e), e·s = 1 − s without
// cancellation, u′ = √(2/π)(1 + 3·0.044715x²). Both agree with at::gelu to ~2e−7 (forward) and ~1e−6
// (gradient, the reference's own float error) relative to max(|value|, 1), and are closer to the
// float64 values than the reference (tests/components/test_gelu.cpp). Other dtypes/devices use at::gelu.

namespace {

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DIPOLE_GELU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DIPOLE_GELU_CLONES
#endif

constexpr float kGeluBeta = 0.7978845608028654F;  // √(2/π)
constexpr float kGeluKappa = 0.044715F;

// exp(v), v clamped to [−87, 88] (no overflow, no denormal scale; NaN → exp(−87), the caller's x keeps
// the NaN): Cephes expf, ≈ 1 ulp.
inline float clamped_exp(float v) {
  v = v > -87.0F ? v : -87.0F;
  v = v < 88.0F ? v : 88.0F;
  constexpr float kMagic = 12582912.0F;  // 1.5·2²³: adding and subtracting it rounds to the nearest integer
  const float n = (v * 1.44269504088896341F + kMagic) - kMagic;
  float r = v - n * 0.693359375F;
  r = r - n * -2.12194440e-4F;
  float p = 1.9875691500e-4F;
  p = p * r + 1.3981999507e-3F;
  p = p * r + 8.3334519073e-3F;
  p = p * r + 4.1665795894e-2F;
  p = p * r + 1.6666665459e-1F;
  p = p * r + 5.0000001201e-1F;
  p = p * r * r + r + 1.0F;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) * (1 << 23);
  float scale = 0.0F;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// y = x / (1 + e); e = exp(−2u) is stored when `e` is not null.
DIPOLE_GELU_CLONES void gelu_tanh_forward_kernel(const float* __restrict x, float* __restrict y,
                                                 float* __restrict e, std::int64_t n) {
  if (e != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) {
      const float xi = x[i];
      const float ei = clamped_exp(-2.0F * kGeluBeta * (xi + kGeluKappa * xi * xi * xi));
      e[i] = ei;
      y[i] = xi / (1.0F + ei);
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      const float xi = x[i];
      y[i] = xi / (1.0F + clamped_exp(-2.0F * kGeluBeta * (xi + kGeluKappa * xi * xi * xi)));
    }
  }
}

DIPOLE_GELU_CLONES void gelu_tanh_backward_kernel(const float* __restrict dy, const float* __restrict x,
                                                  const float* __restrict e, float* __restrict dx,
                                                  std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    const float ei = e[i];
    const float s = 1.0F / (1.0F + ei);
    const float du = kGeluBeta * (1.0F + 3.0F * kGeluKappa * xi * xi);
    // Near the clamp of e (|x| ≳ 6) the true second term is < 1e−30; past it, x·u′ may be huge.
    const float term = (ei > 1e-37F && ei < 1e37F) ? 2.0F * xi * s * (ei * s) * du : 0.0F;
    dx[i] = dy[i] * (s + term);
  }
}

// ---- one autograd wrapper for the fused activations ----------------------------------------------
//
// Each activation is a pair of float32 kernels over contiguous arrays: forward(x, y, aux, n) writes y
// and, when aux is not null, a per-element intermediate the backward reuses; backward(dy, x, aux, dx, n).
// `FusedActivation` runs them in parallel chunks and registers them with autograd; other dtypes,
// devices and layouts fall back to ATen's own op.

using ForwardKernel = void (*)(const float*, float*, float*, std::int64_t);
using BackwardKernel = void (*)(const float*, const float*, const float*, float*, std::int64_t);

constexpr std::int64_t kActivationGrain = 32768;

template <ForwardKernel Forward>
void run_forward(const at::Tensor& x, const at::Tensor& y, const at::Tensor& aux) {
  const float* px = x.data_ptr<float>();
  float* py = y.data_ptr<float>();
  float* pa = aux.defined() ? aux.data_ptr<float>() : nullptr;
  at::parallel_for(0, x.numel(), kActivationGrain, [&](std::int64_t begin, std::int64_t end) {
    Forward(px + begin, py + begin, pa == nullptr ? nullptr : pa + begin, end - begin);
  });
}

/// dx = activation′(x)·dy from the forward's x and per-element intermediate.
at::Tensor run_activation_backward(BackwardKernel kernel, const at::Tensor& dy_in, const at::Tensor& x,
                                   const at::Tensor& aux) {
  const auto dy = dy_in.contiguous();
  auto dx = at::empty_like(x, at::MemoryFormat::Contiguous);
  const float* pdy = dy.data_ptr<float>();
  const float* px = x.data_ptr<float>();
  const float* pa = aux.data_ptr<float>();
  float* pdx = dx.data_ptr<float>();
  at::parallel_for(0, x.numel(), kActivationGrain, [&](std::int64_t begin, std::int64_t end) {
    kernel(pdy + begin, px + begin, pa + begin, pdx + begin, end - begin);
  });
  return dx;
}

template <ForwardKernel Forward, BackwardKernel Backward>
struct FusedActivation : public torch::autograd::Function<FusedActivation<Forward, Backward>> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input) {
    auto x = input.contiguous();
    auto y = at::empty_like(x, at::MemoryFormat::Contiguous);
    auto aux = at::empty_like(x, at::MemoryFormat::Contiguous);
    run_forward<Forward>(x, y, aux);
    ctx->save_for_backward({x, aux});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    return {run_activation_backward(Backward, grad_outputs[0], saved[0], saved[1])};
  }

  /// The activation of x: the fused kernels for CPU float32 strided tensors, else `fallback(x)`.
  template <typename Fallback>
  static at::Tensor apply_or(const at::Tensor& x, Fallback fallback) {
    if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || x.layout() != at::kStrided ||
        x.is_mkldnn() || x.numel() == 0)
      return fallback(x);
    if (at::GradMode::is_enabled() && x.requires_grad()) return FusedActivation::apply(x);
    auto xc = x.contiguous();
    auto y = at::empty_like(xc, at::MemoryFormat::Contiguous);
    run_forward<Forward>(xc, y, at::Tensor());
    return y;
  }
};

}  // namespace

at::Tensor gelu_tanh(const at::Tensor& x) {
  return FusedActivation<gelu_tanh_forward_kernel, gelu_tanh_backward_kernel>::apply_or(
      x, [](const at::Tensor& t) { return at::gelu(t, "tanh"); });
}

namespace {

// ---- mish ------------------------------------------------------------------------------------------
//
// at::mish(x) = x·tanh(softplus(x)) of LibTorch 1.13 evaluates exp, log1p and tanh per element and the
// backward evaluates them again (10 % of an IDQL update, whose LN-ResNet applies it to [B × 4W] block
// activations; docs/performance.md). With n = eˣ, w = n(n + 2): tanh(softplus(x)) = w/(w + 2), so
// mish(x) = x·w/(w + 2) needs one exp (the vectorised clamped_exp above), and
//   mish′(x) = w/(w + 2) + x·σ(x)·sech²(softplus(x)),  σ(x) = n/(1 + n),  sech² = 4(w + 1)/(w + 2)².
// Past x = 20 (ATen's softplus threshold) mish(x) = x and mish′(x) = 1 (the neglected terms are
// < 20·e⁻⁴⁰). n is kept for the backward. Agrees with at::mish to ~1e−6 relative to max(|value|, 1)
// (tests/components/test_mish.cpp). Other dtypes/devices use at::mish.

constexpr float kMishLinear = 20.0F;

DIPOLE_GELU_CLONES void mish_forward_kernel(const float* __restrict x, float* __restrict y,
                                            float* __restrict en, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    const float ex = clamped_exp(xi < kMishLinear ? xi : kMishLinear);
    const float w = ex * (ex + 2.0F);
    y[i] = xi < kMishLinear ? xi * w / (w + 2.0F) : xi;
    if (en != nullptr) en[i] = ex;
  }
}

DIPOLE_GELU_CLONES void mish_backward_kernel(const float* __restrict dy, const float* __restrict x,
                                             const float* __restrict en, float* __restrict dx,
                                             std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    const float ex = en[i];
    const float w = ex * (ex + 2.0F);
    const float inv = 1.0F / (w + 2.0F);
    const float sigma = ex / (1.0F + ex);
    const float sech2 = 4.0F * (w + 1.0F) * inv * inv;
    const float d = w * inv + xi * sigma * sech2;
    dx[i] = dy[i] * (xi < kMishLinear ? d : 1.0F);
  }
}

}  // namespace

at::Tensor mish_fused(const at::Tensor& x) {
  return FusedActivation<mish_forward_kernel, mish_backward_kernel>::apply_or(
      x, [](const at::Tensor& t) { return at::mish(t); });
}

// ---- products without autograd --------------------------------------------------------------------
//
// With autograd off (GradMode disabled: acting, evaluation, target networks, FQL's distillation
// targets) and ≤ small_rows_limit() rows per member, y = b + x·W is computed here instead of by baddbmm.
// OpenBLAS's gemm packs the whole weight matrix on every call, which costs more than the product
// itself at a few rows (perf: sgemm_itcopy 31 % of a one-observation act), and the Debian OpenBLAS
// 0.3.21 runs its Haswell (AVX2) kernels on this AVX-512 CPU. Tiles of 6 rows (AVX-512) or 4 rows × 64
// columns accumulate in registers over the whole k loop (W read once per tile); the last 1–3 rows
// stream W once in order; columns past the last full 64 go 8 at a time through narrow_cols.
// Micro-timing, no-grad forward of a 4×512 actor pair, one thread (tests/perf, disabled timing test):
// 1 row 0.37 → 0.08 ms, 8 rows 0.44 → 0.22, 32 rows 1.06 → 0.69, 256 rows 10.9 → 9.1 ms. The products
// that training differentiates (GradMode on) are unchanged. Same values as baddbmm up to float
// summation order (tests/perf/test_one_row.cpp).

namespace {

/// Rows per member up to which products without autograd use the kernel below: the measured crossover
/// with the loaded BLAS (tests/perf timing test, 4×512 actor pair). OpenBLAS with its AVX-512 kernels
/// (OPENBLAS_CORETYPE=SKYLAKEX, or a CPU it maps to them) wins from ~48 rows; with the AVX2 (Haswell)
/// kernels that Debian's OpenBLAS 0.3.21 picks on this AVX-512 EPYC, the kernel is faster up to 256
/// rows (a training batch) at least. Another BLAS: 32.
std::int64_t small_rows_limit() {
  static const std::int64_t limit = [] {
    using CoreName = char* (*)();
    const auto corename = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    if (corename == nullptr) return std::int64_t{32};
    std::string core = corename();
    for (auto& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* avx512 : {"skylakex", "cooperlake", "sapphirerapids"})
      if (core.find(avx512) != std::string::npos) return std::int64_t{32};
    return std::int64_t{256};
  }();
  return limit;
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DIPOLE_SMALL_CLONES __attribute__((noinline, target_clones("avx512f", "avx2", "default")))
#else
#define DIPOLE_SMALL_CLONES
#endif

/// y [rows, out] = b [out] + x [rows, in] · w [in, out], all row-major and contiguous.
#if defined(__GNUC__)
#define DIPOLE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define DIPOLE_ALWAYS_INLINE inline
#endif

constexpr std::int64_t kTileCols = 64;

/// Rows [r0, r0 + R) and the first out − out % kTileCols columns of y = b + x · w (x [rows, in] with
/// element (r, k) at x[r·xr + k·xk], w [in, out] and y [rows, out] contiguous; b [out] or null for
/// zeros): column tiles of kTileCols accumulate in registers over the whole k loop. Inlined into each
/// target clone of the caller, so it is compiled for that instruction set.
template <int R>
DIPOLE_ALWAYS_INLINE void small_rows_tile(const float* __restrict x, std::int64_t xr, std::int64_t xk,
                                          const float* __restrict w, const float* __restrict b,
                                          float* __restrict y, std::int64_t r0, std::int64_t in,
                                          std::int64_t out) {
  const std::int64_t full_cols = out - out % kTileCols;
  for (std::int64_t c0 = 0; c0 < full_cols; c0 += kTileCols) {
    float acc[R][kTileCols];
    for (int r = 0; r < R; ++r)
      for (std::int64_t j = 0; j < kTileCols; ++j) acc[r][j] = b == nullptr ? 0.0F : b[c0 + j];
    for (std::int64_t k = 0; k < in; ++k) {
      const float* wk = w + k * out + c0;
      for (int r = 0; r < R; ++r) {
        const float xv = x[(r0 + r) * xr + k * xk];
        for (std::int64_t j = 0; j < kTileCols; ++j) acc[r][j] += xv * wk[j];
      }
    }
    for (int r = 0; r < R; ++r)
      for (std::int64_t j = 0; j < kTileCols; ++j) y[(r0 + r) * out + c0 + j] = acc[r][j];
  }
}

/// Rows [r0, r1) (a few) of y = b + x · w streaming W once in order: for each k, row k of W is added,
/// times x[r, k], into every row's accumulator (in L1). Best for 1–3 rows, where the product is
/// bound by reading W. Layouts as small_rows_tile.
DIPOLE_ALWAYS_INLINE void small_rows_stream(const float* __restrict x, std::int64_t xr, std::int64_t xk,
                                            const float* __restrict w, const float* __restrict b,
                                            float* __restrict y, std::int64_t r0, std::int64_t r1,
                                            std::int64_t in, std::int64_t out, std::int64_t cols) {
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t j = 0; j < cols; ++j) y[r * out + j] = b == nullptr ? 0.0F : b[j];
  for (std::int64_t k = 0; k < in; ++k) {
    const float* wk = w + k * out;
    for (std::int64_t r = r0; r < r1; ++r) {
      const float xv = x[r * xr + k * xk];
      float* yr = y + r * out;
      for (std::int64_t j = 0; j < cols; ++j) yr[j] += xv * wk[j];
    }
  }
}

constexpr std::int64_t kNarrowLanes = 16;   // rows per block: one vector of 16 accumulators per column
constexpr std::int64_t kNarrowChunk = 256;  // k values per transposed chunk of x (16 KiB on the stack)
constexpr int kNarrowCols = 8;              // columns per pass

/// Whether tiles of 6 rows fit the registers: 6 × 64 accumulators are 24 of AVX-512's 32 vector
/// registers (AVX2's 16 would spill them).
inline bool six_row_tiles() {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool fits = __builtin_cpu_supports("avx512f");
  return fits;
#else
  return false;
#endif
}

/// Columns [c0, c0 + C) of y = b + x · w for all rows (layouts as small_rows_tile), C ≤ kNarrowCols: the
/// columns a 64-wide tile does not cover, such as the 1 or 6 outputs of a value or policy head. Blocks
/// of 16 rows are transposed into xt [k][16] (x is read once per block), and each of the C columns
/// accumulates 16 rows in one vector: per k, one load of xt and C multiply-adds with w[k, c]
/// broadcast. Every element still sums b, then k = 0, 1, … in order.
template <int C>
DIPOLE_ALWAYS_INLINE void narrow_cols(const float* __restrict x, std::int64_t xr, std::int64_t xk,
                                      const float* __restrict w, const float* __restrict b,
                                      float* __restrict y, std::int64_t rows, std::int64_t in,
                                      std::int64_t out, std::int64_t c0) {
  alignas(64) float xt[kNarrowChunk * kNarrowLanes];
  for (std::int64_t r0 = 0; r0 < rows; r0 += kNarrowLanes) {
    const std::int64_t n = std::min(kNarrowLanes, rows - r0);
    alignas(64) float acc[C][kNarrowLanes];
    for (int j = 0; j < C; ++j)
      for (std::int64_t l = 0; l < kNarrowLanes; ++l) acc[j][l] = b == nullptr ? 0.0F : b[c0 + j];
    for (std::int64_t k0 = 0; k0 < in; k0 += kNarrowChunk) {
      const std::int64_t kn = std::min(kNarrowChunk, in - k0);
      if (n < kNarrowLanes) std::fill(xt, xt + kn * kNarrowLanes, 0.0F);
      if (xk == 1) {  // rows of x contiguous (a forward product): read along k
        for (std::int64_t l = 0; l < n; ++l)
          for (std::int64_t k = 0; k < kn; ++k) xt[k * kNarrowLanes + l] = x[(r0 + l) * xr + k0 + k];
      } else {  // e.g. hᵀ of a weight gradient: read along rows
        for (std::int64_t k = 0; k < kn; ++k)
          for (std::int64_t l = 0; l < n; ++l) xt[k * kNarrowLanes + l] = x[(r0 + l) * xr + (k0 + k) * xk];
      }
      for (std::int64_t k = 0; k < kn; ++k) {
        const float* wk = w + (k0 + k) * out + c0;
        const float* xv = xt + k * kNarrowLanes;
        for (int j = 0; j < C; ++j) {
          const float wv = wk[j];
          for (std::int64_t l = 0; l < kNarrowLanes; ++l) acc[j][l] += xv[l] * wv;
        }
      }
    }
    for (std::int64_t l = 0; l < n; ++l)
      for (int j = 0; j < C; ++j) y[(r0 + l) * out + c0 + j] = acc[j][l];
  }
}

/// y [rows, out] = b [out] (null: zeros) + x [rows, in] · w [in, out]; x's element (r, k) at
/// x[r·xr + k·xk], w and y row-major and contiguous: tiles of 6 (AVX-512) or 4 rows × 64 columns in
/// registers (W read once per tile), the last 1–3 rows streamed; the columns after the last full 64 (all of
/// them for an output of fewer than 64) in blocks of 16 rows × 8 columns (narrow_cols). Every element sums b,
/// then k = 0, 1, … in order, whichever way it is computed.
DIPOLE_SMALL_CLONES void small_rows_affine(const float* __restrict x, std::int64_t xr, std::int64_t xk,
                                           const float* __restrict w, const float* __restrict b,
                                           float* __restrict y, std::int64_t rows, std::int64_t in,
                                           std::int64_t out) {
  const std::int64_t full_cols = out - out % kTileCols;
  if (full_cols > 0) {
    std::int64_t r0 = 0;
    if (six_row_tiles())
      for (; r0 + 6 <= rows; r0 += 6) small_rows_tile<6>(x, xr, xk, w, b, y, r0, in, out);
    for (; r0 + 4 <= rows; r0 += 4) small_rows_tile<4>(x, xr, xk, w, b, y, r0, in, out);
    if (r0 < rows) small_rows_stream(x, xr, xk, w, b, y, r0, rows, in, out, full_cols);
  }
  for (std::int64_t c0 = full_cols; c0 < out; c0 += kNarrowCols) {
    switch (std::min<std::int64_t>(kNarrowCols, out - c0)) {
      case 1:
        narrow_cols<1>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      case 2:
        narrow_cols<2>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      case 3:
        narrow_cols<3>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      case 4:
        narrow_cols<4>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      case 5:
        narrow_cols<5>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      case 6:
        narrow_cols<6>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      case 7:
        narrow_cols<7>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
      default:
        narrow_cols<8>(x, xr, xk, w, b, y, rows, in, out, c0);
        break;
    }
  }
}

constexpr std::int64_t kRowBlock = 64;
// Products smaller than this many multiply-adds stay on the calling thread: waking the OpenMP team costs
// more than they take (acting on one observation: a few thousand).
constexpr std::int64_t kParallelMacs = std::int64_t{1} << 20;

/// y[m] = b[m] (null: zeros) + x[m] · w[m] for m < members; x's element (m, r, k) at
/// x[m·xm + r·xr + k·xk]; w [M, in, out], b [M, out] and y [M, rows, out] contiguous. With `threaded`,
/// split over members and blocks of kRowBlock rows (at::parallel_for); each element is computed by one
/// thread in the same order, so the result does not depend on the thread count.
void tiled_bmm(const float* x, std::int64_t xm, std::int64_t xr, std::int64_t xk, const float* w,
               const float* b, float* y, std::int64_t members, std::int64_t rows, std::int64_t in,
               std::int64_t out, bool threaded) {
  const std::int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  const std::int64_t items = members * blocks;
  const std::int64_t grain = threaded && members * rows * in * out >= kParallelMacs ? 1 : items;
  at::parallel_for(0, items, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t m = item / blocks, r0 = (item % blocks) * kRowBlock;
      const std::int64_t n = std::min(kRowBlock, rows - r0);
      small_rows_affine(x + m * xm + r0 * xr, xr, xk, w + m * in * out, b == nullptr ? nullptr : b + m * out,
                        y + (m * rows + r0) * out, n, in, out);
    }
  });
}

/// bias [M, 1, out] (contiguous) + h [M, rows, in] (any strides) · weight [M, in, out] (contiguous);
/// `threaded` as tiled_bmm.
at::Tensor tiled_affine(const at::Tensor& bias, const at::Tensor& h, const at::Tensor& weight,
                        bool threaded) {
  const auto members = weight.size(0), rows = h.size(1), in = weight.size(1), out = weight.size(2);
  auto y = at::empty({members, rows, out}, weight.options());
  tiled_bmm(h.data_ptr<float>(), h.stride(0), h.stride(1), h.stride(2), weight.data_ptr<float>(),
            bias.data_ptr<float>(), y.data_ptr<float>(), members, rows, in, out, threaded);
  return y;
}

}  // namespace

/// Whether the small-rows path applies: autograd off (acting, evaluation, target networks), float32
/// CPU, few rows.
bool small_rows_path(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& bias) {
  if (at::GradMode::is_enabled() || h.size(-2) > small_rows_limit()) return false;
  for (const auto* t : {&h, &weight, &bias})
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->layout() != at::kStrided ||
        t->is_mkldnn())
      return false;
  return weight.is_contiguous() && bias.is_contiguous();
}

/// h [M, rows, in] (any strides), weight [M, in, out], bias [M, 1, out] → [M, rows, out].
at::Tensor small_rows_forward(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& bias) {
  // A named operator for profilers (dipole bench counts its FLOPs like baddbmm's: inputs bias, x, w).
  RECORD_FUNCTION("dipole::streamed_baddbmm", std::vector<c10::IValue>({bias, h, weight}));
  // One thread, as before the training products shared this kernel: threads did not speed up acting
  // (best-of-32 `dipole bench act`: 9.6–10.2 ms threaded vs 9.1–9.4 ms).
  return tiled_affine(bias, h, weight, false);
}

// ---- products of the fused networks' training passes -----------------------------------------------
//
// The same register-tiled kernel also computes the products of FusedMlp's forward and backward (autograd
// on) when it beats the BLAS: on a CPU with AVX-512 whose OpenBLAS runs its AVX2 (Haswell) kernels —
// Debian's OpenBLAS 0.3.21 on this AMD EPYC, where the kernel's avx512f clone runs the paper-scale
// forward products at 150–156 GFLOP/s on one thread against OpenBLAS's 111–126 (docs/performance.md,
// "Dipole's own products"). It is our code, not a BLAS kernel selection: the BLAS and its kernels stay as the
// machine set them. Values equal baddbmm/bmm up to float summation order
// (tests/components/test_fused_mlp.cpp).
//   forward      z[m] = b[m] + h[m] · W[m]
//   backward     dW[m] = h[m]ᵀ · g[m] (hᵀ read through strides),  dh[m] = g[m] · W[m]ᵀ (Wᵀ copied once)
// Work is split as in tiled_bmm.

namespace {

std::atomic<int> tiled_mode{static_cast<int>(TiledProducts::Auto)};

bool tiled_auto() {
  static const bool faster = [] {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
    // small_rows_limit() is 256 only when the loaded OpenBLAS runs non-AVX-512 kernels.
    return __builtin_cpu_supports("avx512f") && small_rows_limit() == 256;
#else
    return false;
#endif
  }();
  return faster;
}

/// dst [cols, rows] = srcᵀ for src [rows, cols], both contiguous, in 16 × 16 blocks that stay in L1:
/// 0.07 ms for 512 × 512 on this machine (32 × 32: 0.15 ms; ATen's strided copy_ ≈ 0.4 ms).
DIPOLE_SMALL_CLONES void transpose_block(const float* __restrict src, float* __restrict dst,
                                         std::int64_t rows, std::int64_t cols) {
  constexpr std::int64_t kBlock = 16;
  for (std::int64_t i0 = 0; i0 < rows; i0 += kBlock) {
    const std::int64_t i1 = std::min(rows, i0 + kBlock);
    for (std::int64_t j0 = 0; j0 < cols; j0 += kBlock) {
      const std::int64_t j1 = std::min(cols, j0 + kBlock);
      for (std::int64_t j = j0; j < j1; ++j)
        for (std::int64_t i = i0; i < i1; ++i) dst[j * rows + i] = src[i * cols + j];
    }
  }
}

}  // namespace

bool tiled_active() {
  switch (static_cast<TiledProducts>(tiled_mode.load())) {
    case TiledProducts::On:
      return true;
    case TiledProducts::Off:
      return false;
    case TiledProducts::Auto:
      break;
  }
  return tiled_auto();
}

namespace {

/// bias [M, 1, out] + h [M, rows, in] (any strides) · weight [M, in, out] (contiguous): the tiled kernel
/// when active, else baddbmm.
at::Tensor training_affine(const at::Tensor& bias, const at::Tensor& h, const at::Tensor& weight) {
  if (!tiled_active() || !bias.is_contiguous()) return at::baddbmm(bias, h, weight);
  RECORD_FUNCTION("dipole::tiled_baddbmm", std::vector<c10::IValue>({bias, h, weight}));
  return tiled_affine(bias, h, weight, true);
}

/// a [M, n, k] (any strides) · b [M, k, p] → [M, n, p]: the tiled kernel (b copied if it is not
/// contiguous) when active, else bmm.
at::Tensor training_bmm(const at::Tensor& a, const at::Tensor& b) {
  if (!tiled_active()) return a.bmm(b);
  RECORD_FUNCTION("dipole::tiled_bmm", std::vector<c10::IValue>({a, b}));
  at::Tensor bc = b;
  if (!b.is_contiguous()) {
    const auto source = b.transpose(1, 2);  // Wᵀ of a contiguous W: transposed block by block
    if (source.is_contiguous()) {
      bc = at::empty(b.sizes(), b.options());
      const auto rows = source.size(1), cols = source.size(2);
      at::parallel_for(0, b.size(0), 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t m = begin; m < end; ++m)
          transpose_block(source.data_ptr<float>() + m * rows * cols, bc.data_ptr<float>() + m * rows * cols,
                          rows, cols);
      });
    } else {
      bc = b.contiguous();
    }
  }
  const auto members = a.size(0), rows = a.size(1), in = a.size(2), out = bc.size(2);
  auto y = at::empty({members, rows, out}, bc.options());
  tiled_bmm(a.data_ptr<float>(), a.stride(0), a.stride(1), a.stride(2), bc.data_ptr<float>(), nullptr,
            y.data_ptr<float>(), members, rows, in, out, true);
  return y;
}

}  // namespace

namespace {
// ---- One autograd node per ensemble MLP ------------------------------------------------------------
//
// With autograd recording each operator, a hidden layer costs four graph nodes (baddbmm, activation,
// LayerNorm and the input expand) and the engine's bookkeeping for each: about a tenth of a 4×512
// update on one thread (docs/performance.md). `FusedMlp` records the whole forward as one node and
// runs the same operators in its backward, in the order autograd would, so values and gradients are
// the same bits as the per-operator graph when the BLAS computes the products, and the same up to
// float summation order when the tiled kernel does (tests/components/test_fused_mlp.cpp):
//   forward, layer l:  z = b + h·W (training_affine); hidden treatment (act → LN or LN → act); h ← result
//   backward, l = L−1…0: g ← LN′ / act′ (the treatment's backward kernels); dW = hᵀ·g, db = sum_to(g),
//                        g ← g·Wᵀ; at the input, a broadcast x gets sum_to(g, [B, in]).
// Used for CPU float32 with the fused GELU/mish kernels; anything else takes the per-operator path.

using ActivationKernels = std::pair<ForwardKernel, BackwardKernel>;

ActivationKernels activation_kernels(Activation activation) {
  switch (activation) {
    case Activation::GeluTanh:
      return {gelu_tanh_forward_kernel, gelu_tanh_backward_kernel};
    case Activation::Mish:
      return {mish_forward_kernel, mish_backward_kernel};
    case Activation::Relu:
      break;
  }
  return {nullptr, nullptr};
}

void run_activation_forward(ForwardKernel kernel, const at::Tensor& x, const at::Tensor& y,
                            const at::Tensor& aux) {
  const float* px = x.data_ptr<float>();
  float* py = y.data_ptr<float>();
  float* pa = aux.data_ptr<float>();
  at::parallel_for(0, x.numel(), kActivationGrain, [&](std::int64_t begin, std::int64_t end) {
    kernel(px + begin, py + begin, pa + begin, end - begin);
  });
}

struct FusedMlp : public torch::autograd::Function<FusedMlp> {
  /// x [B, in] (broadcast) or [M, B, in]; params in EnsembleMlp::parameters() order; `layer_flags` one
  /// entry per layer; activation and order as ints of the enums.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, at::TensorList params,
                            std::vector<std::int64_t> layer_flags, std::int64_t members,
                            std::int64_t activation, std::int64_t order, double eps) {
    const auto kernels = activation_kernels(static_cast<Activation>(activation));
    const bool act_then_norm = static_cast<LayerOrder>(order) == LayerOrder::ActThenNorm;
    at::Tensor h = x.dim() == 2 ? x.unsqueeze(0).expand({members, x.size(0), x.size(1)}) : x;
    std::vector<at::Tensor> saved;
    std::size_t p = 0;
    for (const std::int64_t flags : layer_flags) {
      const auto& weight = params[p];
      const auto& bias = params[p + 1];
      saved.push_back(h);
      saved.push_back(weight);
      auto z = training_affine(bias, h, weight);
      p += 2;
      if ((flags & kTreated) == 0) {
        h = z;
        if ((flags & kNormed) != 0) p += 2;
        continue;
      }
      at::Tensor scale, shift;
      if ((flags & kNormed) != 0) {
        scale = params[p];
        shift = params[p + 1];
        p += 2;
      }
      auto activate_saving = [&](const at::Tensor& in) {
        auto y = at::empty_like(in, at::MemoryFormat::Contiguous);
        auto aux = at::empty_like(in, at::MemoryFormat::Contiguous);
        run_activation_forward(kernels.first, in, y, aux);
        saved.push_back(in);
        saved.push_back(aux);
        return y;
      };
      auto normalise_saving = [&](const at::Tensor& in) {
        auto y = at::empty_like(in, at::MemoryFormat::Contiguous);
        auto xhat = at::empty_like(in, at::MemoryFormat::Contiguous);
        auto rstd = at::empty({in.numel() / in.size(-1)}, in.options());
        ln_forward(in, scale, shift, y, xhat, rstd, in.size(1), eps);
        saved.push_back(xhat);
        saved.push_back(rstd);
        saved.push_back(scale);
        return y;
      };
      if (!scale.defined()) {
        h = activate_saving(z);
      } else if (act_then_norm) {
        h = normalise_saving(activate_saving(z));
      } else {
        h = activate_saving(normalise_saving(z));
      }
    }
    ctx->save_for_backward(saved);
    ctx->saved_data["flags"] = layer_flags;
    ctx->saved_data["activation"] = activation;
    ctx->saved_data["order"] = order;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    return h;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto flags = ctx->saved_data["flags"].toIntVector();
    const auto kernels = activation_kernels(static_cast<Activation>(ctx->saved_data["activation"].toInt()));
    const bool act_then_norm =
        static_cast<LayerOrder>(ctx->saved_data["order"].toInt()) == LayerOrder::ActThenNorm;
    const auto x_sizes = ctx->saved_data["x_sizes"].toIntVector();

    // Edge indices: 0 = x, then the parameters in order.
    std::vector<std::size_t> first_param(flags.size());  // edge index of each layer's weight
    std::vector<std::size_t> first_saved(flags.size());  // index of each layer's saved h
    std::size_t param = 1, slot = 0;
    for (std::size_t l = 0; l < flags.size(); ++l) {
      first_param[l] = param;
      first_saved[l] = slot;
      param += (flags[l] & kNormed) != 0 ? 4 : 2;
      slot += 2 + ((flags[l] & kTreated) == 0 ? 0 : 2 + ((flags[l] & kNormed) != 0 ? 3 : 0));
    }
    // One entry per forward argument: x, every parameter, then the five non-tensor arguments (flags,
    // members, activation, order, eps), which get none. Undefined = no gradient.
    constexpr std::size_t kNonTensorArguments = 5;
    torch::autograd::variable_list grads(param + kNonTensorArguments);
    at::Tensor g = grad_outputs[0];
    if (!g.defined()) return grads;

    for (std::size_t l = flags.size(); l-- > 0;) {
      const std::size_t s = first_saved[l];
      const auto& h = saved[s];
      const auto& weight = saved[s + 1];
      const std::size_t e = first_param[l];
      if ((flags[l] & kTreated) != 0) {
        const bool normed = (flags[l] & kNormed) != 0;
        auto activation_backward = [&](std::size_t at) {
          g = run_activation_backward(kernels.second, g, saved[at], saved[at + 1]);
        };
        auto norm_backward = [&](std::size_t at) {
          auto parts = layer_norm_backward(g, saved[at], saved[at + 1], saved[at + 2], h.size(1));
          g = std::move(parts[0]);
          if (ctx->needs_input_grad(e + 2)) grads[e + 2] = std::move(parts[1]);
          if (ctx->needs_input_grad(e + 3)) grads[e + 3] = std::move(parts[2]);
        };
        if (!normed) {
          activation_backward(s + 2);
        } else if (act_then_norm) {
          norm_backward(s + 4);
          activation_backward(s + 2);
        } else {
          activation_backward(s + 5);
          norm_backward(s + 2);
        }
      }
      // g = ∂L/∂z of this layer. The order below is baddbmm's autograd formula's.
      if (ctx->needs_input_grad(e + 1)) {
        const std::vector<std::int64_t> bias_sizes{weight.size(0), 1, weight.size(2)};
        grads[e + 1] = at::sum_to(g, bias_sizes);
      }
      if (ctx->needs_input_grad(e)) grads[e] = training_bmm(h.transpose(1, 2), g);
      const bool need_input = l > 0 || ctx->needs_input_grad(0);
      if (!need_input) break;
      g = training_bmm(g, weight.transpose(1, 2));
    }
    if (ctx->needs_input_grad(0)) grads[0] = x_sizes.size() == 2 ? at::sum_to(g, x_sizes) : g;
    return grads;
  }
};

}  // namespace

bool fused_mlp_supports(Activation activation) {
  return activation_kernels(activation).first != nullptr;
}

at::Tensor fused_mlp_forward(const at::Tensor& x, const std::vector<at::Tensor>& params,
                             std::vector<std::int64_t> layer_flags, std::int64_t members,
                             Activation activation, LayerOrder order, double eps) {
  return FusedMlp::apply(x, at::TensorList(params), std::move(layer_flags), members,
                         static_cast<std::int64_t>(activation), static_cast<std::int64_t>(order), eps);
}

}  // namespace dipole::detail

namespace dipole {

void set_tiled_products(TiledProducts mode) {
  detail::tiled_mode.store(static_cast<int>(mode));
}

bool tiled_products_active() {
  return detail::tiled_active();
}

}  // namespace dipole
