// Denoiser `flow_mlp`: input layouts and time-free policies (docs/algorithms.md, "Networks and presets"),
// member isolation ("Ensembles") and its checkpoint state.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <dipole/sdk/nn.hpp>

#include "components/test_util.hpp"
#include "flow_mlp/flow_mlp.hpp"

namespace dipole {
namespace {

using plugins::FlowMlp;

std::unique_ptr<FlowMlp> make(const std::map<std::string, ParamValue>& overrides, DenoiserShape shape,
                              std::int64_t obs_dim = 3, std::int64_t action_dim = 2, std::uint64_t seed = 0) {
  auto params = testing::params_for(FlowMlp::schema(), overrides, "denoiser", "flow_mlp");
  auto ctx = testing::context(obs_dim, action_dim, seed);
  ctx.requirements = {{"members", shape.members},
                      {"n_labels", shape.n_labels},
                      {"time_input", shape.time_input ? 1 : 0},
                      {"noise_input", shape.noise_dim > 0 ? 1 : 0}};
  if (shape.noise_dim > 0 && shape.noise_dim != action_dim) ADD_FAILURE() << "noise width is the action's";
  return std::make_unique<FlowMlp>(params, ctx);
}

const std::vector<std::int64_t> kSmall{16, 16};

TEST(FlowMlp, FqlInputOrderIsStateLabelActionTime) {
  DenoiserShape shape;
  shape.members = 2;
  shape.n_labels = 3;
  auto d = make({{"hidden_dims", kSmall}}, shape);
  EXPECT_EQ(d->input_dim(), 3 + 32 + 2 + 1);
  auto gen = testing::generator(1);
  auto s = at::randn({4, 3}, gen), x = at::randn({4, 2}, gen), t = at::rand({4, 1}, gen);
  auto labels = at::tensor(std::vector<std::int64_t>{0, 2, 1, 2});
  auto out = d->forward(s, x, t, labels);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 4, 2}));
  const at::Tensor table = d->parameters().back();  // the label table [M, n_labels, 32]
  for (std::int64_t j = 0; j < 2; ++j) {
    auto input = at::cat({s, table[j].index_select(0, labels), x, t}, -1);
    auto ref = d->network().forward_member(j, input);
    EXPECT_LT(testing::max_abs_diff(out[j], ref), 1e-5);
    EXPECT_LT(testing::max_abs_diff(d->forward_member(j, s, x, t, labels), ref), 1e-6);
  }
  EXPECT_THROW(d->forward(s, x, t, at::Tensor()), ConfigError);
}

TEST(FlowMlp, CfgrlExorlPresetUsesSin16AndItsOrder) {
  DenoiserShape shape;
  shape.n_labels = 2;
  auto d = make({{"preset", std::string("cfgrl_exorl")}}, shape);
  EXPECT_EQ(d->network().layers().size(), 4u);  // 3×512 hidden + output
  EXPECT_EQ(d->input_dim(), 3 + 2 + 16 + 32);
  auto gen = testing::generator(2);
  auto s = at::randn({5, 3}, gen), x = at::randn({5, 2}, gen);
  auto t = at::randint(0, 33, {5, 1}, gen).to(at::kFloat) / 32;
  auto labels = at::tensor(std::vector<std::int64_t>{0, 1, 1, 0, 1});
  const at::Tensor table = d->parameters().back();
  auto input = at::cat({s, x, sin16(t), table[0].index_select(0, labels)}, -1);
  EXPECT_LT(testing::max_abs_diff(d->forward(s, x, t, labels)[0], d->network().forward_member(0, input)),
            1e-5);
  // The schema can also pick the features and order independently of the preset.
  auto raw = make({{"preset", std::string("cfgrl_exorl")},
                   {"time_features", std::string("raw")},
                   {"input_order", std::string("fql")}},
                  shape);
  EXPECT_EQ(raw->input_dim(), 3 + 32 + 2 + 1);
}

