// The ExORL Jaco reaching tasks (plugins/benchmarks/dmc/README.md, "jaco"): ExORL's `MultiTaskReach` on
// dm_control's kinova arm and hand, re-stated for the MuJoCo 2.2.2 C API. Plain C++ and MuJoCo (no LibTorch).
//
// The model is composed at run time from the kinova files exactly as dm_control's composer would
// (plugins/benchmarks/dmc/README.md, "jaco"); it is not stored in the repository. The IK follows dm_control's
// `qpos_from_site_pose` with one deliberate shortcut: positions are refreshed with mj_kinematics + mj_comPos
// instead of mj_fwdPosition, which computes the same site pose and Jacobian without the mesh
// collisions (dm_control's collision results are never read inside the IK).
#include "jaco.hpp"

#include <mujoco/mujoco.h>

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tolerance.hpp"

namespace dipole::dmc {
namespace {

constexpr double kTwoPi = 2.0 * 3.141592653589793;  // 2·np.pi
constexpr int kArmJoints = 6;
constexpr int kFingers = 3;

// Reward targets (world frame, metres; plugins/benchmarks/dmc/README.md, "jaco"); ExORL also defines the two
// "bottom" ones, unused by the data.
struct NamedTarget {
  const char* name;
  std::array<double, 3> position;
};
constexpr std::array<NamedTarget, 2> kTargets = {{
    {"reach_top_left", {-0.09, 0.09, 0.001}},
    {"reach_top_right", {0.09, 0.09, 0.001}},
}};

// Reset (plugins/benchmarks/dmc/README.md, "jaco"): the TCP spawn box and the reset's sampling budget.
constexpr std::array<double, 3> kSpawnLow = {-0.2, -0.2, 0.02};
constexpr std::array<double, 3> kSpawnHigh = {0.2, 0.2, 0.4};
constexpr int kMaxRejectionSamples = 10;
constexpr int kMaxIkAttempts = 10;

// Compiled facts of the composed model (MuJoCo 2.2.2, measured), checked after every compile.
constexpr int kNumBodies = 17;
constexpr int kNumSensorData = 18;
constexpr double kTimestep = 0.002;
struct BodyMass {
  const char* body;
  double mass;
};
constexpr std::array<BodyMass, 14> kBodyMasses = {{{"b_base", 0.718306},
                                                   {"b_1", 0.643205},
                                                   {"b_2", 1.16915},
                                                   {"b_3", 0.673443},
                                                   {"b_4", 0.221432},
                                                   {"b_5", 0.221432},
                                                   {"b_6", 1e-5},
                                                   {"hand", 0.54719},
                                                   {"b_finger_1", 0.0255204},
                                                   {"b_finger_2", 0.0255204},
                                                   {"b_finger_3", 0.0255204},
                                                   {"b_finger_tip_1", 0.0132655},
                                                   {"b_finger_tip_2", 0.0132655},
                                                   {"b_finger_tip_3", 0.0132655}}};

constexpr const char* kArmRoot = "jaco_arm_attachment";
constexpr const char* kHandRoot = "jaco_hand_attachment";
constexpr const char* kPinchSite = "pinchsite";

// ---- MJCF text surgery --------------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot read the file (needed to compose the jaco model)");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string strip_comments(std::string text) {
  for (std::size_t begin = text.find("<!--"); begin != std::string::npos; begin = text.find("<!--", begin)) {
    const std::size_t end = text.find("-->", begin);
    text.erase(begin, end == std::string::npos ? std::string::npos : end + 3 - begin);
  }
  return text;
}

/// One element `<tag ...>...</tag>` (or `<tag .../>`) located in a text.
struct Element {
  std::size_t begin = 0;        ///< '<' of the opening tag
  std::size_t open_end = 0;     ///< one past the opening tag's '>'
  std::size_t close_begin = 0;  ///< '<' of the closing tag (= open_end if self-closing)
  std::size_t end = 0;          ///< one past the element
};

bool is_tag_at(const std::string& text, std::size_t pos, const std::string& tag) {
  if (text.compare(pos, tag.size() + 1, "<" + tag) != 0) return false;
  const char next = pos + tag.size() + 1 < text.size() ? text[pos + tag.size() + 1] : '\0';
  return next == ' ' || next == '>' || next == '/' || next == '\n' || next == '\t' || next == '\r';
}

/// The first element `tag` at or after `from`, with nested elements of the same tag matched.
std::optional<Element> find_element(const std::string& text, const std::string& tag, std::size_t from = 0) {
  std::size_t pos = from;
  while ((pos = text.find("<" + tag, pos)) != std::string::npos && !is_tag_at(text, pos, tag)) ++pos;
  if (pos == std::string::npos) return std::nullopt;
  Element element;
  element.begin = pos;
  const std::size_t gt = text.find('>', pos);
  if (gt == std::string::npos) return std::nullopt;
  element.open_end = gt + 1;
  if (text[gt - 1] == '/') {
    element.close_begin = element.end = element.open_end;
    return element;
  }
  int depth = 1;
  const std::string close = "</" + tag;
  for (std::size_t scan = element.open_end; scan < text.size();) {
    const std::size_t next_open = text.find("<" + tag, scan);
    const std::size_t next_close = text.find(close, scan);
    if (next_close == std::string::npos) return std::nullopt;
    if (next_open != std::string::npos && next_open < next_close && is_tag_at(text, next_open, tag)) {
      const std::size_t open_gt = text.find('>', next_open);
      if (open_gt == std::string::npos) return std::nullopt;
      if (text[open_gt - 1] != '/') ++depth;
      scan = open_gt + 1;
      continue;
    }
    if (next_open != std::string::npos && next_open < next_close) {
      scan = next_open + 1;
      continue;
    }
    if (--depth == 0) {
      element.close_begin = next_close;
      const std::size_t close_gt = text.find('>', next_close);
      if (close_gt == std::string::npos) return std::nullopt;
      element.end = close_gt + 1;
      return element;
    }
    scan = next_close + close.size();
  }
  return std::nullopt;
}

/// The content of the first element `tag` (outermost, if nested) of `text`, read from `path`;
/// DataError naming the file if there is none.
std::string inner(const std::string& text, const std::string& tag, const std::string& path) {
  const auto element = find_element(text, tag);
  if (!element) throw DataError(path + ": no <" + tag + "> element (needed to compose the jaco model)");
  return text.substr(element->open_end, element->close_begin - element->open_end);
}

/// The value of attribute `name` in the opening tag text `tag`, if present.
std::optional<std::string> attribute(const std::string& tag, const std::string& name) {
  for (std::size_t pos = tag.find(name + "="); pos != std::string::npos;
       pos = tag.find(name + "=", pos + 1)) {
    if (pos > 0 && tag[pos - 1] != ' ' && tag[pos - 1] != '\n' && tag[pos - 1] != '\t') continue;
    const std::size_t quote = pos + name.size() + 1;
    if (quote >= tag.size() || (tag[quote] != '"' && tag[quote] != '\'')) continue;
    const std::size_t end = tag.find(tag[quote], quote + 1);
    if (end == std::string::npos) return std::nullopt;
    return tag.substr(quote + 1, end - quote - 1);
  }
  return std::nullopt;
}

/// Position of the opening tag of the element of type `tag` whose name is `name`.
std::size_t find_named(const std::string& text, const std::string& tag, const std::string& name,
                       const std::string& path) {
  for (auto element = find_element(text, tag); element;
       element = find_element(text, tag, element->begin + 1)) {
    const std::string open = text.substr(element->begin, element->open_end - element->begin);
    if (attribute(open, "name") == name) return element->begin;
  }
  throw DataError(path + ": no <" + tag + " name=\"" + name + "\"> (needed to compose the jaco model)");
}

std::string number_list(const std::array<double, 3>& values) {
  std::ostringstream out;
  out.precision(17);
  out << values[0] << ' ' << values[1] << ' ' << values[2];
  return out.str();
}

// ---- model facts ---------------------------------------------------------------------------------

int id_of(const mjModel* m, mjtObj type, const std::string& name, const std::string& source) {
  const int id = mj_name2id(m, type, name.c_str());
  if (id < 0) throw DataError(source + ": the composed jaco model has no '" + name + "'");
  return id;
}

std::string joint_name(int i) {
  return i < kArmJoints ? "joint_" + std::to_string(i + 1) : "finger_" + std::to_string(i - kArmJoints + 1);
}

/// The compiled facts above (measured): sizes, joint order (qpos = dof = joint id = i), sensors, masses.
void check_compiled(const mjModel* m, const std::string& source) {
  const auto fail = [&source](const std::string& what) {
    throw DataError(
        source +
        ": the composed jaco model does not match the compiled facts of plugins/benchmarks/dmc/jaco.cpp: " +
        what);
  };
  if (m->nq != 9 || m->nv != 9 || m->na != 0 || m->nu != 9 || m->njnt != 9)
    fail("expected nq = nv = njnt = nu = 9, na = 0; got nq " + std::to_string(m->nq) + ", nv " +
         std::to_string(m->nv) + ", njnt " + std::to_string(m->njnt) + ", na " + std::to_string(m->na) +
         ", nu " + std::to_string(m->nu));
  if (m->nbody != kNumBodies || m->nsensor != kArmJoints || m->nsensordata != kNumSensorData)
    fail("expected nbody 17, nsensor 6, nsensordata 18; got nbody " + std::to_string(m->nbody) +
         ", nsensor " + std::to_string(m->nsensor) + ", nsensordata " + std::to_string(m->nsensordata));
  if (m->opt.timestep != kTimestep) fail("timestep " + std::to_string(m->opt.timestep) + ", expected 0.002");
  for (int i = 0; i < m->njnt; ++i) {
    const int joint = id_of(m, mjOBJ_JOINT, joint_name(i), source);
    if (joint != i || m->jnt_qposadr[i] != i || m->jnt_dofadr[i] != i || m->jnt_type[i] != mjJNT_HINGE)
      fail("joint '" + joint_name(i) + "' is not hinge number " + std::to_string(i) + " in qpos order");
    if (m->actuator_trntype[i] != mjTRN_JOINT || m->actuator_trnid[2 * static_cast<std::ptrdiff_t>(i)] != i)
      fail("actuator " + std::to_string(i) + " does not drive '" + joint_name(i) + "'");
  }
  for (int i = 0; i < kArmJoints; ++i) {
    const int sensor = id_of(m, mjOBJ_SENSOR, joint_name(i) + "_torque", source);
    if (sensor != i || m->sensor_type[i] != mjSENS_TORQUE || m->sensor_adr[i] != 3 * i ||
        m->site_bodyid[m->sensor_objid[i]] != m->jnt_bodyid[i])
      fail("sensor " + std::to_string(i) + " is not the torque sensor in the body of '" + joint_name(i) +
           "'");
  }
  for (const auto& [body, mass] : kBodyMasses) {
    const double got = m->body_mass[id_of(m, mjOBJ_BODY, body, source)];
    if (std::abs(got - mass) > 1e-9 * std::max(1.0, mass) + 1e-12)
      fail("body '" + std::string(body) + "' has mass " + std::to_string(got) + ", expected " +
           std::to_string(mass));
  }
  id_of(m, mjOBJ_SITE, kPinchSite, source);
}

// ---- small dense linear algebra (6 × 6) for the IK --------------------------------------------------

using Vec6 = std::array<double, 6>;
using Mat6 = std::array<double, 36>;  // row-major

/// Solves A x = b by Gaussian elimination with partial pivoting (as LAPACK gesv). False if singular.
bool solve_linear(Mat6 a, Vec6 b, Vec6& x) {
  constexpr int n = 6;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    if (a[pivot * n + col] == 0.0) return false;
    if (pivot != col) {
      for (int c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
      std::swap(b[col], b[pivot]);
    }
    for (int r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / a[col * n + col];
      for (int c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
      b[r] -= f * b[col];
    }
  }
  for (int r = n - 1; r >= 0; --r) {
    double s = b[r];
    for (int c = r + 1; c < n; ++c) s -= a[r * n + c] * x[c];
    x[r] = s / a[r * n + r];
  }
  return true;
}

}  // namespace

std::array<double, 6> min_norm_least_squares(const std::array<double, 36>& matrix,
                                             const std::array<double, 6>& rhs) {
  // One-sided Jacobi (Hestenes): rotate column pairs of A = J·V until all columns are orthogonal;
  // then A = U·Σ with σ_i = ‖a_i‖ and x = Σ over σ_i > ε·σ_max of v_i (a_iᵀ b) / σ_i². Working on J
  // itself, not on JᵀJ, keeps singular values down to ε·σ_max meaningful, as LAPACK's gelsd does.
  constexpr int n = 6;
  Mat6 a = matrix;
  Mat6 v{};
  for (int i = 0; i < n; ++i) v[i * n + i] = 1.0;
  const auto rotate = [](Mat6& m, int p, int q, double c, double sn) {
    for (int k = 0; k < n; ++k) {
      const double mp = m[k * n + p], mq = m[k * n + q];
      m[k * n + p] = c * mp - sn * mq;
      m[k * n + q] = sn * mp + c * mq;
    }
  };
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int p = 0; p < n - 1; ++p)
      for (int q = p + 1; q < n; ++q) {
        double alpha = 0.0, beta = 0.0, gamma = 0.0;
        for (int k = 0; k < n; ++k) {
          alpha += a[k * n + p] * a[k * n + p];
          beta += a[k * n + q] * a[k * n + q];
          gamma += a[k * n + p] * a[k * n + q];
        }
        if (gamma == 0.0 ||
            std::abs(gamma) <= std::numeric_limits<double>::epsilon() * std::sqrt(alpha * beta))
          continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double c = 1.0 / std::sqrt(1.0 + t * t);
        rotate(a, p, q, c, c * t);
        rotate(v, p, q, c, c * t);
      }
    if (!rotated) break;
  }
  std::array<double, n> sigma{};
  double largest = 0.0;
  for (int i = 0; i < n; ++i) {
    double norm2 = 0.0;
    for (int k = 0; k < n; ++k) norm2 += a[k * n + i] * a[k * n + i];
    sigma[static_cast<std::size_t>(i)] = std::sqrt(norm2);
    largest = std::max(largest, sigma[static_cast<std::size_t>(i)]);
  }
  const double cutoff = std::numeric_limits<double>::epsilon() * largest;  // NumPy rcond = −1
  Vec6 x{};
  for (int i = 0; i < n; ++i) {
    const double s_i = sigma[static_cast<std::size_t>(i)];
    if (s_i <= cutoff || s_i == 0.0) continue;
    double proj = 0.0;
    for (int k = 0; k < n; ++k) proj += a[k * n + i] * rhs[static_cast<std::size_t>(k)];
    for (int k = 0; k < n; ++k) x[static_cast<std::size_t>(k)] += v[k * n + i] * proj / (s_i * s_i);
  }
  return x;
}

