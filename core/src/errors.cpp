// Out-of-line destructors of the error classes: their vtables and type_info live in libdipole_core
// only, so an exception thrown by a plugin outlives the plugin's library (it may be caught and printed
// after the library is unloaded) and is caught by type across libraries. Its own file, free of LibTorch,
// so that programs built from a few core sources (the fuzz targets, scripts/fuzz.sh) can link it.
#include "dipole/errors.hpp"

namespace dipole {

Error::~Error() = default;
ConfigError::~ConfigError() = default;
PluginError::~PluginError() = default;
DataError::~DataError() = default;
NumericError::~NumericError() = default;
RunLockError::~RunLockError() = default;
Interrupted::~Interrupted() = default;

}  // namespace dipole
