// The type of the dmc plugin library, registered by plugin.cpp.
#pragma once

#include "dipole/plugin.hpp"

namespace dipole::dmc {

void register_environment(PluginDescriptor& plugin);  // dmc_environment.cpp: environment `dmc`

}  // namespace dipole::dmc
