// One declaration per key (docs/architecture.md, "One declaration per key"): a schema entry bound to the
// field of a component's Config struct that it fills. The entry names the key, its doc, its range or
// choices; the default is the field's member initializer, read from a default-constructed Config, so a
// default is written once. The same list gives the Schema (for validation and `dipole plugins`) and reads
// validated Params into a Config:
//
//   struct Config {
//     double alpha = 10.0;
//     ActorLoss loss = ActorLoss::Awr;
//     std::optional<double> omega;  // an optional key: absent in the pipeline = std::nullopt
//   };
//   static const Keys<Config>& keys() {
//     static const Keys<Config> k{
//         key(&Config::alpha, "alpha", "β_awr of the AWR weights").range(0, 1e6),
//         key(&Config::loss, "actor_loss", "actor loss").choices({{"awr", ActorLoss::Awr},
//                                                                 {"ddpgbc", ActorLoss::DdpgBc}}),
//         key(&Config::omega, "omega", "exploration ω (absent: the sampler's ω)")};
//     return k;
//   }
//   static Schema schema() { return keys().schema(); }
//   ... Config config = keys().read(params);
//
// Field types: bool, integral types (stored as int), float/double, std::string, std::vector of double,
// std::int64_t or std::string, any type with .choices() (enums, bool; a string key in the pipeline), and
// std::optional of each (an optional key: no default, not required). A shared group of keys (the network
// keys, the flow-time keys) is a Keys<Sub> of its own struct, bound to a member with nested().
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dipole/params.hpp"

namespace dipole {

namespace keys_detail {

template <class T>
struct Optional : std::false_type {
  using type = T;
};
template <class T>
struct Optional<std::optional<T>> : std::true_type {
  using type = T;
};

template <class>
inline constexpr bool kAlwaysFalse = false;

/// Whether V maps to a ParamType by itself (others, e.g. enums, need .choices()).
template <class V>
inline constexpr bool kPlain =
    std::is_arithmetic_v<V> || std::is_same_v<V, std::string> || std::is_same_v<V, std::vector<double>> ||
    std::is_same_v<V, std::vector<std::int64_t>> || std::is_same_v<V, std::vector<std::string>>;

/// The ParamType of a field value type (without .choices()).
template <class V>
constexpr ParamType param_type() {
  if constexpr (std::is_same_v<V, bool>)
    return ParamType::Bool;
  else if constexpr (std::is_integral_v<V>)
    return ParamType::Int;
  else if constexpr (std::is_floating_point_v<V>)
    return ParamType::Float;
  else if constexpr (std::is_same_v<V, std::string>)
    return ParamType::String;
  else if constexpr (std::is_same_v<V, std::vector<double>>)
    return ParamType::FloatList;
  else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>)
    return ParamType::IntList;
  else if constexpr (std::is_same_v<V, std::vector<std::string>>)
    return ParamType::StringList;
  else
    static_assert(kAlwaysFalse<V>, "unsupported config field type (enums need .choices())");
  return ParamType::Float;
}

template <class V>
ParamValue to_value(const V& value) {
  if constexpr (std::is_same_v<V, bool>)
    return ParamValue(value);
  else if constexpr (std::is_integral_v<V>)
    return ParamValue(static_cast<std::int64_t>(value));
  else if constexpr (std::is_floating_point_v<V>)
    return ParamValue(static_cast<double>(value));
  else
    return ParamValue(value);
}

template <class V>
V from_params(const Params& params, const std::string& name) {
  if constexpr (std::is_same_v<V, bool>)
    return params.boolean(name);
  else if constexpr (std::is_integral_v<V>)
    return static_cast<V>(params.integer(name));
  else if constexpr (std::is_floating_point_v<V>)
    return static_cast<V>(params.real(name));
  else
    return params.get<V>(name);
}

}  // namespace keys_detail

/// One key bound to a Config: its spec (without default) and how to get the default from a Config and
/// to fill a Config from validated Params. Built by key(...), nested(...) or from a plain ParamSpec.
template <class Config>
struct KeyBinding {
  ParamSpec spec;
  bool required = false;
  /// The field's value in `config` as a ParamValue (empty for an empty std::optional); null for unbound.
  std::function<std::optional<ParamValue>(const Config&)> value;
  /// Fills the field from validated params; null for an unbound key (a sub-component table, a key read
  /// from Params elsewhere).
  std::function<void(const Params&, Config&)> read;
};

/// A list of bindings: one for key(...) or a plain ParamSpec, several for nested(...).
template <class Config>
struct Key {
  std::vector<KeyBinding<Config>> bindings;

  Key() = default;
  /// A key bound to no field (e.g. param::component(...)); its default, if any, is the spec's.
  Key(ParamSpec spec) {  // NOLINT(google-explicit-constructor)
    KeyBinding<Config> binding;
    binding.spec = std::move(spec);
    binding.required = !binding.spec.default_value && !binding.spec.optional;
    bindings.push_back(std::move(binding));
  }
  Key(const param::Builder& builder) : Key(ParamSpec(builder)) {}  // NOLINT(google-explicit-constructor)
};

/// The builder key() returns: range, choices and the like refine the spec; converts to Key<Config>.
template <class Config, class Field>
class FieldKey {
 public:
  using Value = typename keys_detail::Optional<Field>::type;
  static constexpr bool kOptional = keys_detail::Optional<Field>::value;

  FieldKey(Field Config::*member, std::string name, std::string doc) : member_(member) {
    spec_.key = std::move(name);
    spec_.doc = std::move(doc);
    spec_.optional = kOptional;
  }

