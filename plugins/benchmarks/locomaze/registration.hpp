// The type of the locomaze plugin library, registered by plugin.cpp.
#pragma once

#include "dipole/plugin.hpp"

namespace dipole::locomaze {

void register_environment(
    PluginDescriptor& plugin);  // locomaze_environment.cpp: environment `ogbench_locomaze`

}  // namespace dipole::locomaze
