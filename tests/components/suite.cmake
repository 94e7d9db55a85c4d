# The component tests exercise the plugin classes directly (not through the registry), so they link
# the plugins' implementation libraries (<plugin>_impl: every source but the DIPOLE_PLUGIN file).
target_link_libraries(${name} PRIVATE dipole_flow_mlp_impl dipole_iql_critic_impl dipole_td_critic_impl
                      dipole_rebrac_impl dipole_weightings_impl dipole_samplers_impl)
target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/plugins)
