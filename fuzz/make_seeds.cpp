// Writes the binary seed corpora of the fuzz targets (scripts/fuzz.sh runs it before fuzzing):
// valid .npy files of every dtype and layout, .npz archives (stored and deflated), ExORL episodes and
// OGBench files, made with the same writer as Dipole's datasets and checkpoints (OGBench files with
// the member order of the `ogbench` recorder). Usage: make_seeds <corpus-root>.
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dipole/sdk/npz.hpp"
#include "ogbench_tasks.hpp"

using dipole::npz::Array;
using dipole::npz::DType;

namespace {

Array make(DType dtype, std::vector<std::int64_t> shape) {
  Array a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(static_cast<std::size_t>(a.numel()) * dipole::npz::item_size(dtype));
  for (std::size_t i = 0; i < a.data.size(); ++i)
    a.data[i] =
        dtype == DType::Bool ? static_cast<std::uint8_t>(i % 2) : static_cast<std::uint8_t>(i * 37 % 61);
  return a;
}

Array floats(std::int64_t rows, std::int64_t cols, double value, bool f64 = false) {
  Array a;
  a.dtype = f64 ? DType::Float64 : DType::Float32;
  a.shape = {rows, cols};
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    std::uint8_t bytes[8];
    if (f64) {
      const double v = value * static_cast<double>(i % 5);
      std::memcpy(bytes, &v, 8);
      a.data.insert(a.data.end(), bytes, bytes + 8);
    } else {
      const float v = static_cast<float>(value * static_cast<double>(i % 5));
      std::memcpy(bytes, &v, 4);
      a.data.insert(a.data.end(), bytes, bytes + 4);
    }
  }
  return a;
}

