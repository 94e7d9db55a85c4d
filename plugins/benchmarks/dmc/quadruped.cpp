// The DeepMind Control Suite quadruped (walk, run) as a Task: plugins/benchmarks/dmc/README.md, "quadruped"
// (which restates dm_control's suite/quadruped.py). The model is suite/quadruped.xml edited at load time
// (plugins/benchmarks/dmc/README.md, "quadruped"): the text is edited here (MuJoCo 2.2.2 has no model-editing
// API), its includes inlined, and the result compiled from memory; the assets folder is never written.
// MuJoCo-only.
#include <mujoco/mujoco.h>

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>

#include "dmc_task.hpp"
#include "task_factories.hpp"
#include "tolerance.hpp"

namespace dipole::dmc {
namespace {

// ---- MJCF text editing (enough for dm_control's hand-written suite files) ---------------------------

struct Span {
  std::size_t begin = std::string::npos, end = std::string::npos;  // [begin, end) of the element
  bool found() const { return begin != std::string::npos; }
};

/// The value of attribute `attribute` in the opening tag `tag` (text between '<' and '>'), or "".
std::string attribute_value(const std::string& tag, const std::string& attribute) {
  const std::string key = " " + attribute + "=\"";
  const std::size_t at = tag.find(key);
  if (at == std::string::npos) return {};
  const std::size_t start = at + key.size();
  return tag.substr(start, tag.find('"', start) - start);
}

/// The first element `<name ...>` at or after `from` whose attribute `attribute` equals `value`
/// (any element `<name` when `attribute` is empty), including its children and closing tag.
Span find_element(const std::string& xml, const std::string& name, const std::string& attribute,
                  const std::string& value, std::size_t from = 0) {
  const std::string open = "<" + name;
  for (std::size_t at = xml.find(open, from); at != std::string::npos; at = xml.find(open, at + 1)) {
    const char next = xml[at + open.size()];
    if (next != ' ' && next != '\n' && next != '\t' && next != '/' && next != '>') continue;  // a longer name
    const std::size_t tag_end = xml.find('>', at);
    if (tag_end == std::string::npos) break;
    const std::string tag = xml.substr(at, tag_end - at);
    if (!attribute.empty() && attribute_value(tag, attribute) != value) continue;
    if (xml[tag_end - 1] == '/') return {at, tag_end + 1};  // <name .../>
    int depth = 1;  // find the matching </name>, counting nested <name> elements
    const std::string close = "</" + name + ">";
    for (std::size_t pos = tag_end + 1; pos < xml.size();) {
      const std::size_t next_open = xml.find(open, pos), next_close = xml.find(close, pos);
      if (next_close == std::string::npos) return {};
      if (next_open != std::string::npos && next_open < next_close) {
        const std::size_t inner_end = xml.find('>', next_open);
        if (xml[inner_end - 1] != '/') ++depth;
        pos = inner_end + 1;
      } else if (--depth == 0) {
        return {at, next_close + close.size()};
      } else {
        pos = next_close + close.size();
      }
    }
    return {};
  }
  return {};
}

/// Deletes the element `<name attribute="value">`; DataError naming `source` when it is absent.
void remove_element(std::string& xml, const std::string& name, const std::string& attribute,
                    const std::string& value, const std::string& source) {
  const Span span = find_element(xml, name, attribute, value);
  if (!span.found())
    throw DataError(source + ": no <" + name + " " + attribute + "=\"" + value +
                    "\"> to delete (not the dm_control quadruped model?)");
  xml.erase(span.begin, span.end - span.begin);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Replaces every `<include file="..."/>` by the children of the included file's <mujoco> root,
/// as MuJoCo's own include does; paths are relative to `dir`.
void inline_includes(std::string& xml, const std::filesystem::path& dir, const std::string& source) {
  for (Span span = find_element(xml, "include", "", ""); span.found();
       span = find_element(xml, "include", "", "")) {
    const std::string file = attribute_value(xml.substr(span.begin, span.end - span.begin), "file");
    const std::string path = (dir / file).string();
    const std::string included = read_text(path);
    const Span root = find_element(included, "mujoco", "", "");
    const std::size_t body = root.found() ? included.find('>', root.begin) + 1 : std::string::npos;
    const std::size_t body_end = root.found() ? included.rfind("</mujoco>", root.end) : std::string::npos;
    if (!root.found() || body_end == std::string::npos || body_end < body)
      throw DataError(path + " (included by " + source + "): no <mujoco> root element");
    xml.replace(span.begin, span.end - span.begin, included.substr(body, body_end - body));
  }
}

// ---- the task ----------------------------------------------------------------------------------------

/// Reward (plugins/benchmarks/dmc/README.md, "quadruped"): r = upright · move with upright = tolerance(z_z;
/// 1, ∞, margin 2, linear, 0) = (1 + z_z)/2 and move = tolerance(v_x; s, ∞, margin s, linear, 0.5); z_z:
/// torso xmat zz, v_x: velocimeter x.
double quadruped_reward(double speed, double torso_zz, double torso_velocity_x) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const double deviation = 1.0;  // cos 0: "upright with deviation angle 0"
  const double upright = tolerance(torso_zz, deviation, kInf, 1.0 + deviation, Sigmoid::Linear, 0.0);
  const double move = tolerance(torso_velocity_x, speed, kInf, speed, Sigmoid::Linear, 0.5);
  return upright * move;
}

class Quadruped final : public Task {
 public:
  static constexpr const char* kModelAsset = "dm_control/suite/quadruped.xml";
  static constexpr int kTorso = 1;  // body id
  static constexpr int kNumHinges = 16;
  static constexpr int kNumActuators = 12;
  static constexpr int kHeightAttempts =
      10000;  // reset height search (plugins/benchmarks/dmc/README.md, "quadruped")
  // sensordata addresses (plugins/benchmarks/dmc/README.md, "quadruped")
  static constexpr int kAccelerometer = 0, kGyro = 3, kVelocimeter = 6, kForceTorque = 9,
                       kForceTorqueSize = 24;

