// The flat MJCF of an OGBench manipulation scene (docs/ogbench.md, "Manipulation: scene model and physics"),
// assembled at run time from the located asset files (UR5e, Robotiq 2F-85, arena, objects) and compiled
// through MuJoCo's virtual file system. Nothing derived from the model files is stored in the repository.
// MuJoCo-only: no ATen here.
#pragma once

#include <mujoco/mujoco.h>

#include <memory>
#include <string>

namespace dipole::manipspace {

/// Which objects follow the robot (docs/ogbench.md, "Manipulation: scene model and physics").
struct SceneLayout {
  enum class Kind { Cubes, Scene, Puzzle };
  Kind kind = Kind::Cubes;
  int num_cubes = 1;  ///< Cubes: 1..8 (cube-single, -double, -triple, ...); Scene: always 1
  int rows = 0;       ///< Puzzle: R×C buttons
  int cols = 0;

  static SceneLayout cubes(int n) { return {Kind::Cubes, n, 0, 0}; }
  static SceneLayout scene() { return {Kind::Scene, 1, 0, 0}; }
  static SceneLayout puzzle(int rows, int cols) { return {Kind::Puzzle, 0, rows, cols}; }
  /// "cube-single", "scene", "puzzle-3x3", ... (for messages).
  std::string label() const;
};

struct ModelDeleter {
  void operator()(mjModel* model) const { mj_deleteModel(model); }
};
struct DataDeleter {
  void operator()(mjData* data) const { mj_deleteData(data); }
};
using ModelPtr = std::unique_ptr<mjModel, ModelDeleter>;
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

/// The flat MJCF text of the scene (plugins/benchmarks/manipspace/README.md, "The model, built at run time").
/// `descriptions` is the directory holding floor_wall.xml, universal_robots_ur5e/, robotiq_2f85/ and the
/// object XMLs; every mesh and texture path in the result is absolute. Meshes whose file is missing
/// (upperarm_3.obj, a visual mesh) are dropped with the geoms that use them. `implicitfast` becomes
/// `implicit` on MuJoCo < 2.3.3. Throws DataError.
std::string build_flat_mjcf(const SceneLayout& layout, const std::string& descriptions);

/// Compile MJCF text through a virtual file (file name `label`.xml). Throws DataError with MuJoCo's
/// message.
ModelPtr compile_mjcf(const std::string& xml, const std::string& label);

/// build_flat_mjcf + compile_mjcf, with the descriptions located by dipole::find_asset
/// ("ogbench/manipspace/descriptions/floor_wall.xml"). Each layout is compiled once per process
/// (thread-safe); every call returns a fresh copy (mj_copyModel) that the caller may edit. Applies
/// none of the run-time edits (docs/ogbench.md, "Manipulation: scene model and physics").
ModelPtr load_scene_model(const SceneLayout& layout);

/// The located descriptions directory (DataError listing the places searched when absent).
std::string descriptions_directory();

}  // namespace dipole::manipspace
