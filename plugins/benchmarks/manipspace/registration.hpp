// The type of the manipspace plugin library, registered by plugin.cpp.
#pragma once

#include "dipole/plugin.hpp"

namespace dipole::manipspace {

void register_environment(PluginDescriptor& plugin);  // manipspace_environment.cpp: environment `ogbench`

}  // namespace dipole::manipspace
