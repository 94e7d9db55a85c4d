// Plugin library dipole_locomaze: environment `ogbench_locomaze` (README.md).
#include "registration.hpp"

DIPOLE_PLUGIN(plugin) {
  dipole::locomaze::register_environment(plugin);
}
