// Flat MJCF assembly (see model_builder.hpp). The steps follow docs/ogbench.md, "Manipulation: scene model
// and physics", and plugins/benchmarks/manipspace/README.md, "The model, built at run time"; the merge rules
// (defaults under a prefix class, compiler/option attributes copied into the root) are those of dm_control's
// mjcf attach/include_copy.
#include "model_builder.hpp"

#include <dipole/errors.hpp>
#include <dipole/sdk/assets.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "xml_dom.hpp"

namespace dipole::manipspace {
namespace {

namespace fs = std::filesystem;
using xml::Node;

constexpr const char* kArena = "floor_wall.xml";
constexpr const char* kUr5e = "universal_robots_ur5e/ur5e.xml";
constexpr const char* kGripper = "robotiq_2f85/2f85.xml";

/// Attributes that hold the name of another element (or the element's own name) and so take the
/// namespace prefix of an attached model.
bool is_reference(const std::string& key) {
  static const std::set<std::string> kKeys = {"name",  "class",   "childclass", "mesh",     "material",
                                              "joint", "joint1",  "joint2",     "tendon",   "body1",
                                              "body2", "texture", "site",       "body",     "geom1",
                                              "geom2", "target",  "hfield",     "actuator", "objname"};
  return kKeys.count(key) != 0;
}

std::string stem(const std::string& file) {
  return fs::path(file).stem().string();
}

/// Give every unnamed mesh its implicit name (the file stem), rewrite file paths to absolute ones
/// under `asset_dir` and drop meshes whose file is missing (docs/ogbench.md, "Manipulation: scene model and
/// physics"). Returns the dropped names.
std::set<std::string> resolve_files(Node& root, const fs::path& asset_dir) {
  std::set<std::string> dropped;
  for (Node* asset : root.children_named("asset")) {
    auto& kids = asset->children;
    for (auto it = kids.begin(); it != kids.end();) {
      Node& element = **it;
      if (element.type == Node::Type::Element && element.has("file")) {
        const fs::path path = asset_dir / *element.attribute("file");
        if (element.name == "mesh" && !element.has("name"))
          element.set("name", stem(*element.attribute("file")));
        if (!fs::exists(path)) {
          if (element.name != "mesh")
            throw DataError(path.string() + ": missing asset file (referenced by <" + element.name + ">)");
          dropped.insert(*element.attribute("name"));
          it = kids.erase(it);
          continue;
        }
        element.set("file", path.lexically_normal().string());
      }
      ++it;
    }
  }
  return dropped;
}

/// Remove geoms that use a dropped mesh (anywhere below `node`).
void drop_geoms_using(Node& node, const std::set<std::string>& meshes) {
  if (meshes.empty()) return;
  auto& kids = node.children;
  for (auto it = kids.begin(); it != kids.end();) {
    Node& c = **it;
    if (c.type == Node::Type::Element && c.name == "geom" && c.has("mesh") &&
        meshes.count(*c.attribute("mesh"))) {
      it = kids.erase(it);
      continue;
    }
    drop_geoms_using(c, meshes);
    ++it;
  }
}

void prefix_references(Node& node, const std::string& prefix) {
  if (node.type != Node::Type::Element) return;
  for (auto& [key, value] : node.attributes)
    if (is_reference(key) && !value.empty()) value = prefix + value;
  for (auto& c : node.children) prefix_references(*c, prefix);
}

/// A model loaded from its file with mesh/texture paths resolved against its compiler meshdir /
/// texturedir (relative to the file's directory) and missing meshes dropped.
std::unique_ptr<Node> load_part(const fs::path& file) {
  auto root = xml::parse_file(file.string());
  if (root->name != "mujoco")
    throw DataError(file.string() + ": the root element is <" + root->name + ">, not <mujoco>");
  fs::path asset_dir = file.parent_path();
  if (Node* compiler = root->child("compiler")) {
    if (const std::string* meshdir = compiler->attribute("meshdir")) asset_dir /= *meshdir;
    compiler->erase("meshdir");
    compiler->erase("texturedir");
    compiler->erase("assetdir");
  }
  const auto dropped = resolve_files(*root, asset_dir);
  if (Node* world = root->child("worldbody")) drop_geoms_using(*world, dropped);
  return root;
}

/// Copy the attributes of `from` that `to` leaves unset (dm_control's merge of <compiler> and
/// <option>); a conflicting value is an error, except the ones dropped above.
void merge_attributes(Node& to, const Node& from, const std::string& where) {
  for (const auto& [key, value] : from.attributes) {
    if (const std::string* existing = to.attribute(key)) {
      if (*existing != value)
        throw DataError(where + ": <" + from.name + " " + key + "=\"" + value + "\"> conflicts with \"" +
                        *existing + "\"");
    } else {
      to.set(key, value);
    }
  }
}

void move_children(Node& from, Node& to) {
  for (auto& c : from.children) to.children.push_back(std::move(c));
  from.children.clear();
}

/// Append every element child of each <tag> section of `part` to `target`.
void append_sections(Node& part, const std::string& tag, Node& target) {
  for (Node* section : part.children_named(tag)) move_children(*section, target);
}

Node* find_body(Node& node, const std::string& name) {
  for (auto& c : node.children) {
    if (c->type != Node::Type::Element) continue;
    if (c->name == "body" && c->attribute("name") && *c->attribute("name") == name) return c.get();
    if (Node* found = find_body(*c, name)) return found;
  }
  return nullptr;
}

/// Rename every `name` ending in "_0" to end in "_<index>" (docs/ogbench.md, "Manipulation: scene model and
/// physics").
void rename_copy(Node& node, int index) {
  if (node.type != Node::Type::Element) return;
  for (auto& [key, value] : node.attributes)
    if (key == "name" && value.size() >= 2 && value.compare(value.size() - 2, 2, "_0") == 0)
      value = value.substr(0, value.size() - 2) + "_" + std::to_string(index);
  for (auto& c : node.children) rename_copy(*c, index);
}

std::string format_number(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

std::array<double, 3> parse_vec3(const std::string& text, const std::string& where) {
  std::istringstream in(text);
  std::array<double, 3> v{};
  if (!(in >> v[0] >> v[1] >> v[2]))
    throw DataError(where + ": expected three numbers, got \"" + text + "\"");
  return v;
}

void set_pos(Node& body, const std::array<double, 3>& p) {
  body.set("pos", format_number(p[0]) + " " + format_number(p[1]) + " " + format_number(p[2]));
}

/// Collects the sections of the flat file in the order of plugins/benchmarks/manipspace/README.md, "The
/// model, built at run time".
struct Flat {
  std::unique_ptr<Node> root = Node::element("mujoco");
  Node* compiler;
  Node* option;
  Node* visual;
  Node* defaults;
  Node* asset;
  Node* world;
  Node* contact;
  Node* tendon;
  Node* equality;
  Node* actuator;

  Flat() {
    root->set("model", "ur5e_arena");
    compiler = root->append(Node::element("compiler"));
    option = root->append(Node::element("option"));
    visual = root->append(Node::element("visual"));
    defaults = root->append(Node::element("default"));
    asset = root->append(Node::element("asset"));
    world = root->append(Node::element("worldbody"));
    contact = root->append(Node::element("contact"));
    tendon = root->append(Node::element("tendon"));
    equality = root->append(Node::element("equality"));
    actuator = root->append(Node::element("actuator"));
  }

  /// Merge the compiler/option attributes of a part.
  void merge_globals(Node& part, const std::string& where) {
    if (Node* c = part.child("compiler")) merge_attributes(*compiler, *c, where);
    if (Node* o = part.child("option")) merge_attributes(*option, *o, where);
  }

  /// An object part (include_copy, no namespace): defaults, assets, bodies, other sections.
  void include(Node& part, const std::string& where) {
    merge_globals(part, where);
    for (Node* d : part.children_named("default")) move_children(*d, *defaults);
    append_sections(part, "asset", *asset);
    append_sections(part, "worldbody", *world);
    append_sections(part, "contact", *contact);
    append_sections(part, "tendon", *tendon);
    append_sections(part, "equality", *equality);
    append_sections(part, "actuator", *actuator);
  }

  /// Drop empty sections (MuJoCo accepts them, but the text is shorter without).
  void prune() {
    auto& kids = root->children;
    for (auto it = kids.begin(); it != kids.end();)
      it = (*it)->children.empty() && (*it)->attributes.empty() ? kids.erase(it) : it + 1;
  }
};

/// An attached robot part (plugins/benchmarks/manipspace/README.md, "The model, built at run time", steps
/// 3–4): prefix every name and reference, put its defaults under <default class="prefix">, drop lights and
/// keyframes; returns the wrapper body holding its worldbody content (not yet inserted).
std::unique_ptr<Node> attach(Flat& flat, Node& part, const std::string& prefix, const std::string& where) {
  flat.merge_globals(part, where);
  for (const char* drop : {"keyframe", "compiler", "option", "statistic", "visual"}) {
    auto& kids = part.children;
    for (auto it = kids.begin(); it != kids.end();)
      it = (*it)->type == Node::Type::Element && (*it)->name == drop ? kids.erase(it) : it + 1;
  }
  prefix_references(part, prefix);
  auto defaults = Node::element("default");
  defaults->set("class", prefix);
  for (Node* d : part.children_named("default")) {
    merge_attributes(*defaults, *d, where);  // attributes of the part's root default (none here)
    move_children(*d, *defaults);
  }
  if (!defaults->children.empty()) flat.defaults->append(std::move(defaults));
  append_sections(part, "asset", *flat.asset);
  append_sections(part, "contact", *flat.contact);
  append_sections(part, "tendon", *flat.tendon);
  append_sections(part, "equality", *flat.equality);
  append_sections(part, "actuator", *flat.actuator);
  auto frame = Node::element("body");
  frame->set("name", prefix);
  for (Node* world : part.children_named("worldbody"))
    for (auto& c : world->children)
      if (!(c->type == Node::Type::Element && c->name == "light")) frame->children.push_back(std::move(c));
  return frame;
}

}  // namespace

std::string SceneLayout::label() const {
  static const std::array<const char*, 9> kCubeNames = {"cube-none",   "cube-single",    "cube-double",
                                                        "cube-triple", "cube-quadruple", "cube-5",
                                                        "cube-6",      "cube-7",         "cube-octuple"};
  switch (kind) {
    case Kind::Cubes:
      return num_cubes >= 0 && num_cubes < 9 ? kCubeNames[static_cast<std::size_t>(num_cubes)]
                                             : "cube-" + std::to_string(num_cubes);
    case Kind::Scene:
      return "scene";
    case Kind::Puzzle:
      return "puzzle-" + std::to_string(rows) + "x" + std::to_string(cols);
  }
  return "unknown";
}

std::string build_flat_mjcf(const SceneLayout& layout, const std::string& descriptions) {
  const fs::path dir(descriptions);
  if (layout.kind == SceneLayout::Kind::Cubes && (layout.num_cubes < 1 || layout.num_cubes > 8))
    throw DataError("manipspace: " + std::to_string(layout.num_cubes) + " cubes requested, expected 1..8");
  if (layout.kind == SceneLayout::Kind::Puzzle && (layout.rows < 1 || layout.cols < 1))
    throw DataError("manipspace: a puzzle needs at least one row and one column");
  Flat flat;

  // 1–3. Arena: visual, assets, worldbody (lights, floor, walls).
  auto arena = load_part(dir / kArena);
  if (Node* visual = arena->child("visual")) move_children(*visual, *flat.visual);
  append_sections(*arena, "asset", *flat.asset);
  append_sections(*arena, "worldbody", *flat.world);

  // 4–6. UR5e with the 2F-85 as the last child of wrist_3_link.
  auto ur5e = load_part(dir / kUr5e);
  auto gripper = load_part(dir / kGripper);
  auto arm = attach(flat, *ur5e, "ur5e/", (dir / kUr5e).string());
  auto hand = attach(flat, *gripper, "ur5e/robotiq/", (dir / kGripper).string());
  hand->set("pos", "0 0.1 0");
  hand->set("quat", "-1 1 0 0");
  hand->set("childclass", "ur5e/robotiq/");
  Node* wrist = find_body(*arm, "ur5e/wrist_3_link");
  if (!wrist) throw DataError((dir / kUr5e).string() + ": no body 'wrist_3_link'");
  wrist->append(std::move(hand));
  arm->set("childclass", "ur5e/");
  flat.world->append(std::move(arm));

  // 7. Objects, without a namespace.
  switch (layout.kind) {
    case SceneLayout::Kind::Cubes: {
      auto outer = load_part(dir / "cube_outer.xml");
      flat.include(*outer, (dir / "cube_outer.xml").string());
      const fs::path inner_file = dir / "cube_inner.xml";
      for (int i = 0; i < layout.num_cubes; ++i) {
        auto inner = load_part(inner_file);
        rename_copy(*inner, i);
        const double y = -0.05 * (layout.num_cubes - 1) + 0.1 * i;
        for (const std::string name : {"object_", "object_target_"}) {
          Node* body = find_body(*inner, name + std::to_string(i));
          if (!body) throw DataError(inner_file.string() + ": no body '" + name + "0'");
          auto p =
              parse_vec3(body->attribute("pos") ? *body->attribute("pos") : "0 0 0", inner_file.string());
          p[1] = y;
          set_pos(*body, p);
        }
        flat.include(*inner, inner_file.string());
      }
      break;
    }
    case SceneLayout::Kind::Scene:
      for (const char* file : {"cube.xml", "buttons.xml", "drawer.xml", "window.xml"}) {
        auto part = load_part(dir / file);
        flat.include(*part, (dir / file).string());
      }
      break;
    case SceneLayout::Kind::Puzzle: {
      auto outer = load_part(dir / "button_outer.xml");
      flat.include(*outer, (dir / "button_outer.xml").string());
      const fs::path inner_file = dir / "button_inner.xml";
      for (int i = 0; i < layout.rows; ++i)
        for (int j = 0; j < layout.cols; ++j) {
          const int k = i * layout.cols + j;
          auto inner = load_part(inner_file);
          rename_copy(*inner, k);
          Node* box = find_body(*inner, "buttonbox_" + std::to_string(k));
          if (!box) throw DataError(inner_file.string() + ": no body 'buttonbox_0'");
          set_pos(*box,
                  {0.425 - 0.05 * (layout.rows - 1) + 0.1 * i, -0.05 * (layout.cols - 1) + 0.1 * j, 0.048});
          flat.include(*inner, inner_file.string());
        }
      break;
    }
  }

  // Globals (plugins/benchmarks/manipspace/README.md, "The model, built at run time", steps 1–2).
  flat.option->set("timestep", "0.002");
  if (const std::string* integrator = flat.option->attribute("integrator");
      integrator && *integrator == "implicitfast" && mjVERSION_HEADER < 233)
    flat.option->set("integrator", "implicit");
  flat.prune();
  return "<?xml version=\"1.0\"?>\n<!-- " + layout.label() +
         ": assembled at run time from the OGBench manipspace descriptions -->\n" +
         xml::serialize(*flat.root);
}

ModelPtr compile_mjcf(const std::string& xml, const std::string& label) {
  const std::string file = label + ".xml";
  auto vfs = std::make_unique<mjVFS>();  // about 2 MB on MuJoCo 2.x: keep it off the stack
  mj_defaultVFS(vfs.get());
#if mjVERSION_HEADER >= 300  // mj_makeEmptyFileVFS is gone in MuJoCo 3.x
  if (mj_addBufferVFS(vfs.get(), file.c_str(), xml.data(), static_cast<int>(xml.size())) != 0)
    throw DataError(file + ": could not add the model text to MuJoCo's virtual file system");
#else
  if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0)
    throw DataError(file + ": could not add the model text to MuJoCo's virtual file system");
  const int index = mj_findFileVFS(vfs.get(), file.c_str());
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
#endif
  std::array<char, 1000> error{};
  ModelPtr model(mj_loadXML(file.c_str(), vfs.get(), error.data(), static_cast<int>(error.size())));
  mj_deleteVFS(vfs.get());
  if (!model)
    throw DataError(file + " (flat MJCF built from the OGBench descriptions): MuJoCo: " + error.data());
  return model;
}

std::string descriptions_directory() {
  return fs::path(find_asset("ogbench/manipspace/descriptions/floor_wall.xml")).parent_path().string();
}

ModelPtr load_scene_model(const SceneLayout& layout) {
  // Parsing the meshes takes about 0.45 s per model, so each (descriptions, layout) is compiled once
  // per process and every caller gets its own copy (instances edit their model at run time,
  // docs/ogbench.md, "Manipulation: scene model and physics").
  static std::mutex mutex;
  static std::map<std::string, ModelPtr> compiled;
  const std::string dir = descriptions_directory();
  const std::string key = dir + "|" + layout.label();
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = compiled.find(key);
  if (it == compiled.end())
    it = compiled.emplace(key, compile_mjcf(build_flat_mjcf(layout, dir), layout.label())).first;
  ModelPtr copy(mj_copyModel(nullptr, it->second.get()));
  if (!copy) throw DataError(layout.label() + ": MuJoCo could not copy the compiled model");
  return copy;
}

}  // namespace dipole::manipspace
