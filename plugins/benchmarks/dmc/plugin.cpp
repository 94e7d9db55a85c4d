// Plugin library dipole_dmc: environment `dmc` (README.md).
#include "registration.hpp"

DIPOLE_PLUGIN(plugin) {
  dipole::dmc::register_environment(plugin);
}
