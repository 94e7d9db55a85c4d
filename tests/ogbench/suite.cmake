# The ogbench tests use the task layer directly (plain C++) and load the dataset plugin through the
# registry.
target_link_libraries(${name} PRIVATE dipole_ogbench_tasks)
add_dependencies(${name} dipole_ogbench)
