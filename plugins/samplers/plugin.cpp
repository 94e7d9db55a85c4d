#include <dipole/plugin.hpp>

#include "samplers.hpp"

DIPOLE_PLUGIN(plugin) {
  using namespace dipole::plugins;
  plugin.add<EulerSampler>("euler", "Euler ODE on one velocity source (v⁺), clipped at the end",
                           EulerSampler::schema());
  plugin.add<GuidedEulerSampler>("guided_euler",
                                 "Euler on (1 + ω)·v⁺ − ω·v⁻ at every step, clipped at the end",
                                 GuidedEulerSampler::schema());
  plugin.add<BestOfNSampler>("best_of_n",
                             "N_c candidates from an inner sampler; the best min-Q per observation",
                             BestOfNSampler::schema());
  plugin.add<ResampleSampler>("resample",
                              "N_c candidates from an inner sampler; one drawn ∝ expectile weights of A",
                              ResampleSampler::schema());
  plugin.add<DirectSampler>("direct", "one evaluation a = clip(f(s, z)) of a time-free policy",
                            DirectSampler::schema());
}
