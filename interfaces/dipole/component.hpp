// Base of every plugin-created object, the construction context and the builder through which a
// component creates the sub-components it composes (an algorithm its critic, denoisers, sampler...).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>

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

/// Shape requirements a composing component imposes on a denoiser it builds.
struct DenoiserShape {
  std::int64_t members = 1;    ///< M independent ensemble members, output [M, B, action_dim]
  std::int64_t n_labels = 0;   ///< size of a learned label embedding (0: no label input)
  bool time_input = true;      ///< false for one-step policies (FQL's μ(s, z))
  std::int64_t noise_dim = 0;  ///< for time-free policies: width of the extra noise input z
};

class Builder;

/// Everything a factory needs besides its own Params.
struct BuildContext {
  Spec spec;                       ///< of the dataset (or environment) the run uses
  c10::Device device = c10::kCPU;  ///< where parameters and batches live
  std::uint64_t seed = 0;          ///< seed for this component's initialisation
  std::string section;             ///< config path of this component, e.g. "sampler.inner"
  DenoiserShape denoiser;          ///< only read by denoiser factories
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
