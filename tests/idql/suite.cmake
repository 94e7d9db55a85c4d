# The IDQL tests build the algorithm through the registry and test its DDPM pieces (schedule, ε-network,
# sampler) and the resample sampler directly, so they link those plugins' implementation libraries.
target_link_libraries(${name} PRIVATE dipole_idql_impl dipole_samplers_impl)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins ${PROJECT_SOURCE_DIR}/plugins/bandit)