/// A 3-episode × 5-row OGBench file of `category` (the layout of fuzz_ogbench.cpp): observations
/// and actions in [−1, 1], terminals on rows 4, 9, 14, the state of the default task's goal on rows 2
/// and 11 and its initial state elsewhere, so rewards and masks differ between rows.
std::vector<std::pair<std::string, Array>> ogbench_file(dipole::ogbench::Category category) {
  namespace og = dipole::ogbench;
  const og::CategoryInfo& c = og::info(category);
  const og::TaskSpec task = og::task_spec(category, c.default_task);
  constexpr int kRows = 15;
  std::vector<float> obs, act, qpos, qvel(static_cast<std::size_t>(kRows * c.nv), 0.0f);
  std::vector<std::uint8_t> term;
  std::vector<std::int64_t> buttons;
  for (int t = 0; t < kRows; ++t) {
    const bool goal = t == 2 || t == 11;
    for (int k = 0; k < c.obs_dim; ++k) obs.push_back(static_cast<float>((t + k) % 7) / 7.0f);
    for (int k = 0; k < c.act_dim; ++k) act.push_back(static_cast<float>((t + k) % 3 - 1));
    term.push_back(t % 5 == 4 ? 1 : 0);
    std::vector<float> q(static_cast<std::size_t>(c.nq), 0.0f);
    const auto& cubes = goal ? task.cube_goal : task.cube_init;
    for (std::size_t i = 0; i < cubes.size(); ++i)
      for (std::size_t k = 0; k < 3; ++k)
        q[og::kCubeQposBegin + og::kCubeQposStride * i + k] = static_cast<float>(cubes[i][k]);
    if (c.family == og::Family::Scene) {
      q[og::kSceneDrawerQpos] = static_cast<float>(goal ? task.drawer_goal : task.drawer_init);
      q[og::kSceneWindowQpos] = static_cast<float>(goal ? task.window_goal : task.window_init);
    }
    if (c.family == og::Family::Maze || c.family == og::Family::Soccer) {
      const auto& xy = goal && c.family == og::Family::Maze ? task.goal_xy : task.agent_init_xy;
      q[0] = static_cast<float>(xy[0]);
      q[1] = static_cast<float>(xy[1]);
    }
    if (c.family == og::Family::Soccer) {
      const auto& ball = goal ? task.goal_xy : task.ball_init_xy;
      q[og::kAntSoccerBallQposBegin] = static_cast<float>(ball[0]);
      q[og::kAntSoccerBallQposBegin + 1] = static_cast<float>(ball[1]);
    }
    qpos.insert(qpos.end(), q.begin(), q.end());
    const auto& b = goal ? task.button_goal : task.button_init;
    buttons.insert(buttons.end(), b.begin(), b.end());
  }
  const auto array = [](DType dtype, std::vector<std::int64_t> shape, const void* data, std::size_t bytes) {
    Array a;
    a.dtype = dtype;
    a.shape = std::move(shape);
    a.data.resize(bytes);
    std::memcpy(a.data.data(), data, bytes);
    return a;
  };
  std::vector<std::pair<std::string, Array>> file;
  file.emplace_back("observations", array(DType::Float32, {kRows, c.obs_dim}, obs.data(), 4 * obs.size()));
  file.emplace_back("actions", array(DType::Float32, {kRows, c.act_dim}, act.data(), 4 * act.size()));
  file.emplace_back("terminals", array(DType::Bool, {kRows}, term.data(), term.size()));
  file.emplace_back("qpos", array(DType::Float32, {kRows, c.nq}, qpos.data(), 4 * qpos.size()));
  file.emplace_back("qvel", array(DType::Float32, {kRows, c.nv}, qvel.data(), 4 * qvel.size()));
  if (c.num_buttons > 0)
    file.emplace_back("button_states",
                      array(DType::Int64, {kRows, c.num_buttons}, buttons.data(), 8 * buttons.size()));
  return file;
}

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::vector<std::uint8_t>& bytes,
               const std::string& prefix = "") {
  std::ofstream out(path, std::ios::binary);
  out << prefix;
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string root = argv[1];
  for (const char* d : {"", "/npy", "/npz", "/exorl", "/ogbench"}) mkdir((root + d).c_str(), 0755);
  int n = 0;
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int32,
                          DType::Int64,   DType::Bool,    DType::UInt8};
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {0}, {3}, {2, 3}, {2, 1, 2}};
  for (const DType dtype : dtypes)
    for (const auto& shape : shapes)
      write_all(root + "/npy/seed_" + std::to_string(n++) + ".npy",
                dipole::npz::serialize_npy(make(dtype, shape)));

  const std::string scratch = root + "/scratch.npz";
  n = 0;
  for (const bool compressed : {false, true}) {
    dipole::npz::write_npz(scratch, {{"a", make(DType::Float32, {2, 3})}}, compressed);
    write_all(root + "/npz/seed_" + std::to_string(n++) + ".npz", read_all(scratch));
    dipole::npz::write_npz(scratch,
                           {{"observations", make(DType::Float32, {4, 2})},
                            {"terminals", make(DType::Bool, {4})},
                            {"step", make(DType::Int64, {})}},
                           compressed);
    write_all(root + "/npz/seed_" + std::to_string(n++) + ".npz", read_all(scratch));
    // An ExORL episode of T = 5 (obs 3, action 2, physics 4), the layout of fuzz_exorl.cpp.
    dipole::npz::write_npz(scratch,
                           {{"observation", floats(6, 3, 0.5)},
                            {"action", floats(6, 2, 0.2)},
                            {"reward", floats(6, 1, 1.0)},
                            {"discount", floats(6, 1, 0.25)},
                            {"physics", floats(6, 4, 0.1, true)}},
                           compressed);
    write_all(root + "/exorl/seed_" + std::to_string(n) + ".bin", read_all(scratch), "episode_0_5.npz\n");
    write_all(root + "/exorl/seed_long_" + std::to_string(n) + ".bin", read_all(scratch),
              "episode_3_1000.npz\n");
  }
  // OGBench files of five families (cube, scene, puzzle, maze, soccer), stored and deflated, with the
  // name line of fuzz_ogbench.cpp (both reward timings, and max_rows cutting the second episode).
  using dipole::ogbench::Category;
  const std::pair<Category, const char*> ogbench[] = {
      {Category::CubeSingle, "cube-single-play-singletask-v0"},
      {Category::Scene, "scene-play-singletask-task2-v0 post"},
      {Category::Puzzle3x3, "puzzle-3x3-play-singletask-task4-v0 pre 12"},
      {Category::PointMazeMedium, "pointmaze-medium-navigate-singletask-v0 post 7"},
      {Category::AntSoccerArena, "antsoccer-arena-navigate-singletask-task1-v0"},
  };
  n = 0;
  for (const bool compressed : {false, true})
    for (const auto& [category, line] : ogbench) {
      dipole::npz::write_npz_ordered(scratch, ogbench_file(category), compressed);
      write_all(root + "/ogbench/seed_" + std::to_string(n++) + ".bin", read_all(scratch),
                std::string(line) + "\n");
    }
  std::remove(scratch.c_str());
  return 0;
}
