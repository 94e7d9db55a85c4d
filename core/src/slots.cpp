#include "dipole/sdk/slots.hpp"

#include <ATen/ATen.h>

#include "dipole/sdk/state_prefix.hpp"

namespace dipole {

const Slot& SlotParts::find(const std::string& name) const {
  for (const auto& slot : slots_)
    if (slot.name == name) return slot;
  throw PluginError("a component builds slot '" + name + "' but declares no such slot in slots()");
}

StateDict SlotParts::state() const {
  StateDict out;
  for (const auto& [prefix, part] : parts_) add_prefixed(out, prefix, part->state());
  return out;
}

void SlotParts::load_state(const StateDict& state) const {
  for (const auto& [prefix, part] : parts_) part->load_state(strip_prefix(state, prefix));
}

at::Tensor ComposedAlgorithm::act(const at::Tensor& observations, const ActOptions& options,
                                  at::Generator& generator) {
  if (!sampler_)
    throw PluginError("this algorithm has no sampler (act_with was not called) and does not override act()");
  at::NoGradGuard no_grad;
  return sampler_->sample(observations, field_, act_critic_, options, generator);
}

ActOptions ComposedAlgorithm::act_defaults() const {
  return sampler_ ? sampler_->defaults() : ActOptions{};
}

}  // namespace dipole
