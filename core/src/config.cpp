// TOML pipelines: the file(s) are parsed with TOML++ into a tree of Nodes that remembers where every
// key was written, so positions survive `extends` merging and `--set` overrides. Validation turns a
// section into Params against a component's Schema; the resolved pipeline is rendered from the tree
// plus the validated values (defaults included).
#include "dipole/core/config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <utility>

namespace dipole::config {
namespace {

namespace fs = std::filesystem;

using Path = std::vector<std::string>;  // a section path split at its dots

// Limits of a pipeline (docs/reliability.md): real pipelines are a few KB with keys of two or three
// parts. They bound the memory and the recursion depth (tables are nested Nodes) of hostile input.
constexpr std::size_t kMaxFileBytes = 1 << 20;  // per file of an extends chain
constexpr std::size_t kMaxKeyParts = 32;        // parts of one dotted key or [table.header]
constexpr std::size_t kMaxNesting = 32;         // arrays / inline tables inside each other
constexpr std::size_t kMaxExtendsChain = 32;    // files in one extends chain

/// One key of the pipeline: a table or a leaf value, with the place it was written.
struct Node {
  std::string where;                        ///< "file:line:col" of the key or table header, or "--set ..."
  std::shared_ptr<const toml::node> value;  ///< a leaf value (scalar or array); null for a table
  std::map<std::string, Node> children;     ///< the keys of a table
  bool is_table() const { return value == nullptr; }
};

std::string join(const Path& path, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count && i < path.size(); ++i) out += (i ? "." : "") + path[i];
  return out;
}
std::string join(const Path& path) {
  return join(path, path.size());
}

Path split_section(const std::string& section) {
  Path path;
  std::string::size_type start = 0;
  while (true) {
    auto dot = section.find('.', start);
    path.push_back(section.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (path.back().empty()) throw ConfigError("invalid section name '" + section + "'");
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

std::string position(const toml::source_region& source, const std::string& fallback) {
  if (!source.path || source.begin.line == 0) return fallback;
  return *source.path + ":" + std::to_string(source.begin.line) + ":" + std::to_string(source.begin.column);
}

const char* type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "int";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "bool";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}
const char* type_name(const Node& node) {
  return node.is_table() ? "table" : type_name(*node.value);
}

// ---- TOML text -> Node tree ---------------------------------------------------------------------

Node from_table(toml::table&& table, std::string where);

Node from_toml(toml::node&& value, const std::string& key_where) {
  if (auto* table = value.as_table()) {
    // A [header] table is reported at its header; an inline table at its key.
    return from_table(std::move(*table),
                      table->is_inline() ? key_where : position(table->source(), key_where));
  }
  Node leaf;
  leaf.where = key_where;
  // Moving (not copying) keeps the source positions of array elements.
  leaf.value = value.visit([](auto&& concrete) -> std::shared_ptr<const toml::node> {
    using T = std::remove_cv_t<std::remove_reference_t<decltype(concrete)>>;
    return std::make_shared<T>(std::move(concrete));
  });
  return leaf;
}

Node from_table(toml::table&& table, std::string where) {
  Node node;
  node.where = std::move(where);
  for (auto&& [key, value] : table) {
    node.children[std::string(key.str())] = from_toml(std::move(value), position(key.source(), node.where));
  }
  return node;
}

/// Checks the limits above on the raw text before TOML++ sees it: a small lexer that skips strings and
/// comments, counts the parts of every key (line starts, after '{' and after ',' inside an inline
/// table, table headers) and the depth of brackets. Anything it misjudges is left to TOML++'s errors.
void check_limits(const std::string& text, const std::string& name) {
  if (text.size() > kMaxFileBytes)
    throw ConfigError(name + ": " + std::to_string(text.size()) + " bytes, more than the limit of " +
                      std::to_string(kMaxFileBytes) + " bytes for a pipeline file");
  std::vector<char> open;  // '[' (array) or '{' (inline table)
  std::size_t line = 1, parts = 1, i = 0;
  bool in_key = true, line_start = true, in_header = false;
  auto fail = [&](const std::string& what) {
    throw ConfigError(name + ":" + std::to_string(line) + ": " + what);
  };
  auto start_key = [&] {
    in_key = true;
    parts = 1;
  };
  auto skip_string = [&](char quote) {  // at the opening quote
    const bool multi = text.compare(i, 3, std::string(3, quote)) == 0;
    i += multi ? 3 : 1;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '\\' && quote == '"') {
        i += 2;
        continue;
      }
      if (c == '\n') {
        if (!multi) return;  // unterminated: TOML++ reports it
        ++line;
      }
      if (c == quote && (!multi || text.compare(i, 3, std::string(3, quote)) == 0)) {
        i += multi ? 3 : 1;
        return;
      }
      ++i;
    }
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      if (open.empty()) {
        start_key();
        line_start = true;
        in_header = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    const bool was_line_start = line_start;
    line_start = false;
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      skip_string(c);
      continue;
    }
    ++i;
    if (c == '.' && in_key) {
      if (++parts > kMaxKeyParts)
        fail("a key of more than " + std::to_string(kMaxKeyParts) + " dotted parts, the limit");
    } else if (c == '=' && in_key) {
      in_key = false;
    } else if (c == '[' && was_line_start && open.empty()) {
      in_header = true;  // [table] or [[array.of.tables]]
      if (i < text.size() && text[i] == '[') ++i;
    } else if (c == ']' && in_header) {
      in_header = false;
      in_key = false;
      if (i < text.size() && text[i] == ']') ++i;
    } else if (c == '[' || c == '{') {
      open.push_back(c);
      if (open.size() > kMaxNesting)
        fail("arrays or inline tables nested more than " + std::to_string(kMaxNesting) + " deep, the limit");
      if (c == '{') start_key();
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    } else if (c == ',' && !open.empty() && open.back() == '{') {
      start_key();
    }
  }
}

toml::table parse_toml(const std::string& text, const std::string& source_name) {
  check_limits(text, source_name);
  try {
    return toml::parse(std::string_view(text), std::string(source_name));
  } catch (const toml::parse_error& e) {
    throw ConfigError(position(e.source(), source_name) + ": " + std::string(e.description()));
  }
}

/// Merge `src` on top of `dst`: tables merge recursively (keeping dst's header position), anything
/// else replaces.
void merge(Node& dst, Node&& src) {
  for (auto& [key, node] : src.children) {
    auto it = dst.children.find(key);
    if (it != dst.children.end() && it->second.is_table() && node.is_table()) {
      merge(it->second, std::move(node));
    } else {
      dst.children[key] = std::move(node);
    }
  }
}

// ---- files and `extends` ------------------------------------------------------------------------

/// Reads a whole file of at most kMaxFileBytes (a device such as /dev/zero is read no further); on
/// failure returns false and sets `error` to the reason.
bool read_file(const fs::path& path, std::string& text, std::string& error) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    error = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return false;
  }
  text.assign(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    error = "more than the limit of " + std::to_string(kMaxFileBytes) + " bytes for a pipeline file";
    return false;
  }
  return true;
}

