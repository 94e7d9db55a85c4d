#include <dipole/plugin.hpp>

#include "weightings.hpp"

DIPOLE_PLUGIN(plugin) {
  using namespace dipole::plugins;
  plugin.add<UniformWeighting>("uniform", "constant weight 1 on every row (behaviour cloning)",
                               UniformWeighting::schema());
  plugin.add<DipoleSigmoidWeighting>("dipole_sigmoid", "DIPOLE rows w⁺ = σ(βA + k), w⁻ = σ(−(βA + k))",
                                     DipoleSigmoidWeighting::schema());
  plugin.add<ExponentialWeighting>("exponential",
                                   "AWR weight min(exp(βA), max_weight), optional negative row",
                                   ExponentialWeighting::schema());
  plugin.add<IndicatorWeighting>("indicator", "CFGRL: 1[A > θ] branch weights, or labels with dropout",
                                 IndicatorWeighting::schema());
}