TEST(FlowMlp, TimeFreePolicyTakesStateAndNoise) {
  DenoiserShape shape;
  shape.time_input = false;
  shape.noise_dim = 2;
  auto d = make({{"hidden_dims", kSmall}}, shape);
  EXPECT_EQ(d->input_dim(), 3 + 2);
  auto gen = testing::generator(3);
  auto s = at::randn({4, 3}, gen), z = at::randn({4, 2}, gen);
  auto out = d->forward_member(0, s, z, at::Tensor(), at::Tensor());
  EXPECT_LT(testing::max_abs_diff(out, d->network().forward_member(0, at::cat({s, z}, -1))), 1e-6);
  // A deterministic actor: no noise input at all.
  shape.noise_dim = 0;
  auto actor = make({{"hidden_dims", kSmall}}, shape);
  EXPECT_EQ(actor->input_dim(), 3);
  EXPECT_EQ(actor->forward(s, at::Tensor(), at::Tensor(), at::Tensor()).sizes(), (at::IntArrayRef{1, 4, 2}));
}

// docs/algorithms.md, "Ensembles" through the denoiser
TEST(FlowMlp, LossOnMemberZeroLeavesMemberOneUntouched) {
  DenoiserShape shape;
  shape.members = 2;
  shape.n_labels = 2;
  auto d = make({{"hidden_dims", kSmall}}, shape);
  auto gen = testing::generator(4);
  auto s = at::randn({6, 3}, gen), x = at::randn({6, 2}, gen), t = at::rand({6, 1}, gen);
  auto labels = at::tensor(std::vector<std::int64_t>{0, 1, 0, 1, 1, 1});
  d->zero_grad();
  d->forward(s, x, t, labels)[0].pow(2).sum().backward();
  for (const auto& p : d->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad()[1].abs().max().item<float>(), 0.0f);
  }
  // The optimiser step then changes member 0 only.
  auto before = d->parameters()[0].detach().clone();
  d->step();
  auto after = d->parameters()[0].detach();
  EXPECT_TRUE(at::equal(before[1], after[1]));
  EXPECT_FALSE(at::equal(before[0], after[0]));
}

TEST(FlowMlp, MembersDifferAndSeedsReproduce) {
  DenoiserShape shape;
  shape.members = 2;
  auto a = make({{"hidden_dims", kSmall}}, shape, 3, 2, 11);
  auto b = make({{"hidden_dims", kSmall}}, shape, 3, 2, 11);
  auto c = make({{"hidden_dims", kSmall}}, shape, 3, 2, 12);
  auto gen = testing::generator(5);
  auto s = at::randn({4, 3}, gen), x = at::randn({4, 2}, gen), t = at::rand({4, 1}, gen);
  auto out = a->forward(s, x, t, at::Tensor());
  EXPECT_TRUE(at::equal(out, b->forward(s, x, t, at::Tensor())));
  EXPECT_FALSE(at::equal(out, c->forward(s, x, t, at::Tensor())));
  EXPECT_GT(testing::max_abs_diff(out[0], out[1]), 1e-4);
}

TEST(FlowMlp, StateRoundTripIncludesLabelsAndOptimiser) {
  DenoiserShape shape;
  shape.members = 2;
  shape.n_labels = 3;
  auto a = make({{"hidden_dims", kSmall}}, shape, 3, 2, 1);
  auto b = make({{"hidden_dims", kSmall}}, shape, 3, 2, 2);
  auto gen = testing::generator(6);
  auto s = at::randn({4, 3}, gen), x = at::randn({4, 2}, gen), t = at::rand({4, 1}, gen);
  auto labels = at::tensor(std::vector<std::int64_t>{0, 1, 2, 1});
  auto train = [&](FlowMlp& d) {
    d.zero_grad();
    d.forward(s, x, t, labels).pow(2).mean().backward();
    d.step();
  };
  train(*a);
  auto state = a->state();
  EXPECT_EQ(state.count("label_table"), 1u);
  EXPECT_EQ(state.count("adam.step"), 1u);
  b->load_state(state);
  train(*a);
  train(*b);
  EXPECT_TRUE(at::equal(a->forward(s, x, t, labels), b->forward(s, x, t, labels)));
  state.erase("label_table");
  EXPECT_THROW(b->load_state(state), DataError);
}

}  // namespace
}  // namespace dipole
