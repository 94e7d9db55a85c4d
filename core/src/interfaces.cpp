// Out-of-line destructors of the interface and error classes: their vtables and type_info live in
// libdipole_core only, so dynamic_cast between plugin libraries loaded with RTLD_LOCAL is reliable and
// an exception thrown by a plugin outlives the plugin's library.
#include "dipole/algorithm.hpp"
#include "dipole/critic.hpp"
#include "dipole/dataset.hpp"
#include "dipole/denoiser.hpp"
#include "dipole/environment.hpp"
#include "dipole/errors.hpp"
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

Error::~Error() = default;
ConfigError::~ConfigError() = default;
PluginError::~PluginError() = default;
DataError::~DataError() = default;
NumericError::~NumericError() = default;
RunLockError::~RunLockError() = default;
Interrupted::~Interrupted() = default;

}  // namespace dipole
