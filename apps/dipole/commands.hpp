// Subcommands of the `dipole` executable. Each takes the arguments after its name and returns the
// process exit code; errors are thrown as dipole::Error and printed by main without a stack trace.
#pragma once

#include <string>
#include <vector>

namespace dipole::cli {

using Args = std::vector<std::string>;

int plugins_command(const Args& args);
int config_command(const Args& args);
int train_command(const Args& args);
int eval_command(const Args& args);
int bench_command(const Args& args);
int collect_command(const Args& args);
int report_command(const Args& args);
int sweep_command(const Args& args);

}  // namespace dipole::cli
