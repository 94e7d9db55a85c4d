// Config schemas and validated parameter values.
//
// Every component type declares its keys as a Schema: name, type, default, valid range or choices
// and a one-line doc. The runtime validates a pipeline table against it (unknown keys, wrong types
// and out-of-range values are errors naming file:line:column), fills in defaults, and hands the
// component a Params holding exactly the declared keys (an optional key the pipeline does not set stays
// absent). `dipole plugins` prints the schemas. A component declares its schema through the binding of
// dipole/config_keys.hpp (included at the end), which also reads the Params into its Config struct.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "dipole/errors.hpp"

namespace dipole {

enum class ParamType {
  Bool,
  Int,
  Float,
  String,
  FloatList,
  IntList,
  StringList,
  Component,  ///< a nested table that configures a sub-component (validated when it is built)
};

inline const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::Bool:
      return "bool";
    case ParamType::Int:
      return "int";
    case ParamType::Float:
      return "float";
    case ParamType::String:
      return "string";
    case ParamType::FloatList:
      return "float list";
    case ParamType::IntList:
      return "int list";
    case ParamType::StringList:
      return "string list";
    case ParamType::Component:
      return "table";
  }
  return "?";
}

using ParamValue = std::variant<bool, std::int64_t, double, std::string, std::vector<double>,
                                std::vector<std::int64_t>, std::vector<std::string>>;

/// Render a value as TOML (used for defaults in `dipole plugins` and in resolved pipelines).
/// Floats use the shortest representation that round-trips.
std::string to_toml(const ParamValue& value);

/// One documented key of a component's config.
struct ParamSpec {
  std::string key;
  ParamType type = ParamType::Float;
  std::optional<ParamValue> default_value;  ///< empty: the key is required (unless `optional`)
  std::optional<double> min;                ///< inclusive bound for Int/Float (and list elements)
  std::optional<double> max;                ///< inclusive bound
  std::vector<std::string> choices;         ///< allowed values for String keys (empty: any)
  std::string doc;
  /// An optional key: no default and not required; when the pipeline does not set it, Params::has() is
  /// false (docs/architecture.md, "One declaration per key").
  bool optional = false;
};

/// A component's full list of keys. `type` is implicit and always allowed.
using Schema = std::vector<ParamSpec>;

/// Fluent helpers so a schema reads as a table:
///   {param::real("beta", 3.0, "inverse temperature β").range(0, 1e3), ...}
namespace param {

struct Builder {
  ParamSpec spec;
  Builder& range(double lo, double hi) {
    spec.min = lo;
    spec.max = hi;
    return *this;
  }
  Builder& at_least(double lo) {
    spec.min = lo;
    return *this;
  }
  Builder& one_of(std::vector<std::string> values) {
    spec.choices = std::move(values);
    return *this;
  }
  Builder& required() {
    spec.default_value.reset();
    spec.optional = false;
    return *this;
  }
  Builder& optional() {
    spec.default_value.reset();
    spec.optional = true;
    return *this;
  }
  operator ParamSpec() const { return spec; }  // NOLINT(google-explicit-constructor)
};

inline Builder make(std::string key, ParamType type, std::optional<ParamValue> def, std::string doc) {
  Builder b;
  b.spec.key = std::move(key);
  b.spec.type = type;
  b.spec.default_value = std::move(def);
  b.spec.doc = std::move(doc);
  return b;
}
inline Builder boolean(std::string key, bool def, std::string doc) {
  return make(std::move(key), ParamType::Bool, ParamValue(def), std::move(doc));
}
inline Builder integer(std::string key, std::int64_t def, std::string doc) {
  return make(std::move(key), ParamType::Int, ParamValue(def), std::move(doc));
}
inline Builder real(std::string key, double def, std::string doc) {
  return make(std::move(key), ParamType::Float, ParamValue(def), std::move(doc));
}
inline Builder text(std::string key, std::string def, std::string doc) {
  return make(std::move(key), ParamType::String, ParamValue(std::move(def)), std::move(doc));
}
inline Builder reals(std::string key, std::vector<double> def, std::string doc) {
  return make(std::move(key), ParamType::FloatList, ParamValue(std::move(def)), std::move(doc));
}
inline Builder integers(std::string key, std::vector<std::int64_t> def, std::string doc) {
  return make(std::move(key), ParamType::IntList, ParamValue(std::move(def)), std::move(doc));
}
inline Builder texts(std::string key, std::vector<std::string> def, std::string doc) {
  return make(std::move(key), ParamType::StringList, ParamValue(std::move(def)), std::move(doc));
}
/// A nested table `[<section>.<key>]` configuring a sub-component (e.g. a sampler's inner sampler).
inline Builder component(std::string key, std::string doc) {
  return make(std::move(key), ParamType::Component, std::nullopt, std::move(doc));
}

}  // namespace param

/// Validated values of one component's table, with the source position of each key so that a
/// component can report cross-key problems precisely: `throw ConfigError(p.where("beta") + ...)`.
class Params {
 public:
  Params() = default;
  Params(std::string section, std::string type) : section_(std::move(section)), type_(std::move(type)) {}

  void set(const std::string& key, ParamValue value, std::string where = {}) {
    values_[key] = std::move(value);
    if (!where.empty()) where_[key] = std::move(where);
  }

  bool has(const std::string& key) const { return values_.count(key) != 0; }

  template <class T>
  const T& get(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end())
      throw ConfigError(section_ + ": component '" + type_ + "' read undeclared key '" + key + "'");
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    throw ConfigError(section_ + "." + key + ": stored with a different type than requested");
  }
  double real(const std::string& key) const { return get<double>(key); }
  std::int64_t integer(const std::string& key) const { return get<std::int64_t>(key); }
  bool boolean(const std::string& key) const { return get<bool>(key); }
  const std::string& text(const std::string& key) const { return get<std::string>(key); }
  const std::vector<double>& reals(const std::string& key) const { return get<std::vector<double>>(key); }
  const std::vector<std::int64_t>& integers(const std::string& key) const {
    return get<std::vector<std::int64_t>>(key);
  }

  /// "file:line:column (section.key)" where the key was set, or "section.key (default)".
  std::string where(const std::string& key) const {
    auto it = where_.find(key);
    if (it == where_.end()) return section_ + "." + key + " (default)";
    return it->second + " (" + section_ + "." + key + ")";
  }

  const std::string& section() const { return section_; }
  const std::string& type() const { return type_; }
  const std::map<std::string, ParamValue>& values() const { return values_; }

 private:
  std::string section_;
  std::string type_;
  std::map<std::string, ParamValue> values_;
  std::map<std::string, std::string> where_;
};

}  // namespace dipole

#include "dipole/config_keys.hpp"  // IWYU pragma: export
