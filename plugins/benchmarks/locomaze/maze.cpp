// OGBench locomotion scenes (see maze.hpp; docs/ogbench.md, "Locomotion environments").
#include "maze.hpp"

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>

#include "model_builder.hpp"
#include "xml_dom.hpp"

namespace dipole::locomaze {
namespace {

namespace xml = manipspace::xml;

std::string number(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

std::string triple(double a, double b, double c) {
  return number(a) + " " + number(b) + " " + number(c);
}

std::unique_ptr<xml::Node> geom(std::vector<std::pair<std::string, std::string>> attributes) {
  auto node = xml::Node::element("geom");
  for (auto& [k, v] : attributes) node->set(k, std::move(v));
  return node;
}

const char* base_file(Agent agent) {
  switch (agent) {
    case Agent::Point:
      return "point.xml";
    case Agent::Ant:
      return "ant.xml";
    case Agent::Humanoid:
      return "humanoid.xml";
  }
  return "";
}

}  // namespace

bool MazeMap::wall(int i, int j) const {
  if (i < 0 || j < 0 || i >= height() || j >= width()) return true;
  return rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] == '1';
}

std::vector<std::pair<int, int>> MazeMap::free_cells() const {
  std::vector<std::pair<int, int>> out;
  for (int i = 0; i < height(); ++i)
    for (int j = 0; j < width(); ++j)
      if (free(i, j)) out.emplace_back(i, j);
  return out;
}

std::vector<std::pair<int, int>> MazeMap::vertex_cells() const {
  std::vector<std::pair<int, int>> out;
  for (const auto& [i, j] : free_cells()) {
    const bool up = free(i - 1, j), down = free(i + 1, j), left = free(i, j - 1), right = free(i, j + 1);
    const bool vertical_corridor = up && down && !left && !right;
    const bool horizontal_corridor = left && right && !up && !down;
    if (!vertical_corridor && !horizontal_corridor) out.emplace_back(i, j);
  }
  return out;
}

std::vector<std::vector<int>> MazeMap::bfs(int i0, int j0) const {
  std::vector<std::vector<int>> dist(static_cast<std::size_t>(height()),
                                     std::vector<int>(static_cast<std::size_t>(width()), -1));
  if (wall(i0, j0)) return dist;
  std::deque<std::pair<int, int>> queue{{i0, j0}};
  dist[static_cast<std::size_t>(i0)][static_cast<std::size_t>(j0)] = 0;
  static constexpr int kDi[4] = {-1, 0, 1, 0}, kDj[4] = {0, -1, 0, 1};
  while (!queue.empty()) {
    const auto [i, j] = queue.front();
    queue.pop_front();
    for (int k = 0; k < 4; ++k) {
      const int a = i + kDi[k], b = j + kDj[k];
      if (wall(a, b) || dist[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] >= 0) continue;
      dist[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] =
          dist[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] + 1;
      queue.emplace_back(a, b);
    }
  }
  return dist;
}

std::pair<int, int> MazeMap::oracle_next_cell(const std::vector<std::vector<int>>& dist,
                                              std::pair<int, int> cell) const {
  static constexpr int kDi[4] = {-1, 0, 1, 0}, kDj[4] = {0, -1, 0, 1};
  const auto at = [&](int i, int j) {
    return dist[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  };
  if (wall(cell.first, cell.second)) return cell;
  for (int k = 0; k < 4; ++k) {
    const int i = cell.first + kDi[k], j = cell.second + kDj[k];
    if (!wall(i, j) && at(i, j) >= 0 && at(i, j) < at(cell.first, cell.second)) return {i, j};
  }
  return cell;
}

const MazeMap& maze_map(MapName name) {
  // OGBench's maze.py maps, row 0 first.
  static const MazeMap arena{
      MapName::Arena,
      {"11111111", "10000001", "10000001", "10000001", "10000001", "10000001", "10000001", "11111111"}};
  static const MazeMap medium{
      MapName::Medium,
      {"11111111", "10011001", "10010001", "11000111", "10010001", "10100101", "10001001", "11111111"}};
  static const MazeMap large{MapName::Large,
                             {"111111111111", "100001000001", "101101010101", "100000010001", "101111011101",
                              "100101000001", "110101010111", "100100010001", "111111111111"}};
  static const MazeMap giant{
      MapName::Giant,
      {"1111111111111111", "1010000001100001", "1010110101001101", "1000100100010001", "1011101111110101",
       "1000100010000101", "1110101001010111", "1000100100010001", "1010101111110101", "1011100010001101",
       "1000001000100001", "1111111111111111"}};
  static const MazeMap teleport{
      MapName::Teleport,
      {"111111111111", "100000101001", "110100010011", "110111000001", "100001010101", "101101010101",
       "101101010101", "100001000101", "111111111111"}};
  switch (name) {
    case MapName::Arena:
      return arena;
    case MapName::Medium:
      return medium;
    case MapName::Large:
      return large;
    case MapName::Giant:
      return giant;
    case MapName::Teleport:
      return teleport;
  }
  return medium;
}

const char* map_label(MapName name) {
  switch (name) {
    case MapName::Arena:
      return "arena";
    case MapName::Medium:
      return "medium";
    case MapName::Large:
      return "large";
    case MapName::Giant:
      return "giant";
    case MapName::Teleport:
      return "teleport";
  }
  return "";
}

std::array<double, 2> cell_to_xy(int i, int j) {
  return {j * kMazeUnit - kOffset, i * kMazeUnit - kOffset};
}

std::pair<int, int> xy_to_cell(double x, double y) {
  // Python int() truncates toward zero; std::trunc does the same.
  return {static_cast<int>(std::trunc((y + kOffset + 0.5 * kMazeUnit) / kMazeUnit)),
          static_cast<int>(std::trunc((x + kOffset + 0.5 * kMazeUnit) / kMazeUnit))};
}

std::string SceneKind::label() const {
  const char* agent_name = agent == Agent::Point ? "pointmaze"
                           : agent == Agent::Ant ? "antmaze"
                                                 : "humanoidmaze";
  return std::string(ball ? "antsoccer" : agent_name) + "-" + map_label(map);
}

SceneKind scene_of(ogbench::Category category) {
  using C = ogbench::Category;
  switch (category) {
    case C::PointMazeMedium:
      return {Agent::Point, MapName::Medium, false};
    case C::PointMazeLarge:
      return {Agent::Point, MapName::Large, false};
    case C::PointMazeGiant:
      return {Agent::Point, MapName::Giant, false};
    case C::PointMazeTeleport:
      return {Agent::Point, MapName::Teleport, false};
    case C::AntMazeMedium:
      return {Agent::Ant, MapName::Medium, false};
    case C::AntMazeLarge:
      return {Agent::Ant, MapName::Large, false};
    case C::AntMazeGiant:
      return {Agent::Ant, MapName::Giant, false};
    case C::AntMazeTeleport:
      return {Agent::Ant, MapName::Teleport, false};
    case C::HumanoidMazeMedium:
      return {Agent::Humanoid, MapName::Medium, false};
    case C::HumanoidMazeLarge:
      return {Agent::Humanoid, MapName::Large, false};
    case C::HumanoidMazeGiant:
      return {Agent::Humanoid, MapName::Giant, false};
    case C::AntSoccerArena:
      return {Agent::Ant, MapName::Arena, true};
    case C::AntSoccerMedium:
      return {Agent::Ant, MapName::Medium, true};
    default:
      break;
  }
  throw ConfigError(std::string("env: ") + ogbench::info(category).name +
                    " is not a locomotion environment (expected pointmaze-*, antmaze-*, humanoidmaze-* or "
                    "antsoccer-*)");
}

std::string compose_mjcf(const SceneKind& kind, const std::string& base_xml) {
  auto root = xml::parse_file(base_xml);
  xml::Node* world = root->child("worldbody");
  if (world == nullptr) throw DataError(base_xml + ": no <worldbody>");
  const MazeMap& map = maze_map(kind.map);
  // 1. Walls: direct children of <worldbody> without a class, so the base file's top-level geom
  //    defaults apply (margin, friction, solref/solimp differ between the agents).
  for (int i = 0; i < map.height(); ++i)
    for (int j = 0; j < map.width(); ++j) {
      if (!map.wall(i, j)) continue;
      const auto xy = cell_to_xy(i, j);
      world->append(geom({{"name", "block_" + std::to_string(i) + "_" + std::to_string(j)},
                          {"pos", triple(xy[0], xy[1], kMazeHeight * kMazeUnit / 2)},
                          {"size", triple(kMazeUnit / 2, kMazeUnit / 2, kMazeHeight * kMazeUnit / 2)},
                          {"type", "box"},
                          {"contype", "1"},
                          {"conaffinity", "1"},
                          {"material", "wall"}}));
    }
  // 2. Floor (a plane collides everywhere; this only changes rendering).
  xml::Node* floor = nullptr;
  for (xml::Node* g : world->children_named("geom"))
    if (const std::string* name = g->attribute("name"); name && *name == "floor") floor = g;
  if (floor == nullptr) throw DataError(base_xml + ": no geom named 'floor' in <worldbody>");
  const double w = map.width(), h = map.height();
  floor->set("pos", triple(kMazeUnit / 2 * (w - 3), kMazeUnit / 2 * (h - 3), 0));
  floor->set("size", triple(kMazeUnit / 2 * w, kMazeUnit / 2 * h, 0.2));
  // 3. Teleport discs (visual only).
  if (kind.map == MapName::Teleport) {
    const auto disc = [&](const std::string& name, const std::array<double, 2>& xy, const char* material) {
      world->append(geom({{"name", name},
                          {"type", "cylinder"},
                          {"size", "1 .05"},
                          {"pos", triple(xy[0], xy[1], 0.05)},
                          {"material", material},
                          {"contype", "0"},
                          {"conaffinity", "0"}}));
    };
    for (std::size_t k = 0; k < kTeleportIn.size(); ++k)
      disc("teleport_in_" + std::to_string(k), kTeleportIn[k], "teleport_in");
    for (std::size_t k = 0; k < kTeleportOut.size(); ++k)
      disc("teleport_out_" + std::to_string(k), kTeleportOut[k], "teleport_out");
  }
  // 4. Goal marker, moved to the goal at reset (visual only).
  world->append(geom({{"name", "target"},
                      {"type", "cylinder"},
                      {"size", ".5 .05"},
                      {"pos", "0 0 .05"},
                      {"material", "target"},
                      {"contype", "0"},
                      {"conaffinity", "0"}}));
  // 5. Ball (antsoccer): a sphere with the ant's geom defaults, priority 1, condim 6.
  if (kind.ball) {
    auto body = xml::Node::element("body");
    body->set("name", "ball");
    body->set("pos", "0 0 0.5");
    auto joint = xml::Node::element("freejoint");
    joint->set("name", "ball_root");
    body->append(std::move(joint));
    body->append(geom({{"name", "ball"},
                       {"size", ".25"},
                       {"material", "ball"},
                       {"priority", "1"},
                       {"conaffinity", "1"},
                       {"condim", "6"}}));
    auto light = xml::Node::element("light");
    light->set("name", "ball_light");
    light->set("pos", "0 0 4");
    light->set("mode", "trackcom");
    body->append(std::move(light));
    world->append(std::move(body));
  }
  return "<?xml version=\"1.0\"?>\n<!-- " + kind.label() + ": composed at run time from " + base_xml +
         " -->\n" + xml::serialize(*root);
}

ModelPtr load_model(const SceneKind& kind) {
  static std::mutex mutex;
  static std::map<std::string, manipspace::ModelPtr> compiled;
  const std::string base = find_asset(std::string("ogbench/locomaze/assets/") + base_file(kind.agent));
  const std::string key = base + "|" + kind.label();
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = compiled.find(key);
  if (it == compiled.end())
    it = compiled.emplace(key, manipspace::compile_mjcf(compose_mjcf(kind, base), kind.label())).first;
  ModelPtr copy(mj_copyModel(nullptr, it->second.get()));
  if (!copy) throw DataError(kind.label() + ": MuJoCo could not copy the compiled model");
  return copy;
}

}  // namespace dipole::locomaze