fs::path identity(const fs::path& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  return ec ? fs::absolute(path).lexically_normal() : canonical;
}

struct FileRef {
  fs::path identity;  ///< for cycle detection
  std::string name;   ///< as shown in positions
};

/// Parses one file of an `extends` chain and everything below it. `self` is the file's path (empty
/// for text given in memory), `chain` the files that (transitively) extend this one; `files`
/// collects every file loaded, top first.
Node load_chain(const std::string& text, const std::string& name, const fs::path& self,
                const fs::path& base_dir, std::vector<FileRef> chain, std::vector<std::string>& files) {
  files.push_back(name);
  if (chain.size() >= kMaxExtendsChain)
    throw ConfigError(name + ": an extends chain of more than " + std::to_string(kMaxExtendsChain) +
                      " files, the limit");
  Node root = from_table(parse_toml(text, name), name);
  auto it = root.children.find("extends");
  if (it == root.children.end()) return root;

  Node extends = std::move(it->second);
  root.children.erase(it);
  if (extends.is_table() || !extends.value->is_string()) {
    throw ConfigError(extends.where + ": extends: expected string (path of the base pipeline), got " +
                      type_name(extends));
  }
  const std::string reference = extends.value->as_string()->get();
  const fs::path base_path = fs::path(reference).is_absolute() ? fs::path(reference) : base_dir / reference;
  const std::string base_name = base_path.lexically_normal().string();
  const fs::path base_identity = identity(base_path);

  chain.push_back({self.empty() ? fs::path() : identity(self), name});
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (chain[i].identity != base_identity) continue;
    std::string cycle;
    for (std::size_t j = i; j < chain.size(); ++j) cycle += chain[j].name + " -> ";
    throw ConfigError(extends.where + ": extends cycle: " + cycle + base_name);
  }

  std::string base_text, error;
  if (!read_file(base_path, base_text, error)) {
    throw ConfigError(extends.where + ": cannot open base pipeline '" + base_name + "' (extends = \"" +
                      reference + "\"): " + error);
  }
  Node merged = load_chain(base_text, base_name, base_path, base_path.parent_path(), std::move(chain), files);
  merged.where = root.where;
  merge(merged, std::move(root));
  return merged;
}

