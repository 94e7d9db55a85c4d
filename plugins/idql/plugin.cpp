#include <dipole/plugin.hpp>

#include "ddpm.hpp"
#include "ddpm_mlp.hpp"
#include "idql.hpp"

DIPOLE_PLUGIN(plugin) {
  using namespace dipole::plugins;
  plugin.add<Idql>(
      "idql", "IDQL: DDPM (or flow) BC + IQL critic, selection among N_c samples (docs/algorithms.md, IDQL)",
      Idql::schema());
  plugin.add<DdpmMlp>("ddpm_mlp", "IDQL's ε-prediction LN-ResNet with learnable Fourier time features, AdamW",
                      DdpmMlp::schema());
  plugin.add<DdpmSampler>("ddpm", "ancestral DDPM (VP schedule, T steps) on an ε-denoiser, clipped",
                          DdpmSampler::schema());
}