namespace {

/// Position-stage kinematics the IK needs: site poses (mj_kinematics) and what mj_jacSite reads
/// (subtree centres and cdof, mj_comPos).
void refresh_kinematics(const mjModel* m, mjData* d) {
  mj_kinematics(m, d);
  mj_comPos(m, d);
}

double norm3(const double* v) {
  return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

/// Which part of the robot a body belongs to (the reset's collision test, plugins/benchmarks/dmc/README.md,
/// "jaco").
enum class Part { Arm, Hand, External };

struct RobotParts {
  std::vector<Part> geom_part;
  std::vector<bool> geom_on_free_body;  // external geoms whose top-level body has a free joint
};

RobotParts classify_geoms(const mjModel* m) {
  const int arm_root = mj_name2id(m, mjOBJ_BODY, kArmRoot);
  const int hand_root = mj_name2id(m, mjOBJ_BODY, kHandRoot);
  RobotParts parts;
  parts.geom_part.resize(static_cast<std::size_t>(m->ngeom), Part::External);
  parts.geom_on_free_body.resize(static_cast<std::size_t>(m->ngeom), false);
  for (int g = 0; g < m->ngeom; ++g) {
    int body = m->geom_bodyid[g];
    Part part = Part::External;
    int top = body;
    for (; body > 0; body = m->body_parentid[body]) {
      if (body == hand_root) {
        part = Part::Hand;
        break;
      }
      if (body == arm_root) {
        part = Part::Arm;
        break;
      }
      top = body;
    }
    parts.geom_part[static_cast<std::size_t>(g)] = part;
    if (part == Part::External && top > 0)
      for (int j = 0; j < m->body_jntnum[top]; ++j)
        if (m->jnt_type[m->body_jntadr[top] + j] == mjJNT_FREE)
          parts.geom_on_free_body[static_cast<std::size_t>(g)] = true;
  }
  return parts;
}

/// dm_control's `_has_relevant_collisions`: a penetrating contact arm–arm, arm–hand, or robot–external
/// body without a free joint (hand–hand contacts do not count).
bool has_relevant_collisions(const mjData* d, const RobotParts& parts) {
  const auto external_fixed = [&parts](int g) {
    const auto i = static_cast<std::size_t>(g);
    return parts.geom_part[i] == Part::External && !parts.geom_on_free_body[i];
  };
  for (int c = 0; c < d->ncon; ++c) {
    const mjContact& contact = d->contact[c];
    if (contact.dist > 0) continue;
    const Part a = parts.geom_part[static_cast<std::size_t>(contact.geom1)];
    const Part b = parts.geom_part[static_cast<std::size_t>(contact.geom2)];
    const bool robot_a = a != Part::External, robot_b = b != Part::External;
    if ((a == Part::Arm && b != Part::External) || (b == Part::Arm && a != Part::External)) return true;
    if ((robot_a && external_fixed(contact.geom2)) || (robot_b && external_fixed(contact.geom1))) return true;
  }
  return false;
}

/// Sampling interval of arm joint i: its range if limited, else [0, 2π] (dm_control's RobotArm).
std::pair<double, double> sampling_interval(const mjModel* m, std::ptrdiff_t joint) {
  if (m->jnt_limited[joint]) return {m->jnt_range[2 * joint], m->jnt_range[2 * joint + 1]};
  return {0.0, kTwoPi};
}

}  // namespace

// ---- model ---------------------------------------------------------------------------------------

std::string jaco_model_xml(const std::string& kinova_dir, const std::array<double, 3>& target) {
  const std::string common_path = kinova_dir + "/common.xml";
  const std::string arm_path = kinova_dir + "/jaco_arm.xml";
  const std::string hand_path = kinova_dir + "/jaco_hand.xml";
  const std::string common = strip_comments(read_text(common_path));
  const std::string arm = strip_comments(read_text(arm_path));
  const std::string hand = strip_comments(read_text(hand_path));

  // Arm worldbody: a torque site in each joint's body (b_1 … b_6), and the hand at the wrist site.
  std::string arm_body = inner(arm, "worldbody", arm_path);
  const std::size_t wrist = find_named(arm_body, "site", "wristsite", arm_path);
  const std::size_t wrist_end = arm_body.find('>', wrist) + 1;
  const std::string wrist_tag = arm_body.substr(wrist, wrist_end - wrist);
  const std::string hand_attachment =
      std::string("<body name=\"") + kHandRoot + "\" pos=\"" + attribute(wrist_tag, "pos").value_or("0 0 0") +
      "\" quat=\"" + attribute(wrist_tag, "quat").value_or("1 0 0 0") + "\" childclass=\"jaco_hand\">" +
      inner(hand, "worldbody", hand_path) + "</body>";
  arm_body.insert(wrist_end, hand_attachment);
  for (int i = 1; i <= kArmJoints; ++i) {
    const std::string body = "b_" + std::to_string(i);
    const std::size_t open = find_named(arm_body, "body", body, arm_path);
    const std::size_t open_end = arm_body.find('>', open) + 1;
    const std::string joint = "joint_" + std::to_string(i);
    const std::size_t joint_at = find_named(arm_body, "joint", joint, arm_path);
    if (joint_at < open_end || joint_at > arm_body.find("<body", open_end))
      throw DataError(arm_path + ": joint '" + joint + "' is not in body '" + body + "'");
    arm_body.insert(open_end, "<site name=\"" + joint + "_site\" size=\"0.001\" group=\"4\"/>");
  }

  const std::string common_defaults = inner(common, "default", common_path);
  std::ostringstream xml;
  xml.precision(17);
  xml << "<mujoco model=\"jaco_reach\">\n"
      << "<compiler angle=\"radian\" eulerseq=\"xyz\" coordinate=\"local\" boundmass=\"1e-05\" "
         "boundinertia=\"1e-11\" meshdir=\""
      << kinova_dir << "/meshes_decimated/\"/>\n"
      << "<option timestep=\"0.002\" cone=\"elliptic\" noslip_iterations=\"5\" noslip_tolerance=\"0\"/>\n"
      << "<asset>" << inner(common, "asset", common_path) << inner(arm, "asset", arm_path)
      << inner(hand, "asset", hand_path) << "</asset>\n"
      << "<default>\n"
      << "<default class=\"jaco_arm_common\">" << common_defaults << "<default class=\"jaco_arm\">"
      << inner(arm, "default", arm_path) << "</default></default>\n"
      << "<default class=\"jaco_hand_common\">" << common_defaults << "<default class=\"jaco_hand\">"
      << inner(hand, "default", hand_path) << "</default></default>\n"
      << "</default>\n"
      << "<worldbody>\n"
      << "<geom name=\"ground\" type=\"plane\" size=\"1 1 0.1\" friction=\"0.4\" solimp=\"0.95 0.99 0.001\" "
         "solref=\"0.002 1\"/>\n"
      << "<site name=\"target_site\" type=\"sphere\" size=\"0.05\" rgba=\"0 1 0 0.3\" pos=\""
      << number_list(target) << "\"/>\n"
      << "<body name=\"" << kArmRoot << "\" pos=\"0 0.4 0\" childclass=\"jaco_arm\">" << arm_body
      << "</body>\n"
      << "</worldbody>\n"
      << "<contact>" << inner(arm, "contact", arm_path) << inner(hand, "contact", hand_path) << "</contact>\n"
      << "<actuator>\n";
  for (int i = 0; i < kArmJoints + kFingers; ++i) {
    const bool large = i < 3, finger = i >= kArmJoints;
    // ±36°/s and ±48°/s as np.deg2rad computes them; torques 30.5 / 6.8 N·m; fingers kv 10, ±5, ±1.
    const double velocity = finger ? 5.0 : (large ? 36.0 : 48.0) * (3.141592653589793 / 180.0);
    const double force = finger ? 1.0 : (large ? 30.5 : 6.8);
    xml << "<velocity name=\"" << joint_name(i) << "\" joint=\"" << joint_name(i) << "\" kv=\""
        << (finger ? 10 : 500) << "\" ctrllimited=\"true\" ctrlrange=\"" << -velocity << ' ' << velocity
        << "\" forcelimited=\"true\" forcerange=\"" << -force << ' ' << force << "\"/>\n";
  }
  xml << "</actuator>\n<sensor>\n";
  for (int i = 0; i < kArmJoints; ++i)
    xml << "<torque name=\"" << joint_name(i) << "_torque\" site=\"" << joint_name(i) << "_site\"/>\n";
  xml << "</sensor>\n</mujoco>\n";
  return xml.str();
}

Physics load_jaco_physics(const std::string& kinova_dir, const std::array<double, 3>& target) {
  const std::string source = kinova_dir + "/{common,jaco_arm,jaco_hand}.xml";
  Physics physics = Physics::load_xml_text(jaco_model_xml(kinova_dir, target), source);
  check_compiled(physics.model(), source);
  return physics;
}

// ---- inverse kinematics ----------------------------------------------------------------------------

IkResult jaco_pinch_site_ik(Physics& physics, const std::array<double, 3>& position,
                            const std::array<double, 4>& quat) {
  constexpr double kTolerance = 1e-14, kRegularizationThreshold = 0.1, kRegularizationStrength = 3e-2;
  constexpr double kMaxUpdateNorm = 2.0, kProgressThreshold = 20.0, kRotWeight = 2.0;
  constexpr int kMaxSteps = 100;
  const mjModel* m = physics.model();
  mjData* d = physics.data();
  const int site = mj_name2id(m, mjOBJ_SITE, kPinchSite);
  const auto nv = static_cast<std::size_t>(m->nv);
  std::vector<mjtNum> jacp(3 * nv), jacr(3 * nv), update(nv, 0.0);

  refresh_kinematics(m, d);
  IkResult result;
  for (int step = 0; step < kMaxSteps; ++step) {
    result.iterations = step + 1;
    Vec6 err{};
    for (int k = 0; k < 3; ++k) err[k] = position[k] - d->site_xpos[3 * site + k];
    mjtNum site_quat[4], neg_site_quat[4], err_quat[4], target_quat[4] = {quat[0], quat[1], quat[2], quat[3]};
    mju_mat2Quat(site_quat, d->site_xmat + 9 * static_cast<std::ptrdiff_t>(site));
    mju_negQuat(neg_site_quat, site_quat);
    mju_mulQuat(err_quat, target_quat, neg_site_quat);
    mju_quat2Vel(err.data() + 3, err_quat, 1.0);
    const double err_norm = norm3(err.data()) + kRotWeight * norm3(err.data() + 3);
    result.error = err_norm;
    if (err_norm < kTolerance) {
      result.success = true;
      return result;
    }
    mj_jacSite(m, d, jacp.data(), jacr.data(), site);
    // J [6, 6]: translational rows, then rotational rows; columns = arm dofs 0…5 (checked at load).
    Mat6 jac{};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < kArmJoints; ++c) {
        jac[r * 6 + c] = jacp[static_cast<std::size_t>(r) * nv + static_cast<std::size_t>(c)];
        jac[(r + 3) * 6 + c] = jacr[static_cast<std::size_t>(r) * nv + static_cast<std::size_t>(c)];
      }
    Vec6 delta{};
    if (err_norm > kRegularizationThreshold) {  // damped least squares: (JᵀJ + λI) Δ = Jᵀe
      Mat6 hess{};
      Vec6 grad{};
      for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 6; ++j) {
          double s = 0.0;
          for (int k = 0; k < 6; ++k) s += jac[k * 6 + i] * jac[k * 6 + j];
          hess[i * 6 + j] = s + (i == j ? kRegularizationStrength : 0.0);
        }
        double g = 0.0;
        for (int k = 0; k < 6; ++k) g += jac[k * 6 + i] * err[k];
        grad[i] = g;
      }
      if (!solve_linear(hess, grad, delta)) return result;  // cannot happen: JᵀJ + λI is positive definite
    } else {
      delta = min_norm_least_squares(jac, err);  // dm_control: lstsq(J, e, rcond=-1)
    }
    double update_norm = 0.0;
    for (const double x : delta) update_norm += x * x;
    update_norm = std::sqrt(update_norm);
    if (err_norm / update_norm > kProgressThreshold) return result;  // not making progress
    const double scale = update_norm > kMaxUpdateNorm ? kMaxUpdateNorm / update_norm : 1.0;
    for (int i = 0; i < kArmJoints; ++i) update[static_cast<std::size_t>(i)] = delta[i] * scale;
    mj_integratePos(m, d->qpos, update.data(), 1.0);
    refresh_kinematics(m, d);
  }
  return result;
}

