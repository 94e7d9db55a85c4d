// Plugin library dipole_ogbench: dataset `ogbench` and recorder `ogbench` (README.md).
#include "registration.hpp"

DIPOLE_PLUGIN(plugin) {
  dipole::ogbench::register_dataset(plugin);
  dipole::ogbench::register_recorder(plugin);
}
