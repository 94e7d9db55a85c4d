# The jaco tests use the MuJoCo-only task library (dipole_dmc_tasks: Physics, JacoTask) directly.
# Without MuJoCo the library is not built and the tests compile to an empty suite.
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/benchmarks/dmc)
if(TARGET dipole_dmc_tasks)
  target_link_libraries(${name} PRIVATE dipole_dmc_tasks)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1)
endif()
# test_jaco_environment.cpp loads the dmc environment plugin through the registry.
if(TARGET dipole_dmc)
  add_dependencies(${name} dipole_dmc)
endif()
