// Switch for EnsembleMlp::forward's one-autograd-node-per-network path (core/src/nn.cpp, FusedMlp):
// on by default; it gives the same values and gradients as the per-operator graph, faster. Process-wide;
// tests switch it off to compare the two.
#pragma once

namespace dipole {
void set_fused_mlp(bool enabled);
bool fused_mlp_enabled();
}  // namespace dipole
