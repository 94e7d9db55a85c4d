// The hand-written float32 CPU kernels behind the networks of nn.hpp (defined in nn_kernels.cpp). Each
// entry point falls back to the ATen operation for other dtypes, devices, layouts and shapes.
#pragma once

#include <ATen/core/Tensor.h>

namespace dipole::detail {

/// LayerNorm over the last axis with a per-member affine: γ, β [M, 1, n] for h [M, B, n] (or [1, n] /
/// [n] for h [B, n]); ε = eps.
at::Tensor layer_norm_affine(const at::Tensor& h, const at::Tensor& scale, const at::Tensor& bias,
                             double eps);

/// GELU with the tanh approximation (at::gelu(x, "tanh")).
at::Tensor gelu_tanh(const at::Tensor& x);

/// mish(x) = x·tanh(softplus(x)) (at::mish).
at::Tensor mish_fused(const at::Tensor& x);

/// Whether bias + h · weight is computed by small_rows_forward: autograd off, float32 CPU, few rows.
bool small_rows_path(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& bias);

/// h [M, rows, in] (any strides), weight [M, in, out], bias [M, 1, out] → [M, rows, out].
at::Tensor small_rows_forward(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace dipole::detail
