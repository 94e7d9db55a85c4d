// The two types of the ogbench plugin library, registered by plugin.cpp.
#pragma once

#include "dipole/plugin.hpp"

namespace dipole::ogbench {

void register_dataset(PluginDescriptor& plugin);   // ogbench_dataset.cpp: dataset `ogbench`
void register_recorder(PluginDescriptor& plugin);  // ogbench_recorder.cpp: recorder `ogbench`

}  // namespace dipole::ogbench