// ---- overrides ----------------------------------------------------------------------------------

bool is_bare_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(),
                                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

// Unquoted override values that are not TOML (`npz_transitions`, `data/walker.npz`) are strings.
bool is_bare_word(const std::string& value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("_-./:+@~%", c) != nullptr || c >= 0x80;
  });
}

std::string trim(const std::string& text) {
  const char* space = " \t";
  auto first = text.find_first_not_of(space);
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

/// Applies one "section.sub.key=value" override to the tree.
void apply_override(Node& root, const std::string& text) {
  const std::string where = "--set " + text;
  auto fail = [&](const std::string& what) { return ConfigError(where + ": " + what); };
  if (text.find_first_of("\r\n") != std::string::npos) throw fail("an override must be on one line");
  const auto equals = text.find('=');
  if (equals == std::string::npos) throw fail("expected section.key=value");
  const std::string key = trim(text.substr(0, equals));
  const std::string value_text = trim(text.substr(equals + 1));

  Path path;
  std::string::size_type start = 0;
  while (true) {
    auto dot = key.find('.', start);
    path.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (!is_bare_key(path.back())) {
      throw fail("invalid key '" + key +
                 "' (expected section.key=value, keys of letters, digits, '_' and '-')");
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
    if (path.size() >= kMaxKeyParts)
      throw fail("a key of more than " + std::to_string(kMaxKeyParts) + " dotted parts, the limit");
  }
  if (path.size() < 2) throw fail("expected section.key=value, got a key outside any section");
  if (value_text.empty()) throw fail("missing value after '=' (use " + key + "='\"\"' for an empty string)");

  Node value;
  try {
    const std::string document = "v = " + value_text;
    check_limits(document, where);
    toml::table parsed = toml::parse(std::string_view(document));
    auto* node = parsed.get("v");
    if (node == nullptr || parsed.size() != 1) throw fail("invalid value '" + value_text + "'");
    value = from_toml(std::move(*node), where);
  } catch (const toml::parse_error& e) {
    if (!is_bare_word(value_text)) {
      throw fail("invalid value '" + value_text + "': " + std::string(e.description()));
    }
    value.where = where;
    value.value = std::make_shared<toml::value<std::string>>(value_text);
  }

  Node* table = &root;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    auto it = table->children.find(path[i]);
    if (it == table->children.end()) {
      it = table->children.emplace(path[i], Node{where, nullptr, {}}).first;
    } else if (!it->second.is_table()) {
      throw fail(join(path, i + 1) + " is a value (" + it->second.where + "), not a section");
    }
    table = &it->second;
  }
  auto existing = table->children.find(path.back());
  if (existing != table->children.end() && existing->second.is_table()) {
    if (!value.is_table()) {
      throw fail("[" + key + "] is a section; set one of its keys (" + key + ".<key>=value)");
    }
    merge(existing->second, std::move(value));
  } else {
    table->children[path.back()] = std::move(value);
  }
}

// ---- validation ---------------------------------------------------------------------------------

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions). Names longer than 64
/// characters are never typos of a schema key: their distance is not computed (quadratic cost).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  if (a.size() > 64 || b.size() > 64) return std::max(a.size(), b.size());
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

/// The candidate closest to `name`, if it is close enough to be a plausible typo.
std::string closest(const std::string& name, const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, name.size() / 3));
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string format_bound(double bound) {
  if (std::isfinite(bound) && std::floor(bound) == bound && std::fabs(bound) < 1e15) {
    return std::to_string(static_cast<long long>(bound));
  }
  return to_toml(ParamValue(bound));
}

