// The component plugin libraries through the runtime: each loads, registers its types, and every
// schema validates an empty or small table and builds a working component.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <dipole/core/config.hpp>
#include <dipole/core/registry.hpp>
#include <dipole/critic.hpp>
#include <dipole/denoiser.hpp>
#include <dipole/sampler.hpp>
#include <dipole/sdk/sampling.hpp>
#include <dipole/weighting.hpp>

#include "components/test_util.hpp"

namespace dipole {
namespace {

std::string plugin_path(const std::string& name) {
  return std::string(DIPOLE_BINARY_DIR) + "/lib/dipole/plugins/lib" + name + ".so";
}

Registry component_registry() {
  Registry registry;
  for (const char* name :
       {"dipole_flow_mlp", "dipole_iql_critic", "dipole_td_critic", "dipole_weightings", "dipole_samplers"})
    registry.load_library(plugin_path(name));
  return registry;
}

/// Builds sections of a parsed pipeline through the registry (what the runtime's builder does).
class TestBuilder : public Builder {
 public:
  TestBuilder(Registry& registry, config::Pipeline& pipeline) : registry_(registry), pipeline_(pipeline) {}
  std::shared_ptr<Component> build(Kind kind, const std::string& section, BuildContext ctx) override {
    const auto type = pipeline_.type_of(section);
    auto params = pipeline_.validate(section, type, registry_.info(kind, type).schema);
    ctx.section = section;
    ctx.builder = this;
    return registry_.create(kind, type, params, ctx);
  }
  bool has_section(const std::string& section) const override { return pipeline_.has_section(section); }

 private:
  Registry& registry_;
  config::Pipeline& pipeline_;
};

TEST(PluginLibraries, RegisterTheDocumentedTypes) {
  auto registry = component_registry();
  auto has = [&](Kind kind, const std::string& type) {
    auto types = registry.types(kind);
    return std::find(types.begin(), types.end(), type) != types.end();
  };
  EXPECT_TRUE(has(Kind::Denoiser, "flow_mlp"));
  EXPECT_TRUE(has(Kind::Critic, "iql"));
  EXPECT_TRUE(has(Kind::Critic, "td"));
  for (const char* w : {"uniform", "dipole_sigmoid", "exponential", "indicator"})
    EXPECT_TRUE(has(Kind::Weighting, w)) << w;
  for (const char* s : {"euler", "guided_euler", "best_of_n", "resample", "direct"})
    EXPECT_TRUE(has(Kind::Sampler, s)) << s;
  for (auto kind : {Kind::Denoiser, Kind::Critic, Kind::Weighting, Kind::Sampler})
    for (const auto& type : registry.types(kind))
      for (const auto& spec : registry.info(kind, type).schema)
        EXPECT_FALSE(spec.doc.empty()) << type << "." << spec.key;
}

TEST(PluginLibraries, BuildAndRunFromAPipeline) {
  auto registry = component_registry();
  auto pipeline = config::Pipeline::parse(R"(
[denoiser]
type = "flow_mlp"
hidden_dims = [16, 16]

[critic]
type = "iql"
hidden_dims = [16]

[td]
type = "td"
q_agg = "min"

[weighting]
type = "dipole_sigmoid"

[labels]
type = "indicator"
mode = "labels"
strict = false

[exp]
type = "exponential"

[uniform]
type = "uniform"

[sampler]
type = "best_of_n"
num_candidates = 4

[sampler.inner]
type = "guided_euler"
omega = 0.5

[euler]
type = "euler"

[direct]
type = "direct"
)",
                                          "components.toml");
  TestBuilder builder(registry, pipeline);
  auto ctx = testing::context(3, 2, 1);
  ctx.builder = &builder;
  ctx.requirements = {{"members", 2}};
  auto denoiser = builder.make<Denoiser>("denoiser", ctx);
  auto critic = builder.make<Critic>("critic", ctx);
  auto td = builder.make<Critic>("td", ctx);
  auto weighting = builder.make<WeightingFunction>("weighting", ctx);
  auto sampler = builder.make<Sampler>("sampler", ctx);
  for (const char* section : {"labels", "exp", "uniform"})
    EXPECT_NO_THROW(builder.make<WeightingFunction>(section, ctx));
  EXPECT_NO_THROW(builder.make<Sampler>("euler", ctx));
  EXPECT_NO_THROW(builder.make<Sampler>("direct", ctx));
  EXPECT_TRUE(pipeline.unused_sections().empty());

  auto gen = testing::generator(0);
  Batch batch;
  batch.observations = at::randn({8, 3}, gen);
  batch.actions = at::rand({8, 2}, gen) * 2 - 1;
  batch.rewards = at::randn({8}, gen);
  batch.next_observations = at::randn({8, 3}, gen);
  batch.masks = at::ones({8});
  batch.terminals = at::zeros({8});
  auto loss = critic->compute_loss(batch, gen, true);
  auto w = weighting->weights(loss.advantage, gen, true);
  EXPECT_EQ(w.rows.sizes(), (at::IntArrayRef{2, 8}));
  auto field = ensemble_field(*denoiser, 2);
  auto actions = sampler->sample(batch.observations, field, critic.get(), {}, gen);
  EXPECT_EQ(actions.sizes(), (at::IntArrayRef{8, 2}));
  EXPECT_LE(actions.abs().max().item<float>(), 1.0f);
  EXPECT_EQ(sampler->defaults().num_candidates, 4);
  EXPECT_EQ(sampler->defaults().omega, 0.5);
  EXPECT_THROW(td->compute_loss(batch, gen, false), ConfigError);
}

}  // namespace
}  // namespace dipole
