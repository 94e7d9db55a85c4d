# The ReBRAC tests build runs through the registry (the `rebrac` plugin) on the built-in bandit's spec.
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/bandit)
