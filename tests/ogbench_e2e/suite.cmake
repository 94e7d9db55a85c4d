# The generator executable is built only with MuJoCo; without it the test skips itself.
if(TARGET dipole_ogbench_generate)
  add_dependencies(${name} dipole_ogbench_generate)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_OGBENCH_GENERATE=1)
endif()
