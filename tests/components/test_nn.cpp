// Ensemble MLP, presets, init and embeddings (docs/algorithms.md, "Networks and presets", "Ensembles").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include <dipole/sdk/nn.hpp>

#include "components/test_util.hpp"

namespace dipole {
namespace {

// ---- reference forward written by hand from slice j ------------------------------------------------

at::Tensor ref_activation(const at::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::GeluTanh:
      return 0.5 * x * (1 + at::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
    case Activation::Mish:
      return x * at::tanh(at::log1p(at::exp(x)));
    case Activation::Relu:
      return x.clamp_min(0);
  }
  return x;
}

at::Tensor ref_layer_norm(const at::Tensor& h, const at::Tensor& scale, const at::Tensor& bias, double eps) {
  auto mean = h.mean(-1, true);
  auto var = (h - mean).pow(2).mean(-1, true);
  return (h - mean) / at::sqrt(var + eps) * scale + bias;
}

at::Tensor reference_member(const EnsembleMlp& net, std::int64_t j, const at::Tensor& x) {
  const auto& config = net.config();
  at::Tensor h = x;
  const auto& layers = net.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& layer = layers[l];
    h = at::matmul(h, layer.weight[j]) + layer.bias[j];
    const bool last = l + 1 == layers.size();
    if (last && !config.activate_final) break;
    const bool ln = layer.ln_scale.defined();
    if (config.order == LayerOrder::ActThenNorm) {
      h = ref_activation(h, config.activation);
      if (ln) h = ref_layer_norm(h, layer.ln_scale[j], layer.ln_bias[j], config.layer_norm_eps);
    } else {
      if (ln) h = ref_layer_norm(h, layer.ln_scale[j], layer.ln_bias[j], config.layer_norm_eps);
      h = ref_activation(h, config.activation);
    }
  }
  return h;
}

/// Perturbs LN scales/biases and biases away from their init so the reference checks them too.
void perturb(EnsembleMlp& net, std::uint64_t seed) {
  auto gen = testing::generator(seed);
  at::NoGradGuard no_grad;
  for (auto& p : net.parameters()) p.add_(at::randn(p.sizes(), gen) * 0.1);
}

struct Case {
  const char* preset;
  NetworkRole role;
  bool activate_final;
};

class EnsembleMatchesStandalone : public ::testing::TestWithParam<Case> {};

TEST_P(EnsembleMatchesStandalone, EveryMemberEqualsItsSlice) {
  auto c = GetParam();
  MlpConfig config = mlp_preset(c.preset, c.role);
  config.hidden_dims = {16, 12, 8};
  config.activate_final = c.activate_final;
  auto gen = testing::generator(1);
  EnsembleMlp net(3, 5, 4, config, gen);
  perturb(net, 2);
  auto x = at::randn({7, 5}, gen);
  auto all = net.forward(x);
  ASSERT_EQ(all.sizes(), (at::IntArrayRef{3, 7, 4}));
  for (std::int64_t j = 0; j < 3; ++j) {
    auto ref = reference_member(net, j, x);
    EXPECT_LT(testing::max_abs_diff(all[j], ref), 1e-5) << "member " << j;
    EXPECT_LT(testing::max_abs_diff(net.forward_member(j, x), ref), 1e-5) << "member " << j;
  }
  // [M, B, in] input: member j sees its own rows.
  auto x3 = at::randn({3, 7, 5}, gen);
  auto out3 = net.forward(x3);
  for (std::int64_t j = 0; j < 3; ++j)
    EXPECT_LT(testing::max_abs_diff(out3[j], reference_member(net, j, x3[j])), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Presets, EnsembleMatchesStandalone,
                         ::testing::Values(Case{"fql", NetworkRole::Actor, false},
                                           Case{"fql", NetworkRole::Critic, false},
                                           Case{"cfgrl_exorl", NetworkRole::Actor, false},
                                           Case{"cfgrl_exorl", NetworkRole::Critic, false},
                                           Case{"fql", NetworkRole::Critic, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.preset) +
                                  (info.param.role == NetworkRole::Actor ? "_actor" : "_critic") +
                                  (info.param.activate_final ? "_activate_final" : "");
                         });

TEST(EnsembleMlp, LossOnMemberZeroLeavesMemberOneGradientsExactlyZero) {
  MlpConfig config = mlp_preset("fql", NetworkRole::Critic);
  config.hidden_dims = {8, 8};
  auto gen = testing::generator(4);
  EnsembleMlp net(2, 3, 2, config, gen);
  auto x = at::randn({5, 3}, gen);
  net.forward(x)[0].pow(2).sum().backward();
  for (const auto& p : net.parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad()[1].abs().max().item<float>(), 0.0f);
  }
  EXPECT_GT(net.parameters()[0].grad()[0].abs().max().item<float>(), 0.0f);
}

TEST(EnsembleMlp, MembersInitialisedFromOneSeedDiffer) {
  auto gen = testing::generator(5);
  EnsembleMlp net(2, 4, 3, mlp_preset("fql", NetworkRole::Actor), gen);
  for (const auto& layer : net.layers()) EXPECT_FALSE(at::equal(layer.weight[0], layer.weight[1]));
  auto x = at::randn({2, 4}, gen);
  auto out = net.forward(x);
  EXPECT_GT(testing::max_abs_diff(out[0], out[1]), 1e-4);
}

TEST(EnsembleMlp, InitFollowsThePresets) {
  auto gen = testing::generator(6);
  // fql: 4×512 hidden, Xavier-uniform everywhere (limit √(6/(in+out))), zero bias, no LN for actors.
  EnsembleMlp fql(2, 20, 3, mlp_preset("fql", NetworkRole::Actor), gen);
  ASSERT_EQ(fql.layers().size(), 5u);
  const double limit0 = std::sqrt(6.0 / (20 + 512));
  const auto& w0 = fql.layers()[0].weight;
  EXPECT_LE(w0.abs().max().item<float>(), limit0);
  EXPECT_GT(w0.abs().max().item<float>(), 0.95 * limit0);
  EXPECT_NEAR(w0.std().item<float>(), limit0 / std::sqrt(3.0), 0.02 * limit0);
  for (const auto& layer : fql.layers()) {
    EXPECT_EQ(layer.bias.abs().max().item<float>(), 0.0f);
    EXPECT_FALSE(layer.ln_scale.defined());
  }
  // fql critic: LN on every hidden layer (scale 1, bias 0), none on the output.
  EnsembleMlp critic(2, 20, 1, mlp_preset("fql", NetworkRole::Critic), gen);
  for (std::size_t l = 0; l < 4; ++l) {
    ASSERT_TRUE(critic.layers()[l].ln_scale.defined());
    EXPECT_EQ(critic.layers()[l].ln_scale.min().item<float>(), 1.0f);
  }
  EXPECT_FALSE(critic.layers()[4].ln_scale.defined());
  EXPECT_DOUBLE_EQ(critic.config().layer_norm_eps, 1e-6);
  // cfgrl_exorl actor: 3×512 mish, LN on hidden layers 0 and 1 only, LeCun-normal output
  // (truncated at 2 std of √(1/fan_in)/0.8796).
  EnsembleMlp actor(1, 20, 6, mlp_preset("cfgrl_exorl", NetworkRole::Actor), gen);
  ASSERT_EQ(actor.layers().size(), 4u);
  EXPECT_TRUE(actor.layers()[0].ln_scale.defined());
  EXPECT_TRUE(actor.layers()[1].ln_scale.defined());
  EXPECT_FALSE(actor.layers()[2].ln_scale.defined());
  EXPECT_EQ(actor.config().activation, Activation::Mish);
  const auto& out_w = actor.layers()[3].weight;
  const double stddev = std::sqrt(1.0 / 512) / 0.87962566103423978;
  EXPECT_LE(out_w.abs().max().item<float>(), 2.0 * stddev + 1e-6);
  EXPECT_NEAR(out_w.std().item<float>(), std::sqrt(1.0 / 512), 0.1 * std::sqrt(1.0 / 512));
  // Output scale 0.01 (Gaussian actor mean head): limit √(6·0.01/(in+out)).
  MlpConfig scaled = mlp_preset("fql", NetworkRole::Actor);
  scaled.output_scale = 0.01;
  EnsembleMlp head(1, 8, 2, scaled, gen);
  EXPECT_LE(head.layers().back().weight.abs().max().item<float>(), std::sqrt(6.0 * 0.01 / (512 + 2)));
}

TEST(EnsembleMlp, SchemaKeysOverrideThePreset) {
  auto params = testing::params_for(mlp_schema("fql"), {{"hidden_dims", std::vector<std::int64_t>{64, 32}},
                                                        {"activation", std::string("relu")},
                                                        {"layer_norm", std::string("all_but_last")},
                                                        {"layer_order", std::string("norm_act")}});
  auto config = mlp_config(params, NetworkRole::Actor);
  EXPECT_EQ(config.hidden_dims, (std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(config.activation, Activation::Relu);
  EXPECT_EQ(config.layer_norm, NormPlacement::AllButLast);
  EXPECT_EQ(config.order, LayerOrder::NormThenAct);
  auto defaults = mlp_config(testing::params_for(mlp_schema("cfgrl_exorl")), NetworkRole::Critic);
  EXPECT_EQ(defaults.hidden_dims.size(), 3u);
  EXPECT_EQ(defaults.layer_norm, NormPlacement::All);
  EXPECT_THROW(mlp_preset("nope", NetworkRole::Actor), ConfigError);
}

TEST(EnsembleMlp, DetachedParametersPassGradientToTheInputOnly) {
  auto gen = testing::generator(7);
  MlpConfig config = mlp_preset("fql", NetworkRole::Critic);
  config.hidden_dims = {8};
  EnsembleMlp net(2, 3, 1, config, gen);
  auto x = at::randn({4, 3}, gen).requires_grad_(true);
  net.forward(x, /*detach_parameters=*/true).sum().backward();
  for (const auto& p : net.parameters()) EXPECT_FALSE(p.grad().defined());
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().max().item<float>(), 0.0f);
}

TEST(EnsembleMlp, StateRoundTripCloneAndCopy) {
  MlpConfig config = mlp_preset("fql", NetworkRole::Critic);
  config.hidden_dims = {8, 8};
  auto gen_a = testing::generator(8);
  auto gen_b = testing::generator(9);
  EnsembleMlp a(2, 3, 2, config, gen_a);
  EnsembleMlp b(2, 3, 2, config, gen_b);
  auto x = at::randn({5, 3}, gen_a);
  ASSERT_FALSE(at::equal(a.forward(x), b.forward(x)));
  auto state = a.state("net.");
  EXPECT_EQ(state.count("net.layers.0.weight"), 1u);
  EXPECT_EQ(state.count("net.layers.1.ln_scale"), 1u);
  EXPECT_EQ(state.count("net.layers.2.ln_scale"), 0u);
  b.load_state(state, "net.");
  EXPECT_TRUE(at::equal(a.forward(x), b.forward(x)));

  auto target = a.clone(false);
  EXPECT_FALSE(target.parameters()[0].requires_grad());
  // Without autograd both take the same kernels (with it, `a` is a fused node whose products may be
  // computed by the tiled kernel, equal only up to summation order: test_fused_mlp.cpp).
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(target.forward(x), a.forward(x)));
  a.parameters()[0].add_(1.0);  // the clone has its own storage
  EXPECT_FALSE(at::equal(target.forward(x), a.forward(x)));
  target.copy_from(a);
  EXPECT_TRUE(at::equal(target.forward(x), a.forward(x)));

  state.erase("net.layers.1.bias");
  EXPECT_THROW(b.load_state(state, "net."), DataError);
  EnsembleMlp wide(2, 4, 2, config, gen_b);
  EXPECT_THROW(wide.load_state(a.state("net."), "net."), DataError);
}

TEST(Embeddings, Sin16AtZeroAndOne) {
  auto e0 = sin16(at::zeros({1, 1}));
  ASSERT_EQ(e0.sizes(), (at::IntArrayRef{1, 16}));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(e0[0][i].item<float>(), 1.0f);
    EXPECT_EQ(e0[0][8 + i].item<float>(), 0.0f);
  }
  // c_i = 10000^{1 − i/8}: 10000, 3162.28, 1000, 316.228, 100, 31.6228, 10, 3.16228.
  const double c[8] = {10000.0, 3162.2776601683795, 1000.0, 316.22776601683796,
                       100.0,   31.622776601683793, 10.0,   3.1622776601683795};
  auto e1 = sin16(at::ones({1, 1}));
  for (int i = 0; i < 8; ++i) {
    // Float rounding of c (ulp(3162) ≈ 2.4e-4) bounds the argument error.
    EXPECT_NEAR(e1[0][i].item<float>(), std::cos(c[i]), 5e-4) << i;
    EXPECT_NEAR(e1[0][8 + i].item<float>(), std::sin(c[i]), 5e-4) << i;
  }
  EXPECT_NEAR(e1[0][7].item<float>(), -0.999786, 1e-5);    // cos(√10)
  EXPECT_NEAR(e1[0][15].item<float>(), -0.0206835, 1e-5);  // sin(√10)
}

TEST(Embeddings, LabelTablePerMemberWithInitStd) {
  auto gen = testing::generator(10);
  LabelEmbedding emb(2, 500, 32, gen);
  EXPECT_EQ(emb.table().sizes(), (at::IntArrayRef{2, 500, 32}));
  EXPECT_NEAR(emb.table().std().item<float>(), 1.0 / std::sqrt(32.0), 0.01);
  auto labels = at::tensor(std::vector<std::int64_t>{3, 0, 3});
  auto out = emb.forward(labels);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 3, 32}));
  EXPECT_TRUE(at::equal(out[1][0], emb.table()[1][3]));
  EXPECT_TRUE(at::equal(emb.forward_member(0, labels)[1], emb.table()[0][0]));
  EXPECT_FALSE(at::equal(emb.table()[0], emb.table()[1]));
}

}  // namespace
}  // namespace dipole
