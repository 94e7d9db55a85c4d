// OGBench locomotion scenes (docs/ogbench.md, "Locomotion environments"): the maze maps, cell ↔ world
// coordinates, and the MJCF of a maze composed at run time from OGBench's base agent models
// (point.xml, ant.xml, humanoid.xml; found by dipole::find_asset under ogbench/locomaze/assets):
// wall blocks, floor, teleport discs, goal marker and, for antsoccer, the ball. Nothing derived from
// the model files is stored in the repository. MuJoCo-only: no ATen here.
#pragma once

#include <mujoco/mujoco.h>

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ogbench_tasks.hpp"

namespace dipole::locomaze {

enum class Agent { Point, Ant, Humanoid };
enum class MapName { Arena, Medium, Large, Giant, Teleport };

/// A maze map: maze_map[i][j], i = row (world +y), j = column (world +x); 1 = wall block.
struct MazeMap {
  MapName name = MapName::Medium;
  std::vector<std::string> rows;  ///< '1' wall, '0' free, row 0 first

  int height() const { return static_cast<int>(rows.size()); }
  int width() const { return rows.empty() ? 0 : static_cast<int>(rows[0].size()); }
  /// Outside the map counts as wall.
  bool wall(int i, int j) const;
  bool free(int i, int j) const { return !wall(i, j); }
  std::vector<std::pair<int, int>> free_cells() const;  ///< row-major
  /// Free cells that are not straight corridor cells (the `navigate` goal cells).
  std::vector<std::pair<int, int>> vertex_cells() const;
  /// BFS distance (4-neighbours over free cells) from cell `from` to every cell; -1 = unreachable/wall.
  std::vector<std::vector<int>> bfs(int i, int j) const;
  /// OGBench's data-collection oracle: from `cell`, the first of its up, left, down, right neighbours
  /// whose BFS distance `dist` (from the goal, see bfs()) is strictly smaller, else `cell` itself.
  std::pair<int, int> oracle_next_cell(const std::vector<std::vector<int>>& dist,
                                       std::pair<int, int> cell) const;
};

const MazeMap& maze_map(MapName name);
const char* map_label(MapName name);

inline constexpr double kMazeUnit = 4.0;
inline constexpr double kMazeHeight = 0.5;
inline constexpr double kOffset = 4.0;

/// Cell (i, j) → world (x, y) = (4j − 4, 4i − 4).
std::array<double, 2> cell_to_xy(int i, int j);
/// World (x, y) → the nearest cell: (trunc((y + 6)/4), trunc((x + 6)/4)), truncation toward zero.
std::pair<int, int> xy_to_cell(double x, double y);

/// Inbound and outbound teleports of the teleport maze (world xy), and the trigger radius.
inline constexpr std::array<std::array<double, 2>, 2> kTeleportIn = {{{20.0, 12.0}, {0.0, 16.0}}};
inline constexpr std::array<std::array<double, 2>, 3> kTeleportOut = {
    {{24.0, 0.0}, {0.0, 20.0}, {36.0, 20.0}}};
inline constexpr double kTeleportRadius = 1.5;

/// What scene an OGBench locomotion category builds.
struct SceneKind {
  Agent agent = Agent::Point;
  MapName map = MapName::Medium;
  bool ball = false;          ///< antsoccer
  std::string label() const;  ///< "antmaze-medium", "antsoccer-arena", ...
};
/// Throws ConfigError for a manipulation category.
SceneKind scene_of(ogbench::Category category);

/// The composed MJCF text. `base_xml` is the agent's base file.
std::string compose_mjcf(const SceneKind& kind, const std::string& base_xml);

struct ModelDeleter {
  void operator()(mjModel* m) const { mj_deleteModel(m); }
};
struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using ModelPtr = std::unique_ptr<mjModel, ModelDeleter>;
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

/// compose_mjcf on the located base file, compiled through MuJoCo's virtual file system once per
/// process and scene (thread-safe); every call returns a fresh copy the caller may edit.
ModelPtr load_model(const SceneKind& kind);

}  // namespace dipole::locomaze