// ---- the task --------------------------------------------------------------------------------------

double jaco_reach_reward(double distance) {
  return static_cast<double>(
      static_cast<float>(tolerance(distance, 0.0, 0.05, 0.05, Sigmoid::Gaussian, 0.1)));
}

JacoTask::JacoTask(std::string name, const std::array<double, 3>& target)
    : name_(std::move(name)), target_(target) {}

Physics JacoTask::make_physics() const {
  const std::string arm = find_asset(std::string(kJacoAssetDir) + "/jaco_arm.xml");
  return load_jaco_physics(std::filesystem::path(arm).parent_path().string(), target_);
}

void JacoTask::initialize_episode(Physics& physics, Random& random) const {
  initialize_episode_with_stats(physics, random);
}

JacoResetStats JacoTask::initialize_episode_with_stats(Physics& physics, Random& random) const {
  const mjModel* m = physics.model();
  mjData* d = physics.data();
  JacoResetStats stats;

  // 1. Grasp: one close factor for all fingers, qpos = lo + (hi − lo)·c; finger targets 0.
  const double close = random.uniform();
  for (std::ptrdiff_t f = kArmJoints; f < kArmJoints + kFingers; ++f)
    d->qpos[f] = m->jnt_range[2 * f] + (m->jnt_range[2 * f + 1] - m->jnt_range[2 * f]) * close;
  physics.forward_without_actuation();
  for (int f = kArmJoints; f < kArmJoints + kFingers; ++f) d->ctrl[f] = 0.0;

  // 2. TCP placement: rejection sampling over spawn positions, IK attempts from random joints.
  std::array<double, kArmJoints> initial{};
  std::copy(d->qpos, d->qpos + kArmJoints, initial.begin());
  const RobotParts parts = classify_geoms(m);
  for (int sample = 0; sample < kMaxRejectionSamples; ++sample) {
    ++stats.samples;
    std::array<double, 3> tcp{};
    for (int k = 0; k < 3; ++k)
      tcp[static_cast<std::size_t>(k)] = random.uniform(kSpawnLow[k], kSpawnHigh[k]);
    bool success = false;
    for (int attempt = 0; attempt < kMaxIkAttempts; ++attempt) {
      ++stats.ik_attempts;
      success = jaco_pinch_site_ik(physics, tcp, kJacoDownQuat).success;
      if (success)
        for (int j = 0; j < kArmJoints; ++j) {  // canonicalise into the sampling interval
          const auto [lo, hi] = sampling_interval(m, j);
          double& q = d->qpos[j];
          while (q >= hi) q -= kTwoPi;
          while (q < lo) {
            q += kTwoPi;
            if (q > hi) {
              success = false;
              break;
            }
          }
        }
      if (success) break;
      ++stats.failed_ik_attempts;
      for (int j = 0; j < kArmJoints; ++j) {
        const auto [lo, hi] = sampling_interval(m, j);
        d->qpos[j] = random.uniform(lo, hi);
      }
    }
    if (success) {
      mj_forward(m, d);  // contacts of the solution
      if (!has_relevant_collisions(d, parts)) return stats;
      ++stats.rejected_samples;
    }
    std::copy(initial.begin(), initial.end(), d->qpos);
  }
  throw NumericError(physics.source() +
                     ": jaco reset found no collision-free arm pose with the pinch site in " +
                     "the spawn box after " + std::to_string(kMaxRejectionSamples) + " samples x " +
                     std::to_string(kMaxIkAttempts) + " IK attempts (" +
                     std::to_string(stats.rejected_samples) + " rejected for contacts)");
}

