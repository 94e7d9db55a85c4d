// One factory per domain, each defined in that domain's source file and listed in
// task_registry.cpp (the only caller). Each receives a task name that task_registry.cpp has already
// checked against the domain's task list. Use make_task (dmc_task.hpp), not these.
#pragma once

#include <memory>
#include <string>

#include "dmc_task.hpp"

namespace dipole::dmc {

std::unique_ptr<Task> make_walker_task(const std::string& task);     // walker.cpp
std::unique_ptr<Task> make_cheetah_task(const std::string& task);    // cheetah.cpp
std::unique_ptr<Task> make_quadruped_task(const std::string& task);  // quadruped.cpp
std::unique_ptr<Task> make_jaco_task(const std::string& task);       // jaco.cpp

}  // namespace dipole::dmc
