# The learning tests compare with the analytic bandit of plugins/bandit/bandit_problem.hpp.
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/bandit)
