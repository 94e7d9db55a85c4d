# The perf tests compare the benchmark's plain DIPOLE update (apps/dipole/bench_plain_dipole.cpp) with
# the plugin pipeline's update, so that source is compiled into the suite too.
target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/apps/dipole/bench_plain_dipole.cpp)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/apps/dipole)
