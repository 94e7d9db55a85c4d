# The perf tests compare the reference plain DIPOLE update (tests/support/reference/plain_dipole.cpp, also
# timed by `dipole-bench overhead`) with the plugin pipeline's update.
target_link_libraries(${name} PRIVATE dipole_plain_dipole)
