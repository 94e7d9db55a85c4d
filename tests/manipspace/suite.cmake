# The manipspace tests use the MuJoCo-only core library directly and load the plugin through the
# registry; without MuJoCo neither exists and the tests skip.
if(TARGET dipole_manipspace_core)
  target_link_libraries(${name} PRIVATE dipole_manipspace_core)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1)
  add_dependencies(${name} dipole_manipspace)
endif()
