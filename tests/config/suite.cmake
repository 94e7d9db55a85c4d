# The config tests parse TOML directly to check round trips; TOML++'s -DTOML_SHARED_LIB does not
# match the shared precompiled header, so this suite compiles without it.
target_link_libraries(${name} PRIVATE tomlplusplus::tomlplusplus)
set_target_properties(${name} PROPERTIES DISABLE_PRECOMPILE_HEADERS ON)
