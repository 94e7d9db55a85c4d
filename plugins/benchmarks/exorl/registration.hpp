// The two types of the exorl plugin library, registered by plugin.cpp.
#pragma once

#include "dipole/plugin.hpp"

namespace dipole::exorl {

void register_dataset(PluginDescriptor& plugin);   // exorl_dataset.cpp: dataset `exorl`
void register_recorder(PluginDescriptor& plugin);  // exorl_recorder.cpp: recorder `exorl`

}  // namespace dipole::exorl
