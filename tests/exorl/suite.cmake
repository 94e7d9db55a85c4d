# The format rules are tested on their own (static library, no MuJoCo); the dataset, the recorder
# and `dipole collect` need the exorl and dmc plugins, which exist only when MuJoCo was found.
target_link_libraries(${name} PRIVATE dipole_exorl_format)
if(TARGET dipole_exorl AND TARGET dipole_dmc)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1)
  add_dependencies(${name} dipole_exorl dipole_dmc)
endif()
