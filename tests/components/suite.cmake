# The component tests exercise the plugin classes directly (not through the registry), so the
# plugins' implementation files (not their DIPOLE_PLUGIN registration files) are compiled in.
set(component_plugin_dir ${PROJECT_SOURCE_DIR}/plugins)
target_sources(${name} PRIVATE
  ${component_plugin_dir}/flow_mlp/flow_mlp.cpp
  ${component_plugin_dir}/iql_critic/iql_critic.cpp
  ${component_plugin_dir}/td_critic/td_critic.cpp
  ${component_plugin_dir}/rebrac/rebrac_critic.cpp
  ${component_plugin_dir}/weightings/weightings.cpp
  ${component_plugin_dir}/samplers/samplers.cpp)
target_include_directories(${name} PRIVATE ${component_plugin_dir})
