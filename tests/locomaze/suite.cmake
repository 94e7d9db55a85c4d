# The locomaze tests use the MuJoCo-only core directly, load the `ogbench_locomaze` environment and the
# `ogbench` dataset/recorder through the registry, and run `dipole collect` and
# dipole_locomaze_generate; without MuJoCo they skip.
if(TARGET dipole_locomaze_core)
  target_link_libraries(${name} PRIVATE dipole_locomaze_core)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1
                             DIPOLE_LOCOMAZE_GENERATE="$<TARGET_FILE:dipole_locomaze_generate>")
  add_dependencies(${name} dipole_locomaze dipole_ogbench dipole_locomaze_generate)
endif()
