// The hand-written float32 CPU kernels behind the networks of nn.hpp (defined in nn_kernels.cpp). Each
// entry point falls back to the ATen operation for other dtypes, devices, layouts and shapes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "dipole/core/fused_mlp.hpp"
#include "dipole/sdk/nn.hpp"

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

/// Per-layer flags of fused_mlp_forward: the hidden treatment (activation, LayerNorm) is applied after
/// the layer's product; the layer has LayerNorm parameters.
inline constexpr std::int64_t kTreated = 1;
inline constexpr std::int64_t kNormed = 2;

/// Whether fused_mlp_forward has kernels for `activation` (GELU(tanh) and mish).
bool fused_mlp_supports(Activation activation);

/// An ensemble MLP's forward recorded as one autograd node (FusedMlp in nn_kernels.cpp): the same
/// operators as EnsembleMlp's per-operator graph, forward and backward (the same bits unless the tiled
/// product kernel is active: TiledProducts in dipole/core/fused_mlp.hpp). x [B, in] (broadcast)
/// or [M, B, in]; params in EnsembleMlp::parameters() order; one flag word per layer. CPU float32 only.
at::Tensor fused_mlp_forward(const at::Tensor& x, const std::vector<at::Tensor>& params,
                             std::vector<std::int64_t> layer_flags, std::int64_t members,
                             Activation activation, LayerOrder order, double eps);

}  // namespace dipole::detail