  explicit Quadruped(const std::string& task)
      : name_(task), speed_(task == "run" ? 5.0 : 0.5), floor_size_(task == "run" ? "100" : "10") {}

  std::string domain() const override { return "quadruped"; }
  std::string name() const override { return name_; }
  int obs_dim() const override { return 78; }  // 44 + 3 + 1 + 6 + 24
  int action_dim() const override { return kNumActuators; }
  int physics_steps_per_action() const override { return 4; }   // control timestep 0.02 s
  std::int64_t episode_steps() const override { return 1000; }  // 20 s

  /// Model edits (plugins/benchmarks/dmc/README.md, "quadruped"): floor size F F .5 (F = 10 walk, 100 run),
  /// no walls, ball, target site, terrain geom or rangefinder sensors; checked against the compiled sizes.
  Physics make_physics() const override {
    const std::string path = find_asset(kModelAsset);
    std::string xml = read_text(path);
    inline_includes(xml, std::filesystem::path(path).parent_path(), path);
    const Span floor = find_element(xml, "geom", "name", "floor");
    if (!floor.found()) throw DataError(path + ": no geom 'floor' (not the dm_control quadruped model?)");
    const std::string floor_tag = xml.substr(floor.begin, floor.end - floor.begin);
    const std::string old_size = attribute_value(floor_tag, "size");
    if (old_size.empty()) throw DataError(path + ": geom 'floor' has no size attribute");
    const std::size_t size_at = xml.find(" size=\"" + old_size + "\"", floor.begin);
    xml.replace(size_at, 8 + old_size.size(), " size=\"" + floor_size_ + " " + floor_size_ + " .5\"");
    for (const char* wall : {"wall_px", "wall_py", "wall_nx", "wall_ny"})
      remove_element(xml, "geom", "name", wall, path);
    remove_element(xml, "body", "name", "ball", path);
    remove_element(xml, "site", "name", "target", path);
    remove_element(xml, "geom", "name", "terrain", path);
    for (Span s = find_element(xml, "rangefinder", "", ""); s.found();
         s = find_element(xml, "rangefinder", "", ""))
      xml.erase(s.begin, s.end - s.begin);

    Physics physics = Physics::load_xml_text(
        xml, path + " (edited at load time as plugins/benchmarks/dmc/README.md describes)");
    const mjModel* m = physics.model();
    if (m->nq != 23 || m->nv != 22 || m->na != 12 || m->nu != 12 || m->nbody != 18 || m->nsensor != 12 ||
        m->nsensordata != 36 || m->opt.timestep != 0.005 || m->jnt_type[0] != mjJNT_FREE ||
        mj_name2id(m, mjOBJ_BODY, "torso") != kTorso || m->sensor_type[0] != mjSENS_ACCELEROMETER ||
        m->sensor_type[1] != mjSENS_GYRO || m->sensor_type[2] != mjSENS_VELOCIMETER ||
        m->sensor_adr[3] != kForceTorque)
      throw DataError(
          physics.source() +
          ": compiled sizes differ from those of plugins/benchmarks/dmc/README.md, quadruped (expected nq "
          "23, nv 22, na "
          "12, nu 12, "
          "nbody 18, nsensor 12, nsensordata 36, timestep 0.005, accelerometer, gyro, velocimeter "
          "first; got nq " +
          std::to_string(m->nq) + ", nv " + std::to_string(m->nv) + ", na " + std::to_string(m->na) +
          ", nu " + std::to_string(m->nu) + ", nbody " + std::to_string(m->nbody) + ", nsensordata " +
          std::to_string(m->nsensordata) + ")");
    return physics;
  }

