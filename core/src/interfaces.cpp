// Out-of-line destructors of the interface classes: their vtables and type_info live in libdipole_core
// only, so dynamic_cast between plugin libraries loaded with RTLD_LOCAL is reliable. The error classes
// have theirs in errors.cpp.
#include "dipole/algorithm.hpp"
#include "dipole/critic.hpp"
#include "dipole/dataset.hpp"
#include "dipole/denoiser.hpp"
#include "dipole/environment.hpp"
#include "dipole/recorder.hpp"
#include "dipole/sampler.hpp"
#include "dipole/weighting.hpp"

namespace dipole {

Component::~Component() = default;
Dataset::~Dataset() = default;
Environment::~Environment() = default;
Critic::~Critic() = default;
Denoiser::~Denoiser() = default;
WeightingFunction::~WeightingFunction() = default;
Sampler::~Sampler() = default;
Algorithm::~Algorithm() = default;
Recorder::~Recorder() = default;

}  // namespace dipole
