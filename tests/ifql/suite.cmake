# The IFQL tests build the algorithm through the registry (plugins loaded at run time) and test the
# best_of_n sampler directly (T3 with exact samples of μ), so the samplers' implementation is compiled
# in; the analytic bandit (plugins/bandit/bandit_problem.hpp) supplies densities and oracle velocities.
target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/samplers/samplers.cpp)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins ${PROJECT_SOURCE_DIR}/plugins/bandit)
