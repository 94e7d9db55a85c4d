# dipole_find_mujoco(<var>): sets <var> to TRUE when MuJoCo's CMake package (Debian libmujoco-dev,
# or a newer MuJoCo) provides the target mujoco::mujoco, FALSE otherwise. Used by every plugin that
# simulates (plugins/benchmarks/dmc, plugins/benchmarks/manipspace); without MuJoCo they are skipped.
#
# Debian's mujoco::mujoco lists /usr/include/libqhull_r/ (a build-time dependency the public headers
# do not need) even when that directory is absent, which CMake rejects: only existing include
# directories are kept (in every directory that calls this: imported targets are directory-scoped).
function(dipole_find_mujoco result)
  find_package(mujoco QUIET)
  if(NOT mujoco_FOUND OR NOT TARGET mujoco::mujoco)
    set(${result} FALSE PARENT_SCOPE)
    return()
  endif()
  get_target_property(includes mujoco::mujoco INTERFACE_INCLUDE_DIRECTORIES)
  if(includes)
    set(existing "")
    foreach(dir IN LISTS includes)
      if(EXISTS "${dir}")
        list(APPEND existing "${dir}")
      endif()
    endforeach()
    set_target_properties(mujoco::mujoco PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${existing}")
  endif()
  set(${result} TRUE PARENT_SCOPE)
endfunction()
