#include <dipole/plugin.hpp>

#include "iql_critic.hpp"

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::IqlCritic>(
      "iql", "IQL critic: V by expectile regression on target min Q, twin Q by TD on online V, Polyak target",
      dipole::plugins::IqlCritic::schema());
}