void check_range(const ParamSpec& spec, double value, const std::string& shown, const std::string& name,
                 const std::string& where) {
  const bool below = spec.min && !(value >= *spec.min);
  const bool above = spec.max && !(value <= *spec.max);
  if (!below && !above) return;
  const std::string lo = spec.min ? "[" + format_bound(*spec.min) : "(-inf";
  const std::string hi = spec.max ? format_bound(*spec.max) + "]" : "inf)";
  throw ConfigError(where + ": " + name + " = " + shown + " is out of range " + lo + ", " + hi);
}

void check_choice(const ParamSpec& spec, const std::string& value, const std::string& name,
                  const std::string& where) {
  if (spec.choices.empty() ||
      std::find(spec.choices.begin(), spec.choices.end(), value) != spec.choices.end()) {
    return;
  }
  std::string list;
  for (const auto& choice : spec.choices) list += (list.empty() ? "" : ", ") + to_toml(ParamValue(choice));
  std::string message = where + ": " + name + " = " + to_toml(ParamValue(value)) + " is not one of " + list;
  const std::string suggestion = closest(value, spec.choices);
  if (!suggestion.empty()) message += " (did you mean " + to_toml(ParamValue(suggestion)) + "?)";
  throw ConfigError(message);
}

ConfigError type_error(const std::string& where, const std::string& name, const char* expected,
                       const toml::node& got) {
  std::string message = where + ": " + name + ": expected " + expected + ", got " + type_name(got);
  if (got.is_floating_point() && std::string(expected) == "int") {
    const double v = got.as_floating_point()->get();
    message += " " + to_toml(ParamValue(v));
    if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9e15) {
      message += " (write " + std::to_string(static_cast<long long>(v)) + " for an int)";
    }
  }
  return ConfigError(message);
}

/// Scalar conversions shared by keys and list elements; `where` is the element's own position.
std::int64_t to_int(const ParamSpec& spec, const toml::node& node, const std::string& name,
                    const std::string& where) {
  const auto* integer = node.as_integer();
  if (integer == nullptr) throw type_error(where, name, "int", node);
  check_range(spec, static_cast<double>(integer->get()), std::to_string(integer->get()), name, where);
  return integer->get();
}

double to_float(const ParamSpec& spec, const toml::node& node, const std::string& name,
                const std::string& where) {
  double value = 0;
  if (const auto* integer = node.as_integer()) {
    value = static_cast<double>(integer->get());
  } else if (const auto* real = node.as_floating_point()) {
    value = real->get();
  } else {
    throw type_error(where, name, "float", node);
  }
  if (!std::isfinite(value))
    throw ConfigError(where + ": " + name + " = " + to_toml(ParamValue(value)) + " is not a finite number");
  check_range(spec, value, to_toml(ParamValue(value)), name, where);
  return value;
}

std::string to_text(const ParamSpec& spec, const toml::node& node, const std::string& name,
                    const std::string& where) {
  const auto* text = node.as_string();
  if (text == nullptr) throw type_error(where, name, "string", node);
  check_choice(spec, text->get(), name, where);
  return text->get();
}

template <class T, class Convert>
std::vector<T> to_list(const ParamSpec& spec, const Node& node, const std::string& name, Convert convert) {
  const auto* array = node.value->as_array();
  if (array == nullptr) throw type_error(node.where, name, to_string(spec.type), *node.value);
  std::vector<T> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    out.push_back(
        convert(spec, element, name + "[" + std::to_string(i) + "]", position(element.source(), node.where)));
  }
  return out;
}

ParamValue convert(const ParamSpec& spec, const Node& node, const std::string& name) {
  const toml::node& value = *node.value;
  switch (spec.type) {
    case ParamType::Bool:
      if (const auto* boolean = value.as_boolean()) return boolean->get();
      throw type_error(node.where, name, "bool", value);
    case ParamType::Int:
      return to_int(spec, value, name, node.where);
    case ParamType::Float:
      return to_float(spec, value, name, node.where);
    case ParamType::String:
      return to_text(spec, value, name, node.where);
    case ParamType::FloatList:
      return to_list<double>(spec, node, name, to_float);
    case ParamType::IntList:
      return to_list<std::int64_t>(spec, node, name, to_int);
    case ParamType::StringList:
      return to_list<std::string>(spec, node, name, to_text);
    case ParamType::Component:
      break;
  }
  throw ConfigError(node.where + ": " + name + ": a table key cannot be converted to a value");
}

