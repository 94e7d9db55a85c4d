// Switches for EnsembleMlp::forward's one-autograd-node-per-network path (core/src/nn.cpp, FusedMlp):
// on by default; it gives the same values and gradients as the per-operator graph (bit for bit with the
// BLAS products, to float summation order with the tiled ones), faster. Process-wide; tests switch both
// to compare.
#pragma once

namespace dipole {
void set_fused_mlp(bool enabled);
bool fused_mlp_enabled();

/// Which kernel computes the matrix products of the fused networks' training passes (forward and
/// backward; core/src/nn_kernels.cpp): Auto (the default) = Dipole's register-tiled kernel where it beats
/// the loaded BLAS (a CPU with AVX-512 whose OpenBLAS runs non-AVX-512 kernels), else the BLAS through
/// baddbmm/bmm; On / Off = always / never the tiled kernel. The two agree up to float summation order.
enum class TiledProducts { Auto, On, Off };
void set_tiled_products(TiledProducts mode);
bool tiled_products_active();
}  // namespace dipole