  /// Inclusive bounds of a number (of each element of a list).
  FieldKey& range(double lo, double hi) {
    spec_.min = lo;
    spec_.max = hi;
    return *this;
  }
  FieldKey& at_least(double lo) {
    spec_.min = lo;
    return *this;
  }
  FieldKey& at_most(double hi) {
    spec_.max = hi;
    return *this;
  }
  /// Allowed values of a std::string field.
  FieldKey& one_of(std::vector<std::string> values) {
    static_assert(std::is_same_v<Value, std::string>, "one_of() is for string fields; use choices()");
    spec_.choices = std::move(values);
    return *this;
  }
  /// The key is a string naming one of `values`; the field holds the value paired with the name.
  FieldKey& choices(std::vector<std::pair<std::string, Value>> values) {
    choices_ = std::move(values);
    spec_.choices.clear();
    for (const auto& choice : choices_) spec_.choices.push_back(choice.first);
    return *this;
  }
  /// Appends `text` to the doc (a shared key with a component-specific remark).
  FieldKey& append_doc(const std::string& text) {
    spec_.doc += text;
    return *this;
  }
  /// The pipeline must set the key (the field's initializer is not a default).
  FieldKey& required() {
    static_assert(!kOptional, "an optional field cannot be required");
    required_ = true;
    return *this;
  }

  operator Key<Config>() const {  // NOLINT(google-explicit-constructor)
    KeyBinding<Config> binding;
    binding.spec = spec_;
    if constexpr (keys_detail::kPlain<Value>) {
      binding.spec.type = choices_.empty() ? keys_detail::param_type<Value>() : ParamType::String;
    } else {
      if (choices_.empty())
        throw std::logic_error("key '" + spec_.key + "': a field of this type needs .choices()");
      binding.spec.type = ParamType::String;
    }
    binding.required = required_;
    const auto member = member_;
    const auto choices = choices_;
    const std::string name = spec_.key;
    binding.value = [member, choices, name](const Config& config) -> std::optional<ParamValue> {
      const Field& field = config.*member;
      const Value* value = nullptr;
      if constexpr (kOptional) {
        if (!field) return std::nullopt;
        value = &*field;
      } else {
        value = &field;
      }
      if constexpr (keys_detail::kPlain<Value>)
        if (choices.empty()) return keys_detail::to_value(*value);
      for (const auto& [choice, bound] : choices)
        if (bound == *value) return ParamValue(choice);
      throw std::logic_error("the default of key '" + name + "' is none of its choices");
    };
    binding.read = [member, choices, name](const Params& params, Config& config) {
      if constexpr (kOptional) {
        if (!params.has(name)) {
          (config.*member).reset();
          return;
        }
      }
      if constexpr (keys_detail::kPlain<Value>) {
        if (choices.empty()) {
          config.*member = keys_detail::from_params<Value>(params, name);
          return;
        }
      }
      const std::string& text = params.text(name);
      for (const auto& [choice, bound] : choices) {
        if (choice == text) {
          config.*member = bound;
          return;
        }
      }
      throw ConfigError(params.where(name) + ": '" + text + "' is none of the key's choices");
    };
    Key<Config> key;
    key.bindings.push_back(std::move(binding));
    return key;
  }

 private:
  Field Config::*member_;
  ParamSpec spec_;
  std::vector<std::pair<std::string, Value>> choices_;
  bool required_ = false;
};

/// Binds key `name` to `member` of Config (see the top of this file).
template <class Config, class Field>
FieldKey<Config, Field> key(Field Config::*member, std::string name, std::string doc) {
  return FieldKey<Config, Field>(member, std::move(name), std::move(doc));
}

/// A component's keys: the one list from which both its Schema and its Config come.
template <class Config>
class Keys {
 public:
  Keys(std::initializer_list<Key<Config>> keys) {
    for (const auto& key : keys) add(key);
  }
  Keys& add(const Key<Config>& key) {
    for (const auto& binding : key.bindings) bindings_.push_back(binding);
    return *this;
  }

  /// The schema with the defaults of a default-constructed Config.
  Schema schema() const { return schema(Config{}); }
  /// The schema with the defaults taken from `defaults`.
  Schema schema(const Config& defaults) const {
    Schema out;
    for (const auto& binding : bindings_) {
      ParamSpec spec = binding.spec;
      if (binding.value && !binding.required && !spec.optional) spec.default_value = binding.value(defaults);
      out.push_back(std::move(spec));
    }
    return out;
  }

  /// Config from validated params (every bound key declared by schema()).
  Config read(const Params& params) const {
    Config config{};
    read(params, config);
    return config;
  }
  void read(const Params& params, Config& config) const {
    for (const auto& binding : bindings_)
      if (binding.read) binding.read(params, config);
  }

  const std::vector<KeyBinding<Config>>& bindings() const { return bindings_; }

 private:
  std::vector<KeyBinding<Config>> bindings_;
};

/// The keys of `sub` filling the member `member` of Config (whose initializer gives their defaults).
template <class Config, class Sub>
Key<Config> nested(Sub Config::*member, const Keys<Sub>& sub) {
  Key<Config> out;
  for (const auto& inner : sub.bindings()) {
    KeyBinding<Config> binding;
    binding.spec = inner.spec;
    binding.required = inner.required;
    if (inner.value)
      binding.value = [member, value = inner.value](const Config& config) { return value(config.*member); };
    if (inner.read)
      binding.read = [member, read = inner.read](const Params& params, Config& config) {
        read(params, config.*member);
      };
    out.bindings.push_back(std::move(binding));
  }
  return out;
}

}  // namespace dipole
