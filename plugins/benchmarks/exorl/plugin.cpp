// Plugin library dipole_exorl: dataset `exorl` and recorder `exorl` (README.md).
#include "registration.hpp"

DIPOLE_PLUGIN(plugin) {
  dipole::exorl::register_dataset(plugin);
  dipole::exorl::register_recorder(plugin);
}
