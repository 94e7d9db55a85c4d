# The fuzz targets of fuzz/ compiled as plain functions: every reproducer kept in fuzz/regressions/
# and the issue's hostile inputs are replayed through them (docs/reliability.md, "Fuzzing").
target_link_libraries(${name} PRIVATE dipole_exorl_format dipole_ogbench_format)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz)
set_target_properties(${name} PROPERTIES DISABLE_PRECOMPILE_HEADERS ON)
