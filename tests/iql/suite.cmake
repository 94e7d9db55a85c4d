# The IQL tests build runs through the registry (the `iql` plugin) on the built-in bandit and compare
# with plugins/bandit/bandit_problem.hpp.
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/bandit)
