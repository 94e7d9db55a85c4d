# The dmc tests use the plugin's MuJoCo-only task library (dipole_dmc_tasks: Physics, Task, rewards)
# directly, and load the environment plugin through the registry; without MuJoCo neither is built,
# the header-only formula tests still run and the others skip.
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/benchmarks/dmc)
if(TARGET dipole_dmc_tasks)
  target_link_libraries(${name} PRIVATE dipole_dmc_tasks)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1)
  add_dependencies(${name} dipole_dmc)
endif()
