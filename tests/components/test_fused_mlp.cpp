// EnsembleMlp::forward's one-node-per-network autograd path (core/src/nn.cpp, FusedMlp) against the
// per-operator graph: the same output and the same gradients, bit for bit, for every preset layout.
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

TEST(FusedMlp, SameBitsAsThePerOperatorGraph) {
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
  cases.push_back({"critic 2 members, 2-d input", critic, 2, false, false});
  cases.push_back({"critic 2 members, [M, B, in] input", critic, 2, true, false});
  cases.push_back({"critic, detached parameters, input gradient", critic, 2, false, true});
  cases.push_back({"actor 1 member", actor, 1, false, false});
  cases.push_back({"cfgrl actor 3 members", cfgrl, 3, false, false});
  cases.push_back({"cfgrl actor, detached parameters", cfgrl, 2, true, true});
  cases.push_back({"activate_final", final_act, 2, false, false});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    EnsembleMlp net(c.members, 13, 5, c.config, gen);
    at::manual_seed(3);
    const auto x = c.input_3d ? at::randn({c.members, 37, 13}) : at::randn({37, 13});
    const auto upstream = at::randn({c.members, 37, 5});
    const Result per_op = run(net, x, upstream, c.detach_parameters, false);
    const Result fused = run(net, x, upstream, c.detach_parameters, true);
    expect_same(fused.output, per_op.output, "output");
    expect_same(fused.input_grad, per_op.input_grad, "input gradient");
    ASSERT_EQ(fused.parameter_grads.size(), per_op.parameter_grads.size());
    for (std::size_t i = 0; i < fused.parameter_grads.size(); ++i)
      expect_same(fused.parameter_grads[i], per_op.parameter_grads[i], "parameter " + std::to_string(i));
    // The gradients exist where they should: parameters unless detached, the input only if it asked.
    EXPECT_EQ(fused.parameter_grads[0].defined(), !c.detach_parameters);
    EXPECT_EQ(fused.input_grad.defined(), c.detach_parameters);
  }
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
