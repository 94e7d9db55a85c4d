// Base of every plugin-created object, the construction context and the builder through which a
// component creates the sub-components it composes (an algorithm its critic, denoisers, sampler...).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dipole/params.hpp"
#include "dipole/types.hpp"

namespace dipole {

/// The kinds of component a plugin can provide. Each kind has its abstract class in interfaces/.
enum class Kind { Dataset, Environment, Critic, Denoiser, Weighting, Sampler, Algorithm, Recorder };

inline const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::Dataset:
      return "dataset";
    case Kind::Environment:
      return "environment";
    case Kind::Critic:
      return "critic";
    case Kind::Denoiser:
      return "denoiser";
    case Kind::Weighting:
      return "weighting";
    case Kind::Sampler:
      return "sampler";
    case Kind::Algorithm:
      return "algorithm";
    case Kind::Recorder:
      return "recorder";
  }
  return "?";
}

class Component {
 public:
  Component() = default;
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;
  virtual ~Component();  // defined in core: one home for the vtable and type info

  /// Complete state for checkpoints (parameters, optimiser state, counters). Stateless: empty.
  virtual StateDict state() const { return {}; }
  /// Restore what state() returned; must throw DataError naming the key on a mismatch.
  virtual void load_state(const StateDict& /*state*/) {}
};

/// What a composing component requires of the sub-component in one of its slots, e.g.
/// {{"members", 2}} of a denoiser, {{"rows", 2}} of a weighting, {{"advantage", 1}} of a critic.
/// The builder checks them before any constructor runs and passes them to the sub-component's factory.
using Requirements = std::map<std::string, std::int64_t>;

/// What a component type provides, given its validated Params: key → value, or nullopt for a value
/// it adapts to whatever the slot requires (a flow MLP builds any number of members).
using Provides = std::map<std::string, std::optional<std::int64_t>>;

/// A sub-component a composing component builds (docs/architecture.md, "Slots"). The pipeline section
/// that configures it is `section` (default: the slot's name; a nested slot's is "<own section>.<name>",
/// e.g. [sampler.inner]); its checkpoint state is kept under "<name>.".
struct Slot {
  std::string name;
  Kind kind = Kind::Critic;
  std::string doc;
  Requirements needs;
  std::string section;    ///< empty: `name`
  bool nested = false;    ///< section is "<own section>.<name>"
  bool optional = false;  ///< built only when its section exists

  Slot& need(const std::string& key, std::int64_t value) {
    needs[key] = value;
    return *this;
  }
  /// Built from another slot's section (e.g. ReBRAC's target actor from [actor]).
  Slot& from(std::string other_section) {
    section = std::move(other_section);
    return *this;
  }
  Slot& if_present() {
    optional = true;
    return *this;
  }
  /// The pipeline section of this slot when its owner is configured at `owner_section`.
  std::string section_in(const std::string& owner_section) const {
    if (nested) return owner_section + "." + name;
    return section.empty() ? name : section;
  }
};
using Slots = std::vector<Slot>;

/// Declares a slot: slot("critic", Kind::Critic, "advantage source").need("advantage", 1).
inline Slot slot(std::string name, Kind kind, std::string doc) {
  Slot s;
  s.name = std::move(name);
  s.kind = kind;
  s.doc = std::move(doc);
  return s;
}
/// A slot configured by a table nested in the owner's, e.g. best_of_n's [sampler.inner].
inline Slot nested_slot(std::string name, Kind kind, std::string doc) {
  Slot s = slot(std::move(name), kind, std::move(doc));
  s.nested = true;
  return s;
}

class Builder;

/// Everything a factory needs besides its own Params.
struct BuildContext {
  Spec spec;                       ///< of the dataset (or environment) the run uses
  c10::Device device = c10::kCPU;  ///< where parameters and batches live
  std::uint64_t seed = 0;          ///< seed for this component's initialisation
  std::string section;             ///< config path of this component, e.g. "sampler.inner"
  Requirements requirements;       ///< what the slot this component fills requires of it
  Builder* builder = nullptr;      ///< builds sub-components; valid only inside the constructor
};

/// Implemented by the runtime: builds the component configured at `section` of the pipeline.
class Builder {
 public:
  virtual ~Builder() = default;
  /// Create the component of `kind` configured in table `section` (e.g. "critic").
  /// `ctx` carries spec/device/shape; its section and seed are set by the builder.
  virtual std::shared_ptr<Component> build(Kind kind, const std::string& section, BuildContext ctx) = 0;
  /// True if the pipeline has a table named `section`.
  virtual bool has_section(const std::string& section) const = 0;

  template <class T>
  std::shared_ptr<T> make(const std::string& section, const BuildContext& ctx) {
    auto object = build(T::kKind, section, ctx);
    auto typed = std::dynamic_pointer_cast<T>(object);
    if (!typed)
      throw PluginError(section + ": the created object does not implement " +
                        std::string(to_string(T::kKind)));
    return typed;
  }
};

}  // namespace dipole
