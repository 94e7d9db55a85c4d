# The dmc tests include the plugin's LibTorch- and MuJoCo-free headers (tolerance, rewards) and load
# the plugin itself through the registry; without MuJoCo the plugin is not built and those tests skip.
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/dmc)
find_package(mujoco QUIET)
if(mujoco_FOUND)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1)
  add_dependencies(${name} dipole_dmc)
endif()
