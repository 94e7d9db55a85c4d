#include <dipole/plugin.hpp>

#include "td_critic.hpp"

DIPOLE_PLUGIN(plugin) {
  plugin.add<dipole::plugins::TdCritic>(
      "td", "twin Q with Polyak target bootstrapping on the algorithm's next action a′ (FQL); no V",
      dipole::plugins::TdCritic::schema());
}