// ---- rendering ----------------------------------------------------------------------------------

std::string render_key(const std::string& key) {
  return is_bare_key(key) ? key : to_toml(ParamValue(key));
}

std::string render_value(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return to_toml(ParamValue(node.as_string()->get()));
    case toml::node_type::integer:
      return std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point:
      return to_toml(ParamValue(node.as_floating_point()->get()));
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array: {
      std::string out = "[";
      for (const auto& element : *node.as_array())
        out += (out.size() > 1 ? ", " : "") + render_value(element);
      return out + "]";
    }
    case toml::node_type::table: {  // only inside arrays: everything else is a Node table
      std::string out = "{";
      for (auto&& [key, value] : *node.as_table()) {
        out +=
            (out.size() > 1 ? ", " : "") + render_key(std::string(key.str())) + " = " + render_value(value);
      }
      return out + "}";
    }
    default: {  // dates and times
      std::ostringstream out;
      if (const auto* date = node.as_date()) out << *date;
      if (const auto* time = node.as_time()) out << *time;
      if (const auto* date_time = node.as_date_time()) out << *date_time;
      return out.str();
    }
  }
}

void collect_tables(const Node& table, Path& path, std::vector<std::pair<Path, const Node*>>& out) {
  for (const auto& [key, child] : table.children) {
    if (!child.is_table()) continue;
    path.push_back(key);
    out.emplace_back(path, &child);
    collect_tables(child, path, out);
    path.pop_back();
  }
}

}  // namespace

// ---- Pipeline -----------------------------------------------------------------------------------

struct Pipeline::Impl {
  std::string source;                       ///< top file
  std::vector<std::string> files;           ///< every file of the extends chain, top first
  std::vector<std::string> overrides;       ///< as given, in order
  Node root;                                ///< merged tables, overrides applied
  std::map<std::string, Params> validated;  ///< section path -> values (defaults included)

  const Node* find(const Path& path) const {
    const Node* node = &root;
    for (const auto& key : path) {
      if (!node->is_table()) return nullptr;
      auto it = node->children.find(key);
      if (it == node->children.end()) return nullptr;
      node = &it->second;
    }
    return node;
  }

  /// The section's table, or null if absent; throws if the path names a value.
  const Node* find_table(const std::string& section) const {
    const Path path = split_section(section);
    for (std::size_t i = 1; i <= path.size(); ++i) {
      const Node* node = find(Path(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(i)));
      if (node == nullptr) return nullptr;
      if (!node->is_table()) {
        throw ConfigError(node->where + ": " + join(path, i) + ": expected a table ([" + join(path, i) +
                          "]), got " + type_name(*node));
      }
    }
    return find(path);
  }

  bool used_below(const Node& table, const std::string& path) const {
    for (const auto& [key, child] : table.children) {
      if (!child.is_table()) continue;
      const std::string child_path = path + "." + key;
      if (validated.count(child_path) || used_below(child, child_path)) return true;
    }
    return false;
  }

  void collect_unused(const Node& table, const std::string& path, std::vector<std::string>& out) const {
    if (!validated.count(path)) {
      if (!used_below(table, path)) {
        out.push_back(table.where + ": [" + path + "]");
        return;
      }
      // A sub-table was validated but this table's own keys never were.
      const bool has_keys = std::any_of(table.children.begin(), table.children.end(),
                                        [](const auto& child) { return !child.second.is_table(); });
      if (has_keys) out.push_back(table.where + ": [" + path + "]");
    }
    for (const auto& [key, child] : table.children) {
      if (child.is_table()) collect_unused(child, path + "." + key, out);
    }
  }
};

