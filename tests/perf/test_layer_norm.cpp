// The fused LayerNorm with a per-member affine (core/src/nn.cpp) equals the ATen sequence
// at::layer_norm → at::addcmul it replaces, forward and backward, through the public EnsembleMlp:
// every layer of a critic-preset network (LN on every hidden layer) for the stacked forward
// [M, B, n] and for forward_member [B, n], and the gradients of every parameter and of the input.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "dipole/sdk/nn.hpp"

namespace {

using dipole::EnsembleMlp;

/// The ATen sequence the fused kernel replaces (Linear → GELU(tanh) → LN, output Linear).
at::Tensor reference_forward(const EnsembleMlp& net, const at::Tensor& x, std::int64_t member) {
  at::Tensor h = member < 0 ? x.unsqueeze(0).expand({net.members(), x.size(0), x.size(1)}) : x;
  const auto& layers = net.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    auto pick = [member](const at::Tensor& t) { return member < 0 ? t : t.select(0, member); };
    h = member < 0 ? at::baddbmm(pick(layers[l].bias), h, pick(layers[l].weight))
                   : at::addmm(pick(layers[l].bias), h, pick(layers[l].weight));
    if (l + 1 == layers.size()) break;
    h = dipole::activate(h, dipole::Activation::GeluTanh);  // the same GELU: only the LN differs
    const auto normed = at::layer_norm(h, {h.size(-1)}, {}, {}, net.config().layer_norm_eps);
    h = at::addcmul(pick(layers[l].ln_bias), normed, pick(layers[l].ln_scale));
  }
  return h;
}

double max_relative(const at::Tensor& a, const at::Tensor& b) {
  const auto da = a.to(at::kDouble), db = b.to(at::kDouble);
  return ((da - db).abs() / db.abs().clamp_min(1.0)).max().item<double>();
}

class FusedLayerNorm : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(FusedLayerNorm, ForwardAndGradientsEqualTheAtenSequence) {
  const std::int64_t member = GetParam();  // −1: stacked forward of all members
  auto gen = at::detail::createCPUGenerator(17);
  dipole::MlpConfig config = dipole::mlp_preset("fql", dipole::NetworkRole::Critic);
  config.hidden_dims = {96, 80};
  ASSERT_EQ(config.layer_norm, dipole::NormPlacement::All);
  EnsembleMlp net(3, 12, 4, config, gen);
  {
    // Move γ, β (and biases) away from 1 and 0 so that their use is checked too.
    at::NoGradGuard no_grad;
    for (auto& p : net.parameters()) p.add_(at::randn(p.sizes(), gen) * 0.2);
  }
  // Inputs of widely different scales per row (the statistics must not cancel).
  auto x = (at::randn({33, 12}, gen) * at::linspace(0.01, 30.0, 33).unsqueeze(1)).requires_grad_(true);
  auto x_ref = x.detach().clone().requires_grad_(true);
  const auto upstream =
      at::randn(member < 0 ? std::vector<std::int64_t>{3, 33, 4} : std::vector<std::int64_t>{33, 4}, gen);

  const auto y = member < 0 ? net.forward(x) : net.forward_member(member, x);
  const auto params = net.parameters();
  (y * upstream).sum().backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad().clone());
  const auto dx = x.grad().clone();
  for (const auto& p : params) p.mutable_grad().zero_();

  const auto y_ref = reference_forward(net, x_ref, member);
  (y_ref * upstream).sum().backward();

  EXPECT_LE(max_relative(y, y_ref), 2e-5);
  EXPECT_LE(max_relative(dx, x_ref.grad()), 5e-5);
  for (std::size_t i = 0; i < params.size(); ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    EXPECT_LE(max_relative(grads[i], params[i].grad()), 5e-5);
  }
  // LN parameters (indices 2, 3 of each hidden layer) got non-zero gradients (the check has content).
  EXPECT_GT(grads[2].abs().max().item<double>(), 1e-3);
  EXPECT_GT(grads[3].abs().max().item<double>(), 1e-3);
  // Only the selected member receives gradient from forward_member.
  for (std::int64_t j = 0; j < 3 && member >= 0; ++j) {
    if (j != member) {
      EXPECT_EQ(grads[2][j].abs().max().item<double>(), 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(StackedAndMember, FusedLayerNorm, ::testing::Values(-1, 0, 2));

TEST(FusedLayerNormNoGrad, EqualsTheAtenSequenceWithoutAutograd) {
  auto gen = at::detail::createCPUGenerator(23);
  dipole::MlpConfig config = dipole::mlp_preset("cfgrl_exorl", dipole::NetworkRole::Critic);  // LN → mish
  config.hidden_dims = {64};
  EnsembleMlp net(2, 7, 3, config, gen);
  at::NoGradGuard no_grad;
  for (auto& p : net.parameters()) p.add_(at::randn(p.sizes(), gen) * 0.2);
  const auto x = at::randn({50, 7}, gen) * 5;
  const auto& layer = net.layers()[0];
  auto h = at::baddbmm(layer.bias, x.unsqueeze(0).expand({2, 50, 7}), layer.weight);
  h = at::addcmul(layer.ln_bias, at::layer_norm(h, {64}, {}, {}, 1e-6), layer.ln_scale);
  h = at::mish(h);
  const auto expected = at::baddbmm(net.layers()[1].bias, h, net.layers()[1].weight);
  EXPECT_LE(max_relative(net.forward(x), expected), 2e-5);
}

}  // namespace
