#include <dipole/plugin.hpp>

#include "flow_mlp.hpp"

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::FlowMlp>(
      "flow_mlp", "ensemble MLP velocity field v(s, x_t, t[, label]) or time-free policy f(s, z), with Adam",
      dipole::plugins::FlowMlp::schema());
}
