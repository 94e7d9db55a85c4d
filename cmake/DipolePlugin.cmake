# dipole_add_plugin(<name> SOURCES <files...> [LINK <targets...>])
#
# Builds a Dipole plugin library: a shared library linked against the Dipole core, placed where the
# runtime finds it (the build tree's plugin directory in-tree; set DIPOLE_PLUGIN_PATH to its output
# directory for an out-of-tree build). Used by the plugins in this repository and, through the
# installed package (find_package(Dipole)), by plugins built elsewhere.
function(dipole_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  if(TARGET dipole_core)
    target_link_libraries(${name} PRIVATE dipole_core ${ARG_LINK})
  else()
    target_link_libraries(${name} PRIVATE Dipole::dipole_core ${ARG_LINK})
  endif()
  set_target_properties(${name} PROPERTIES PREFIX "lib")
  if(DEFINED DIPOLE_BUILD_PLUGIN_DIR)  # in-tree build
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${DIPOLE_BUILD_PLUGIN_DIR})
    target_compile_options(${name} PRIVATE ${DIPOLE_WARNING_FLAGS})
    if(DIPOLE_USE_PCH AND TARGET dipole_pch)
      target_precompile_headers(${name} REUSE_FROM dipole_pch)
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION ${DIPOLE_PLUGIN_INSTALL_DIR})
    set_property(GLOBAL APPEND PROPERTY DIPOLE_PLUGIN_TARGETS ${name})
  endif()
endfunction()
