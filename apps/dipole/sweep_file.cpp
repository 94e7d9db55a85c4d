// Reading sweep files (sweep_file.hpp): TOML++ with positions, every table checked for unknown keys.
#include "sweep_file.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "dipole/errors.hpp"

namespace dipole::sweep {

namespace {

std::string position(const toml::source_region& source, const std::string& fallback) {
  if (!source.path || source.begin.line == 0) return fallback;
  return *source.path + ":" + std::to_string(source.begin.line) + ":" + std::to_string(source.begin.column);
}

std::string where_of(const toml::node& node, const std::string& fallback) {
  return position(node.source(), fallback);
}

/// A table whose keys are checked against a fixed set; get() marks keys used, finish() rejects the rest.
class Reader {
 public:
  Reader(const toml::table& table, std::string where, std::string name)
      : table_(table), where_(std::move(where)), name_(std::move(name)) {}

  const toml::node* get(const std::string& key) {
    known_.insert(key);
    return table_.get(key);
  }

  std::string where(const std::string& key) const {
    for (auto&& [k, v] : table_)
      if (k.str() == key) return position(k.source(), where_);
    return where_;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(fmt::format("{}: {}.{}: {}", where(key), name_, key, what));
  }

  std::string text(const std::string& key, const std::string& fallback) {
    const auto* node = get(key);
    if (!node) return fallback;
    if (!node->is_string()) fail(key, "expected a string");
    return node->as_string()->get();
  }

  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min) {
    const auto* node = get(key);
    if (!node) return fallback;
    if (!node->is_integer()) fail(key, "expected an integer");
    const std::int64_t v = node->as_integer()->get();
    if (v < min) fail(key, fmt::format("must be at least {}, got {}", min, v));
    return v;
  }

  std::vector<std::string> strings(const std::string& key) {
    std::vector<std::string> out;
    const auto* node = get(key);
    if (!node) return out;
    if (!node->is_array()) fail(key, "expected an array of strings");
    for (const auto& element : *node->as_array()) {
      if (!element.is_string()) fail(key, "expected an array of strings");
      out.push_back(element.as_string()->get());
    }
    return out;
  }

  /// A list of numbers written as "a,b,c" (for `dipole eval --omega`).
  std::string number_list(const std::string& key) {
    const auto* node = get(key);
    if (!node) return "";
    if (!node->is_array() || node->as_array()->empty()) fail(key, "expected a non-empty array of numbers");
    std::string out;
    for (const auto& element : *node->as_array()) {
      std::string v;
      if (element.is_integer())
        v = std::to_string(element.as_integer()->get());
      else if (element.is_floating_point() && std::isfinite(element.as_floating_point()->get()))
        v = fmt::format("{}", element.as_floating_point()->get());
      else
        fail(key, "expected an array of finite numbers");
      out += (out.empty() ? "" : ",") + v;
    }
    return out;
  }