void JacoTask::observation(const Physics& physics, float* out) const {
  const mjModel* m = physics.model();
  const mjData* d = physics.data();
  const int site = mj_name2id(m, mjOBJ_SITE, kPinchSite);
  for (int j = 0; j < kArmJoints; ++j) {  // arm joints_pos: (sin, cos) pairs
    *out++ = static_cast<float>(std::sin(d->qpos[j]));
    *out++ = static_cast<float>(std::cos(d->qpos[j]));
  }
  for (int j = 0; j < kArmJoints; ++j) {  // arm joints_torque: symlog1p of the torque about the axis
    const mjtNum* sensor = d->sensordata + m->sensor_adr[j];
    const mjtNum* axis = m->jnt_axis + 3 * static_cast<std::ptrdiff_t>(j);
    const double torque = sensor[0] * axis[0] + sensor[1] * axis[1] + sensor[2] * axis[2];
    const double sign = static_cast<double>((torque > 0) - (torque < 0));
    *out++ = static_cast<float>(sign * std::log1p(std::abs(torque)));
  }
  for (int j = 0; j < kArmJoints; ++j) *out++ = static_cast<float>(d->qvel[j]);             // arm joints_vel
  for (int f = 0; f < kFingers; ++f) *out++ = static_cast<float>(d->qpos[kArmJoints + f]);  // hand joints_pos
  for (int f = 0; f < kFingers; ++f) *out++ = static_cast<float>(d->qvel[kArmJoints + f]);  // hand joints_vel
  for (int k = 0; k < 3; ++k) *out++ = static_cast<float>(d->site_xpos[3 * site + k]);      // pinch_site_pos
  for (int k = 0; k < 9; ++k) *out++ = static_cast<float>(d->site_xmat[9 * site + k]);      // pinch_site_rmat
}

double JacoTask::reward(const Physics& physics) const {
  const mjData* d = physics.data();
  const std::ptrdiff_t site = mj_name2id(physics.model(), mjOBJ_SITE, kPinchSite);
  const mjtNum* tcp = d->site_xpos + 3 * site;
  const double delta[3] = {tcp[0] - target_[0], tcp[1] - target_[1], tcp[2] - target_[2]};
  return jaco_reach_reward(norm3(delta));
}

double JacoTask::reward_from_state_kinematics(Physics& physics, const double* state) const {
  physics.set_state(state);
  mj_kinematics(physics.model(), physics.data());
  return reward(physics);
}

std::unique_ptr<Task> make_jaco_task(const std::string& task) {
  for (const auto& target : kTargets)
    if (task == target.name) return std::make_unique<JacoTask>(target.name, target.position);
  return nullptr;
}

std::vector<std::string> jaco_task_names() {
  std::vector<std::string> names;
  names.reserve(kTargets.size());
  for (const auto& target : kTargets) names.emplace_back(target.name);
  return names;
}

}  // namespace dipole::dmc