Pipeline::Pipeline() : impl_(std::make_unique<Impl>()) {}
Pipeline::~Pipeline() = default;
Pipeline::Pipeline(const Pipeline& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Pipeline& Pipeline::operator=(const Pipeline& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Pipeline::Pipeline(Pipeline&& other) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&& other) noexcept = default;

Pipeline Pipeline::load(const std::string& path, const std::vector<std::string>& overrides) {
  std::string text, error;
  if (!read_file(path, text, error)) throw ConfigError("cannot open pipeline '" + path + "': " + error);
  Pipeline pipeline;
  pipeline.impl_->source = path;
  pipeline.impl_->root =
      load_chain(text, path, path, fs::path(path).parent_path(), {}, pipeline.impl_->files);
  for (const auto& override_text : overrides) apply_override(pipeline.impl_->root, override_text);
  pipeline.impl_->overrides = overrides;
  return pipeline;
}

Pipeline Pipeline::parse(const std::string& text, const std::string& source_name,
                         const std::vector<std::string>& overrides, const std::string& base_dir) {
  Pipeline pipeline;
  pipeline.impl_->source = source_name;
  pipeline.impl_->root = load_chain(text, source_name, {}, base_dir, {}, pipeline.impl_->files);
  for (const auto& override_text : overrides) apply_override(pipeline.impl_->root, override_text);
  pipeline.impl_->overrides = overrides;
  return pipeline;
}

Pipeline Pipeline::for_seed(std::int64_t seed) const {
  Pipeline copy(*this);
  copy.impl_->validated.clear();  // nothing validated yet: the seed's run validates its own copy
  auto trainer = copy.impl_->root.children.find("trainer");
  if (trainer != copy.impl_->root.children.end() && trainer->second.is_table())
    trainer->second.children.erase("seeds");
  const std::string text = "trainer.seed=" + std::to_string(seed);
  apply_override(copy.impl_->root, text);
  copy.impl_->overrides.push_back(text);
  return copy;
}

bool Pipeline::has_section(const std::string& section) const {
  const Node* node = impl_->find(split_section(section));
  return node != nullptr && node->is_table();
}

std::optional<std::string> Pipeline::value_text(const std::string& key) const {
  const Node* node = impl_->find(split_section(key));
  if (node == nullptr || node->is_table()) return std::nullopt;
  if (const auto* text = node->value->as_string()) return text->get();
  std::ostringstream out;
  if (const auto* array = node->value->as_array())
    out << toml::toml_formatter(*array, toml::format_flags::none);
  else
    node->value->visit([&out](const auto& v) { out << v; });
  return out.str();
}

std::vector<std::string> Pipeline::value_keys() const {
  std::vector<std::string> keys;
  const std::function<void(const Node&, const std::string&)> walk = [&](const Node& node,
                                                                        const std::string& prefix) {
    for (const auto& [key, child] : node.children) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (child.is_table())
        walk(child, path);
      else
        keys.push_back(path);
    }
  };
  walk(impl_->root, "");
  return keys;
}

std::vector<std::string> Pipeline::top_level_sections() const {
  std::vector<std::string> sections;
  for (const auto& [key, child] : impl_->root.children) {
    if (child.is_table()) sections.push_back(key);
  }
  return sections;
}

std::string Pipeline::type_of(const std::string& section) const {
  const Node* table = impl_->find_table(section);
  if (table == nullptr) throw ConfigError(impl_->source + ": the pipeline has no [" + section + "] section");
  auto it = table->children.find("type");
  if (it == table->children.end()) throw ConfigError(table->where + ": [" + section + "] has no 'type' key");
  const Node& type = it->second;
  if (type.is_table() || !type.value->is_string()) {
    throw ConfigError(type.where + ": " + section + ".type: expected string, got " + type_name(type));
  }
  return type.value->as_string()->get();
}

std::string Pipeline::where(const std::string& section) const {
  const Node* table = impl_->find_table(section);
  if (table == nullptr) return impl_->source;
  auto it = table->children.find("type");
  return it == table->children.end() ? table->where : it->second.where;
}

