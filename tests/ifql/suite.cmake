# The IFQL tests build the algorithm through the registry (plugins loaded at run time) and test the
# best_of_n sampler directly (T3 with exact samples of μ), so they link the samplers' implementation
# library; the analytic bandit (plugins/bandit/bandit_problem.hpp) supplies densities and oracle velocities.
target_link_libraries(${name} PRIVATE dipole_samplers_impl)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins ${PROJECT_SOURCE_DIR}/plugins/bandit)
