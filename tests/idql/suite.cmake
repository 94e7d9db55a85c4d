# The IDQL tests build the algorithm through the registry and test its DDPM pieces (schedule, ε-network,
# sampler) and the resample sampler directly, so those implementation files are compiled in.
target_sources(${name} PRIVATE
  ${PROJECT_SOURCE_DIR}/plugins/idql/ddpm.cpp
  ${PROJECT_SOURCE_DIR}/plugins/idql/ddpm_mlp.cpp
  ${PROJECT_SOURCE_DIR}/plugins/samplers/samplers.cpp)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins ${PROJECT_SOURCE_DIR}/plugins/bandit)
