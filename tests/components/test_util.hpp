// Helpers shared by the component tests.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <dipole/component.hpp>
#include <dipole/params.hpp>

namespace dipole::testing {

inline at::Generator generator(std::uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

/// Params holding every default of `schema`, with `overrides` applied (as a validated table would).
inline Params params_for(const Schema& schema, const std::map<std::string, ParamValue>& overrides = {},
                         const std::string& section = "test", const std::string& type = "test") {
  Params params(section, type);
  for (const auto& spec : schema)
    if (spec.default_value) params.set(spec.key, *spec.default_value);
  for (const auto& [key, value] : overrides) {
    bool declared = false;
    for (const auto& spec : schema) declared = declared || spec.key == key;
    if (!declared) throw ConfigError("test override of undeclared key '" + key + "'");
    params.set(key, value);
  }
  return params;
}

inline BuildContext context(std::int64_t obs_dim, std::int64_t action_dim, std::uint64_t seed = 0) {
  BuildContext ctx;
  ctx.spec.obs_dim = obs_dim;
  ctx.spec.action_dim = action_dim;
  ctx.spec.action_low.assign(action_dim, -1.0);
  ctx.spec.action_high.assign(action_dim, 1.0);
  ctx.seed = seed;
  ctx.section = "test";
  return ctx;
}

/// A Builder that creates sub-components with test-provided factories keyed by section name.
class FakeBuilder : public Builder {
 public:
  std::map<std::string, std::function<std::shared_ptr<Component>(const BuildContext&)>> factories;
  std::shared_ptr<Component> build(Kind, const std::string& section, BuildContext ctx) override {
    auto it = factories.find(section);
    if (it == factories.end()) throw ConfigError("FakeBuilder: no factory for section '" + section + "'");
    ctx.section = section;
    return it->second(ctx);
  }
  bool has_section(const std::string& section) const override { return factories.count(section) != 0; }
};

/// max |a − b|
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

inline bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && at::equal(a, b);
}

}  // namespace dipole::testing