Params Pipeline::validate(const std::string& section, const std::string& type, const Schema& schema) {
  static const Node kEmpty;
  const Node* found = impl_->find_table(section);
  const Node& table = found != nullptr ? *found : kEmpty;
  const std::string& header = found != nullptr ? table.where : impl_->source;

  std::map<std::string, const ParamSpec*> specs;
  for (const auto& spec : schema) specs[spec.key] = &spec;

  Params params(section, type);
  for (const auto& [key, node] : table.children) {
    const std::string name = section + "." + key;
    if (key == "type") {
      if (node.is_table() || !node.value->is_string()) {
        throw ConfigError(node.where + ": " + name + ": expected string, got " + type_name(node));
      }
      continue;
    }
    auto spec_it = specs.find(key);
    if (spec_it == specs.end()) {
      std::vector<std::string> known;
      for (const auto& [known_key, spec] : specs) known.push_back(known_key);
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      std::string message = node.where + ": unknown key '" + key + "' in [" + section + "] (type " + type +
                            "); known keys: " + (list.empty() ? "(none)" : list);
      const std::string suggestion = closest(key, known);
      if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
      throw ConfigError(message);
    }
    const ParamSpec& spec = *spec_it->second;
    if (spec.type == ParamType::Component) {
      if (!node.is_table()) {
        throw ConfigError(node.where + ": " + name + ": expected table (a [" + name + "] section), got " +
                          type_name(node));
      }
      continue;  // validated by the sub-component's own schema
    }
    if (node.is_table()) {
      throw ConfigError(node.where + ": " + name + ": expected " + to_string(spec.type) + ", got table");
    }
    params.set(key, convert(spec, node, name), node.where);
  }

  for (const auto& spec : schema) {
    if (spec.type == ParamType::Component || spec.optional || params.has(spec.key)) continue;
    if (!spec.default_value) {
      throw ConfigError(header + ": [" + section + "] (type " + type + ") is missing required key '" +
                        spec.key + "'" + (spec.doc.empty() ? "" : " (" + spec.doc + ")"));
    }
    params.set(spec.key, *spec.default_value);
  }

  impl_->validated[section] = params;
  return params;
}

std::vector<std::string> Pipeline::unused_sections() const {
  std::vector<std::string> out;
  for (const auto& [key, child] : impl_->root.children) {
    if (child.is_table()) {
      impl_->collect_unused(child, key, out);
    } else {
      out.push_back(child.where + ": top-level key '" + key + "' outside any section");
    }
  }
  return out;
}

std::string Pipeline::resolved_toml() const {
  std::ostringstream out;
  out << "# Resolved pipeline: extends merged, --set overrides applied, defaults filled in for validated "
         "sections.\n";
  out << "# source: " << impl_->source << "\n";
  for (std::size_t i = 1; i < impl_->files.size(); ++i) out << "# extends: " << impl_->files[i] << "\n";
  for (const auto& override_text : impl_->overrides) out << "# --set " << override_text << "\n";

  for (const auto& [key, child] : impl_->root.children) {
    if (!child.is_table()) out << render_key(key) << " = " << render_value(*child.value) << "\n";
  }

  std::vector<std::pair<Path, const Node*>> tables;
  Path scratch;
  collect_tables(impl_->root, scratch, tables);
  for (const auto& [section, params] : impl_->validated) {
    if (impl_->find(split_section(section)) == nullptr) tables.emplace_back(split_section(section), nullptr);
  }
  std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  for (const auto& [path, table] : tables) {
    const auto validated = impl_->validated.find(join(path));
    std::vector<std::string> lines;
    if (table != nullptr) {
      auto type = table->children.find("type");
      if (type != table->children.end() && !type->second.is_table()) {
        lines.push_back("type = " + render_value(*type->second.value));
      }
    }
    if (validated != impl_->validated.end()) {
      for (const auto& [key, value] : validated->second.values())
        lines.push_back(render_key(key) + " = " + to_toml(value));
    }
    if (table != nullptr) {
      for (const auto& [key, child] : table->children) {
        if (child.is_table() || key == "type") continue;
        if (validated != impl_->validated.end() && validated->second.has(key)) continue;
        lines.push_back(render_key(key) + " = " + render_value(*child.value));
      }
    }
    // Tables holding only sub-tables are implied by the sub-tables' headers.
    if (lines.empty() && validated == impl_->validated.end() && table != nullptr && !table->children.empty())
      continue;

    std::string header;
    for (const auto& key : path) header += (header.empty() ? "" : ".") + render_key(key);
    out << "\n[" << header << "]\n";
    for (const auto& line : lines) out << line << "\n";
  }
  return out.str();
}

void Pipeline::write_resolved(const std::string& path) const {
  const std::string text = resolved_toml();
  const fs::path target(path);
  fs::path temporary = target;
  temporary += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw ConfigError("cannot write resolved pipeline '" + temporary.string() +
                        "': " + std::strerror(errno));
    }
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw ConfigError("cannot write resolved pipeline '" + temporary.string() + "'");
    }
  }
  std::error_code ec;
  fs::rename(temporary, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw ConfigError("cannot move resolved pipeline into place at '" + path + "': " + ec.message());
  }
}

const std::string& Pipeline::source() const {
  return impl_->source;
}

}  // namespace dipole::config
