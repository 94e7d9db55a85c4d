# The format rules are tested on their own (static library, no MuJoCo); the dataset, the recorder
# and `dipole collect` need the exorl and dmc plugins, which exist only when MuJoCo was found, and
# the CLI (every test of test_exorl.cpp collects its episodes with it), so a build without the CLI
# (-DDIPOLE_TESTS_NEED_CLI=OFF, the sanitizer job) runs the format tests only.
target_link_libraries(${name} PRIVATE dipole_exorl_format)
if(TARGET dipole_exorl AND TARGET dipole_dmc AND DIPOLE_TESTS_NEED_CLI)
  target_compile_definitions(${name} PRIVATE DIPOLE_HAVE_MUJOCO=1)
  add_dependencies(${name} dipole_exorl dipole_dmc)
endif()
