// Boost.ProgramOptions handling shared by the programs of apps/ (the `dipole` subcommands and
// `dipole-bench`): --help prints the usage and the options, a parse error becomes a ConfigError
// that repeats the usage.
#pragma once

#include <boost/program_options.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "dipole/errors.hpp"

namespace dipole::app {

namespace po = boost::program_options;

/// Parse `args`; returns false (after printing help) when --help was given.
inline bool parse_options(const std::vector<std::string>& args, const std::string& usage,
                          po::options_description& options,
                          const po::positional_options_description& positional, po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + "\n" + usage);
  }
  return true;
}

}  // namespace dipole::app