  const toml::table* table(const std::string& key) {
    const auto* node = get(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(key, "expected a table");
    return node->as_table();
  }

  void finish() const {
    for (auto&& [k, v] : table_)
      if (!known_.count(std::string(k.str()))) {
        std::string expected;
        for (const auto& key : known_) expected += (expected.empty() ? "" : ", ") + key;
        throw ConfigError(fmt::format("{}: unknown key '{}' in {} (expected one of: {})",
                                      position(k.source(), where_), k.str(), name_, expected));
      }
  }

  const std::string& where_table() const { return where_; }

 private:
  const toml::table& table_;
  std::string where_, name_;
  std::set<std::string> known_;
};

/// A table's entries in the order they were written (TOML++ keeps tables sorted by key).
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> out;
  for (auto&& [k, v] : table) out.emplace_back(&k, &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto& x = a.first->source().begin;
    const auto& y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return out;
}

/// The TOML text of a value, as `--set key=<text>` takes it.
std::string value_text(const toml::node& node) {
  std::ostringstream out;
  if (node.is_array()) {
    out << "[";
    bool first = true;
    for (const auto& element : *node.as_array()) {
      out << (first ? "" : ", ") << value_text(element);
      first = false;
    }
    out << "]";
  } else if (node.is_floating_point()) {
    const double v = node.as_floating_point()->get();
    std::string s = fmt::format("{}", v);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a float
    out << s;
  } else if (node.is_string() || node.is_integer() || node.is_boolean()) {
    node.visit([&](auto&& v) { out << v; });
  } else {
    throw ConfigError(fmt::format("{}: expected a string, number, boolean or array", where_of(node, "?")));
  }
  return out.str();
}

/// A value's label in directory names: no quotes, floats shortest, arrays joined with 'x'.
std::string value_label(const toml::node& node) {
  std::string raw;
  if (node.is_string()) {
    raw = node.as_string()->get();
  } else if (node.is_floating_point()) {
    raw = fmt::format("{}", node.as_floating_point()->get());
  } else if (node.is_array()) {
    for (const auto& element : *node.as_array()) raw += (raw.empty() ? "" : "x") + value_label(element);
  } else {
    raw = value_text(node);
  }
  return raw;
}

}  // namespace

/// Directory-safe: letters, digits and . _ - + kept, anything else becomes '_'.
std::string safe_label(const std::string& text) {
  std::string out;
  for (char c : text)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+')
               ? c
               : '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

namespace {

void check_name(const std::string& name, const std::string& where, const std::string& what) {
  if (name.empty() || safe_label(name) != name)
    throw ConfigError(
        fmt::format("{}: {} name '{}' may hold only letters, digits and . _ - +", where, what, name));
}

void check_override(Reader& reader, const std::string& key, const std::vector<std::string>& set) {
  for (const auto& s : set) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || s.substr(0, eq).find('.') == std::string::npos)
      reader.fail(key, fmt::format("'{}' is not an override of the form section.key=value", s));
  }
}

std::vector<Row> read_rows(Reader& top, const std::string& key, const std::string& file) {
  std::vector<Row> rows;
  const auto* node = top.get(key);
  if (!node) return rows;
  if (!node->is_array_of_tables()) top.fail(key, "expected an array of tables ([[" + key + "]])");
  for (const auto& element : *node->as_array()) {
    const auto& table = *element.as_table();
    Row row;
    row.where = where_of(element, file);
    for (auto&& [k, v] : table) {
      const std::string field(k.str());
      const std::string at = position(k.source(), row.where);
      if (!(v.is_string() || v.is_integer() || v.is_floating_point() || v.is_boolean() || v.is_array()))
        throw ConfigError(fmt::format("{}: {}.{}: expected a value", at, key, field));
      row.fields[field] = value_label(v);
      row.field_where[field] = at;
    }
    if (row.fields.empty()) throw ConfigError(fmt::format("{}: an empty [[{}]] row", row.where, key));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

SweepFile read_sweep_file(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(position(e.source(), path) + ": " + std::string(e.description()));
  }
  SweepFile sweep;
  sweep.path = path;
  Reader top(root, path + ":1:1", "the sweep file");

  sweep.name = top.text("name", "");
  if (sweep.name.empty()) throw ConfigError(fmt::format("{}: the sweep needs a name = \"...\"", path));
  check_name(sweep.name, top.where("name"), "sweep");
  sweep.out = top.text("out", "runs/sweeps/" + sweep.name);

  // seeds: a list of integers.
  sweep.seeds_where = top.where("seeds");
  if (const auto* seeds = top.get("seeds")) {
    if (!seeds->is_array() || seeds->as_array()->empty())
      top.fail("seeds", "expected a non-empty array of integers");
    std::set<std::int64_t> seen;
    for (const auto& s : *seeds->as_array()) {
      if (!s.is_integer() || s.as_integer()->get() < 0) top.fail("seeds", "expected integers ≥ 0");
      if (!seen.insert(s.as_integer()->get()).second)
        top.fail("seeds", fmt::format("seed {} is listed twice", s.as_integer()->get()));
      sweep.seeds.push_back(s.as_integer()->get());
    }
  } else {
    sweep.seeds = {0};
  }
  sweep.seed_key = top.text("seed_key", "trainer.seed");
  sweep.set = top.strings("set");
  check_override(top, "set", sweep.set);
  sweep.set_where = top.where("set");

  // [methods.<name>]: pipeline + set.
  const auto* methods = top.table("methods");
  if (!methods || methods->empty())
    throw ConfigError(
        fmt::format("{}: the sweep needs at least one [methods.<name>] table with a pipeline", path));
  for (const auto& [key_ptr, node_ptr] : in_file_order(*methods)) {
    const toml::key& k = *key_ptr;
    const toml::node& v = *node_ptr;
    Method m;
    m.name = std::string(k.str());
    m.where = position(k.source(), path);
    check_name(m.name, m.where, "method");
    if (!v.is_table()) throw ConfigError(fmt::format("{}: methods.{}: expected a table", m.where, m.name));
    Reader r(*v.as_table(), m.where, "methods." + m.name);
    m.pipeline = r.text("pipeline", "");
    m.set = r.strings("set");
    r.finish();  // unknown keys first
    if (m.pipeline.empty())
      throw ConfigError(fmt::format("{}: methods.{} needs pipeline = \"file.toml\"", m.where, m.name));
    check_override(r, "set", m.set);
    sweep.methods.push_back(std::move(m));
  }

  // [tasks.<name>]: set (optional table: one unnamed task "default").
  if (const auto* tasks = top.table("tasks")) {
    for (const auto& [key_ptr, node_ptr] : in_file_order(*tasks)) {
      const toml::key& k = *key_ptr;
      const toml::node& v = *node_ptr;
      Task t;
      t.name = std::string(k.str());
      t.where = position(k.source(), path);
      check_name(t.name, t.where, "task");
      if (!v.is_table()) throw ConfigError(fmt::format("{}: tasks.{}: expected a table", t.where, t.name));
      Reader r(*v.as_table(), t.where, "tasks." + t.name);
      t.set = r.strings("set");
      check_override(r, "set", t.set);
      if (const auto* per_method = r.table("method_set")) {
        for (auto&& [mk, mv] : *per_method) {
          const std::string method(mk.str());
          bool known = false;
          for (const auto& m : sweep.methods) known |= m.name == method;
          if (!known)
            throw ConfigError(fmt::format("{}: tasks.{}.method_set: '{}' is not one of [methods]",
                                          position(mk.source(), t.where), t.name, method));
          Reader one(*per_method, t.where, "tasks." + t.name + ".method_set");
          t.method_set[method] = one.strings(method);
          check_override(one, method, t.method_set[method]);
        }
      }
      r.finish();
      sweep.tasks.push_back(std::move(t));
    }
  }
  if (sweep.tasks.empty()) {
    Task t;
    t.name = "default";
    t.where = path;
    sweep.tasks.push_back(std::move(t));
  }

  // [axes.<name>]: key + values (grid) or keys + values of rows (zip); optional labels, methods.
  if (const auto* axes = top.table("axes")) {
    for (const auto& [key_ptr, node_ptr] : in_file_order(*axes)) {
      const toml::key& k = *key_ptr;
      const toml::node& v = *node_ptr;
      Axis a;
      a.name = std::string(k.str());
      a.where = position(k.source(), path);
      check_name(a.name, a.where, "axis");
      if (a.name == "method" || a.name == "task" || a.name == "seed")
        throw ConfigError(fmt::format("{}: '{}' is reserved (methods, tasks and seeds have their own tables)",
                                      a.where, a.name));
      if (!v.is_table()) throw ConfigError(fmt::format("{}: axes.{}: expected a table", a.where, a.name));
      Reader r(*v.as_table(), a.where, "axes." + a.name);
      const std::string key = r.text("key", "");
      const auto keys = r.strings("keys");
      r.get("values");
      r.get("labels");
      r.get("methods");
      r.finish();  // unknown keys first
      if (key.empty() == keys.empty())
        throw ConfigError(
            fmt::format("{}: axes.{} needs either key = \"section.key\" (a grid axis) or keys = [...] "
                        "(keys that move together)",
                        a.where, a.name));
      a.keys = key.empty() ? keys : std::vector<std::string>{key};
      for (const auto& kk : a.keys)
        if (kk.find('.') == std::string::npos || kk.find('=') != std::string::npos)
          r.fail(key.empty() ? "keys" : "key", fmt::format("'{}' is not a pipeline key section.key", kk));
      const auto* values = r.get("values");
      if (!values || !values->is_array() || values->as_array()->empty())
        r.fail("values", "expected a non-empty array of values");
      for (const auto& point : *values->as_array()) {
        std::vector<std::string> texts;
        std::string label;
        if (key.empty()) {
          if (!point.is_array() || point.as_array()->size() != a.keys.size())
            r.fail("values", fmt::format("each value of a zip axis is an array of {} values (one per key)",
                                         a.keys.size()));
          for (const auto& element : *point.as_array()) {
            texts.push_back(value_text(element));
            label += (label.empty() ? "" : "_") + value_label(element);
          }
        } else {
          texts.push_back(value_text(point));
          label = value_label(point);
        }
        a.points.push_back(texts);
        a.labels.push_back(safe_label(label));
      }
      const auto labels = r.strings("labels");
      if (!labels.empty()) {
        if (labels.size() != a.points.size())
          r.fail("labels",
                 fmt::format("expected {} labels (one per value), got {}", a.points.size(), labels.size()));
        for (const auto& l : labels) check_name(l, r.where("labels"), "label");
        a.labels = labels;
      }
      for (std::size_t i = 0; i < a.labels.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (a.labels[i] == a.labels[j])
            r.fail("values",
                   fmt::format("two values have the label '{}' (give labels = [...])", a.labels[i]));
      a.methods = r.strings("methods");
      r.finish();
      sweep.axes.push_back(std::move(a));
    }
  }

  sweep.exclude = read_rows(top, "exclude", path);
  sweep.include = read_rows(top, "include", path);

  if (const auto* eval = top.table("eval")) {
    Reader r(*eval, top.where("eval"), "eval");
    sweep.eval.enabled = true;
    sweep.eval.omegas = r.number_list("omegas");
    sweep.eval.num_candidates = r.number_list("num_candidates");
    sweep.eval.episodes = r.integer("episodes", -1, 1);
    sweep.eval.set = r.strings("set");
    check_override(r, "set", sweep.eval.set);
    r.finish();
  }

  if (const auto* executor = top.table("executor")) {
    Reader r(*executor, top.where("executor"), "executor");
    sweep.executor.jobs = r.integer("jobs", 1, 1);
    sweep.executor.threads_per_run = r.integer("threads_per_run", 0, 0);
    sweep.executor.retries = r.integer("retries", 2, 0);
    if (const auto* slurm = r.table("slurm")) {
      Reader s(*slurm, r.where("slurm"), "executor.slurm");
      auto& out = sweep.executor.slurm;
      out.cpus_per_task = s.integer("cpus_per_task", 1, 1);
      out.mem = s.text("mem", "");
      out.time = s.text("time", "");
      out.partition = s.text("partition", "");
      out.account = s.text("account", "");
      out.throttle = s.integer("throttle", 0, 0);
      out.sbatch = s.strings("sbatch");
      out.setup = s.strings("setup");
      for (const auto* key : {"mem", "time", "partition", "account"})
        if (s.text(key, "").find_first_of(" \n\t") != std::string::npos)
          s.fail(key, "must not contain spaces");
      s.finish();
    }
    r.finish();
  }

  if (const auto* report = top.table("report")) {
    Reader r(*report, top.where("report"), "report");
    sweep.report_args = r.strings("args");
    r.finish();
  }
  top.finish();
  return sweep;
}

}  // namespace dipole::sweep
