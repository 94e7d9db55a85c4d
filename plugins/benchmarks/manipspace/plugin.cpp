// Plugin library dipole_manipspace: environment `ogbench` (README.md).
#include "registration.hpp"

DIPOLE_PLUGIN(plugin) {
  dipole::manipspace::register_environment(plugin);
}
