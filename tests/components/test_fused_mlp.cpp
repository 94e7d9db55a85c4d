// EnsembleMlp::forward's one-node-per-network autograd path (core/src/nn.cpp, FusedMlp) against the
// per-operator graph: with the BLAS computing its products, the same output and gradients bit for bit for
// every preset layout; with Dipole's tiled product kernel (TiledProducts), the same up to float
// summation order.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <dipole/core/fused_mlp.hpp>
#include <dipole/sdk/nn.hpp>

namespace dipole {
namespace {

struct Case {
  std::string name;
  MlpConfig config;
  std::int64_t members;
  bool input_3d;
  bool detach_parameters;
  std::int64_t rows;
};

struct Result {
  at::Tensor output;
  at::Tensor input_grad;
  std::vector<at::Tensor> parameter_grads;
};

Result run(const EnsembleMlp& net, const at::Tensor& x_value, const at::Tensor& upstream, bool detach,
           bool fused) {
  set_fused_mlp(fused);
  for (auto& p : net.parameters()) p.mutable_grad() = at::Tensor();
  auto x = x_value.clone().requires_grad_(detach);  // the actor's Q term: gradient to the input only
  auto y = net.forward(x, detach);
  (y * upstream).sum().backward();
  set_fused_mlp(true);
  Result r{y.detach(), x.grad(), {}};
  for (const auto& p : net.parameters()) r.parameter_grads.push_back(p.grad());
  return r;
}

void expect_same(const at::Tensor& a, const at::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  EXPECT_TRUE(at::equal(a, b)) << what << ": max |Δ| = " << (a - b).abs().max().item<double>();
}

std::vector<Case> layout_cases() {
  std::vector<Case> cases;
  auto critic = mlp_preset("fql", NetworkRole::Critic);  // GELU → LN on every hidden layer
  critic.hidden_dims = {64, 48, 32};
  auto actor = mlp_preset("fql", NetworkRole::Actor);  // GELU, no LN
  actor.hidden_dims = {40, 40};
  auto cfgrl = mlp_preset("cfgrl_exorl", NetworkRole::Actor);  // LN → mish, LN on all but the last
  cfgrl.hidden_dims = {32, 32, 32};
  auto final_act = critic;
  final_act.activate_final = true;
  final_act.layer_norm = NormPlacement::None;
  auto wide = critic;  // full 64-column tiles plus a remainder, several 64-row blocks
  wide.hidden_dims = {130, 64};
  cases.push_back({"critic 2 members, 2-d input", critic, 2, false, false, 37});
  cases.push_back({"critic 2 members, [M, B, in] input", critic, 2, true, false, 37});
  cases.push_back({"critic, detached parameters, input gradient", critic, 2, false, true, 37});
  cases.push_back({"actor 1 member", actor, 1, false, false, 37});
  cases.push_back({"cfgrl actor 3 members", cfgrl, 3, false, false, 37});
  cases.push_back({"cfgrl actor, detached parameters", cfgrl, 2, true, true, 37});
  cases.push_back({"activate_final", final_act, 2, false, false, 37});
  cases.push_back({"wide layers, 150 rows", wide, 2, false, false, 150});
  cases.push_back({"wide layers, [M, B, in] input, input gradient", wide, 3, true, true, 131});
  return cases;
}

/// Runs every case per operator (the BLAS) and fused with the tiled kernel `tiled`; `check` compares.
template <typename Check>
void compare_cases(TiledProducts tiled, Check check) {
  for (const auto& c : layout_cases()) {
    SCOPED_TRACE(c.name);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    EnsembleMlp net(c.members, 13, 5, c.config, gen);
    at::manual_seed(3);
    const auto x = c.input_3d ? at::randn({c.members, c.rows, 13}) : at::randn({c.rows, 13});
    const auto upstream = at::randn({c.members, c.rows, 5});
    const Result per_op = run(net, x, upstream, c.detach_parameters, false);
    set_tiled_products(tiled);
    const Result fused = run(net, x, upstream, c.detach_parameters, true);
    set_tiled_products(TiledProducts::Auto);
    check(fused.output, per_op.output, "output");
    check(fused.input_grad, per_op.input_grad, "input gradient");
    ASSERT_EQ(fused.parameter_grads.size(), per_op.parameter_grads.size());
    for (std::size_t i = 0; i < fused.parameter_grads.size(); ++i)
      check(fused.parameter_grads[i], per_op.parameter_grads[i], "parameter " + std::to_string(i));
    // The gradients exist where they should: parameters unless detached, the input only if it asked.
    EXPECT_EQ(fused.parameter_grads[0].defined(), !c.detach_parameters);
    EXPECT_EQ(fused.input_grad.defined(), c.detach_parameters);
  }
}

TEST(FusedMlp, SameBitsAsThePerOperatorGraph) {
  compare_cases(TiledProducts::Off, expect_same);
}

TEST(FusedMlp, TiledProductsEqualTheBlasUpToSummationOrder) {
  // On: the tiled kernel whatever this CPU is (Auto uses it only where it is faster).
  compare_cases(TiledProducts::On, [](const at::Tensor& a, const at::Tensor& b, const std::string& what) {
    ASSERT_EQ(a.defined(), b.defined()) << what;
    if (!a.defined()) return;
    ASSERT_EQ(a.sizes(), b.sizes()) << what;
    const auto scale = b.abs().max().item<double>();
    ASSERT_GT(scale, 0.0) << what;
    // Relative to the tensor's largest entry: sums of 13–150 products in another order.
    EXPECT_LE((a - b).abs().max().item<double>(), 2e-6 * scale) << what;
    EXPECT_FALSE(at::equal(a, at::zeros_like(a))) << what;
  });
  set_tiled_products(TiledProducts::On);
  EXPECT_TRUE(tiled_products_active());
  set_tiled_products(TiledProducts::Off);
  EXPECT_FALSE(tiled_products_active());
  set_tiled_products(TiledProducts::Auto);
}

TEST(FusedMlp, GradientsMatchFiniteDifferencesInDouble) {
  // The per-operator graph is itself the reference above; this checks the chain rule independently
  // on one weight entry and one LN scale entry with a central difference.
  auto config = mlp_preset("fql", NetworkRole::Critic);
  config.hidden_dims = {16, 16};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  EnsembleMlp net(2, 6, 3, config, gen);
  at::manual_seed(9);
  const auto x = at::randn({11, 6});
  const auto upstream = at::randn({2, 11, 3});
  const Result fused = run(net, x, upstream, false, true);
  auto loss = [&]() {
    at::NoGradGuard no_grad;
    return (net.forward(x) * upstream).sum().item<double>();
  };
  const auto params = net.parameters();
  for (const std::size_t which : {std::size_t{0}, std::size_t{2}}) {  // layer 0 weight, layer 0 LN scale
    auto flat = params[which].detach().view({-1});
    const std::int64_t index = 5;
    const float original = flat[index].item<float>();
    const float h = 1e-2F;
    flat[index].fill_(original + h);
    const double up = loss();
    flat[index].fill_(original - h);
    const double down = loss();
    flat[index].fill_(original);
    const double numeric = (up - down) / (2.0 * h);
    const double analytic = fused.parameter_grads[which].view({-1})[index].item<double>();
    EXPECT_NEAR(analytic, numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << "parameter " << which;
  }
}

}  // namespace
}  // namespace dipole
