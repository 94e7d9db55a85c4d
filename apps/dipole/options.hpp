// Shared Boost.ProgramOptions handling for the subcommands (apps/lib/include/dipole/app/options.hpp).
#pragma once

#include "commands.hpp"
#include "dipole/app/options.hpp"

namespace dipole::cli {

namespace po = boost::program_options;
using app::parse_options;

}  // namespace dipole::cli