  /// Reset (plugins/benchmarks/dmc/README.md, "quadruped"): a uniformly random orientation (4 normals,
  /// normalised), then the lowest height, in 1 cm steps from 0, at which the body touches nothing; hinges,
  /// velocities and act stay 0.
  void initialize_episode(Physics& physics, Random& random) const override {
    double quat[4];
    for (double& q : quat) q = random.normal();
    const double norm =
        std::sqrt(quat[0] * quat[0] + quat[1] * quat[1] + quat[2] * quat[2] + quat[3] * quat[3]);
    for (double& q : quat) q /= norm;
    mjData* d = physics.data();
    double z = 0.0;
    for (int attempt = 0;; ++attempt) {
      if (attempt == kHeightAttempts)
        throw NumericError(physics.source() + ": no non-contacting start height found in " +
                           std::to_string(kHeightAttempts) + " attempts");
      physics.reset_data();  // dm_control ignores warnings (a full contact buffer) in this search
      physics.forward_without_actuation();
      d->qpos[0] = 0.0;
      d->qpos[1] = 0.0;
      d->qpos[2] = z;
      for (int i = 0; i < 4; ++i) d->qpos[3 + i] = quat[i];
      physics.forward_without_actuation();
      if (d->ncon == 0) break;
      z += 0.01;
    }
  }

  /// Observation (plugins/benchmarks/dmc/README.md, "quadruped"): hinge qpos, hinge qvel, act, velocimeter,
  /// torso zz, accelerometer, gyro, asinh(force/torque sensors); double → float32.
  void observation(const Physics& physics, float* out) const override {
    const mjData* d = physics.data();
    for (int i = 0; i < kNumHinges; ++i) *out++ = static_cast<float>(d->qpos[7 + i]);
    for (int i = 0; i < kNumHinges; ++i) *out++ = static_cast<float>(d->qvel[6 + i]);
    for (int i = 0; i < kNumActuators; ++i) *out++ = static_cast<float>(d->act[i]);
    for (int i = 0; i < 3; ++i) *out++ = static_cast<float>(d->sensordata[kVelocimeter + i]);
    *out++ = static_cast<float>(d->xmat[9 * kTorso + 8]);
    for (int i = 0; i < 3; ++i) *out++ = static_cast<float>(d->sensordata[kAccelerometer + i]);
    for (int i = 0; i < 3; ++i) *out++ = static_cast<float>(d->sensordata[kGyro + i]);
    for (int i = 0; i < kForceTorqueSize; ++i)
      *out++ = static_cast<float>(std::asinh(d->sensordata[kForceTorque + i]));
  }

  double reward(const Physics& physics) const override {
    const mjData* d = physics.data();
    return quadruped_reward(speed_, d->xmat[9 * kTorso + 8], d->sensordata[kVelocimeter]);
  }

 private:
  std::string name_;
  double speed_;            // m/s at which `move` saturates: 0.5 walk, 5 run
  std::string floor_size_;  // visual only (a plane collides as an infinite plane)
};

}  // namespace

std::unique_ptr<Task> make_quadruped_task(const std::string& task) {
  return std::make_unique<Quadruped>(task);
}

}  // namespace dipole::dmc
