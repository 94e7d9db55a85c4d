# The oracle tests use the MuJoCo-only oracle library directly and run dipole_ogbench_generate (which
# loads the `ogbench` recorder plugin); without MuJoCo neither exists and the tests skip.
if(TARGET dipole_manipspace_oracles)
  target_link_libraries(${name} PRIVATE dipole_manipspace_oracles)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1
                             DIPOLE_OGBENCH_GENERATE="$<TARGET_FILE:dipole_ogbench_generate>")
  add_dependencies(${name} dipole_ogbench_generate dipole_ogbench)
endif()
