// Building the sub-components a component declares as slots (docs/architecture.md, "Slots"), and the
// checkpoint state they make up.
//
// A composing component lists its slots once, as `static Slots slots(const Params&)`. Before any
// constructor runs, the runtime checks every slot of the pipeline against that list (section present,
// of the right kind, requirements met); the constructor then builds each slot by name:
//
//   class MyAlgorithm final : public ComposedAlgorithm {
//    public:
//     static Slots slots(const Params&) {
//       return {slot("critic", Kind::Critic, "Q for rejection sampling"),
//               slot("denoiser", Kind::Denoiser, "velocity field").need("members", 1),
//               slot("sampler", Kind::Sampler, "turns the velocity field into actions")};
//     }
//     MyAlgorithm(const Params& p, const BuildContext& ctx) : ComposedAlgorithm(slots(p)) {
//       critic_ = build<Critic>("critic", ctx);  // requirements passed on, state kept under "critic."
//       ...
//       act_with(build<Sampler>("sampler", ctx), ensemble_field(*denoiser_, ctx.spec.action_dim),
//       critic_.get());
//     }
//   };
//
// ComposedAlgorithm's state()/load_state() cover every built slot under "<slot>.", and its act() runs
// the sampler given to act_with().
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dipole/algorithm.hpp"
#include "dipole/component.hpp"
#include "dipole/critic.hpp"
#include "dipole/sampler.hpp"

namespace dipole {

/// The components built from a slot list, with their state prefixes.
class SlotParts {
 public:
  SlotParts() = default;
  explicit SlotParts(Slots slots) : slots_(std::move(slots)) {}

  /// Build the slot `name` through ctx.builder: its section, with its requirements in the context.
  /// Throws PluginError if the component did not declare the slot.
  template <class T>
  std::shared_ptr<T> build(const std::string& name, const BuildContext& ctx) {
    const Slot& slot = find(name);
    BuildContext sub = ctx;
    sub.requirements = slot.needs;
    auto part = ctx.builder->make<T>(slot.section_in(ctx.section), sub);
    parts_.emplace_back(slot.name + ".", part);
    return part;
  }

  /// Whether an optional slot's section is present in the pipeline.
  bool present(const std::string& name, const BuildContext& ctx) const {
    return ctx.builder->has_section(find(name).section_in(ctx.section));
  }

  /// Every built part's state under "<slot>." (stateless parts add nothing).
  StateDict state() const;
  /// Restores what state() returned.
  void load_state(const StateDict& state) const;

 private:
  const Slot& find(const std::string& name) const;

  Slots slots_;
  std::vector<std::pair<std::string, std::shared_ptr<Component>>> parts_;
};

/// An algorithm made of slots: the checkpoint state of all its parts, and acting through a sampler.
class ComposedAlgorithm : public Algorithm {
 public:
  /// The sampler of act_with() on its velocity field, scored by its critic (no gradient).
  at::Tensor act(const at::Tensor& observations, const ActOptions& options,
                 at::Generator& generator) override;
  ActOptions act_defaults() const override;
  StateDict state() const override { return parts_.state(); }
  void load_state(const StateDict& state) override { parts_.load_state(state); }

 protected:
  explicit ComposedAlgorithm(Slots slots) : parts_(std::move(slots)) {}

  template <class T>
  std::shared_ptr<T> build(const std::string& slot, const BuildContext& ctx) {
    return parts_.build<T>(slot, ctx);
  }
  bool present(const std::string& slot, const BuildContext& ctx) const { return parts_.present(slot, ctx); }

  /// act() samples with `sampler` from `field` (which must outlive this object's use of it); `critic`
  /// (may be null) scores candidates.
  void act_with(std::shared_ptr<Sampler> sampler, VelocityField field, const Critic* critic) {
    sampler_ = std::move(sampler);
    field_ = std::move(field);
    act_critic_ = critic;
  }
  const std::shared_ptr<Sampler>& sampler() const { return sampler_; }
  const VelocityField& field() const { return field_; }

 private:
  SlotParts parts_;
  std::shared_ptr<Sampler> sampler_;
  VelocityField field_;
  const Critic* act_critic_ = nullptr;
};

}  // namespace dipole
