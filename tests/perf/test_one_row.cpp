// EnsembleMlp's kernel for products without autograd (up to 256 rows per member) computes what the
// batched path (baddbmm/addmm, 300 rows) computes, for the stacked forward and forward_member, for
// 1–13, 64, 255, 256 and 257 rows; with autograd on, one row takes the batched path (values and
// gradients equal row 0 of a batch).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "dipole/sdk/nn.hpp"

namespace {

using dipole::EnsembleMlp;

double max_relative(const at::Tensor& a, const at::Tensor& b) {
  const auto da = a.to(at::kDouble), db = b.to(at::kDouble);
  return ((da - db).abs() / db.abs().clamp_min(1.0)).max().item<double>();
}

struct Result {
  at::Tensor value;
  std::vector<at::Tensor> grads;
};

/// Row 0 of the output and the parameter gradients of sum(row 0 · upstream).
Result run(const EnsembleMlp& net, const at::Tensor& x, std::int64_t member, const at::Tensor& upstream) {
  for (auto& p : net.parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  auto y = member < 0 ? net.forward(x) : net.forward_member(member, x);
  auto first = member < 0 ? y.narrow(1, 0, 1) : y.narrow(0, 0, 1);
  (first * upstream).sum().backward();
  Result r{first.detach().clone(), {}};
  for (const auto& p : net.parameters()) r.grads.push_back(p.grad().clone());
  return r;
}

class OneRow : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(OneRow, EqualsRowZeroOfABatch) {
  const std::int64_t member = GetParam();
  auto gen = at::detail::createCPUGenerator(31);
  dipole::MlpConfig config = dipole::mlp_preset("fql", dipole::NetworkRole::Critic);  // with LN
  config.hidden_dims = {64, 48};
  EnsembleMlp net(2, 9, 3, config, gen);
  {
    at::NoGradGuard no_grad;
    for (auto& p : net.parameters()) p.add_(at::randn(p.sizes(), gen) * 0.2);
  }
  const auto row = at::randn({1, 9}, gen);
  const auto batch = at::cat({row, at::randn({15, 9}, gen)});  // 16 rows: the baddbmm/addmm path
  const auto upstream = member < 0 ? at::randn({2, 1, 3}, gen) : at::randn({1, 3}, gen);
  const Result single = run(net, row, member, upstream), batched = run(net, batch, member, upstream);
  EXPECT_LE(max_relative(single.value, batched.value), 1e-5);
  ASSERT_EQ(single.grads.size(), batched.grads.size());
  for (std::size_t i = 0; i < single.grads.size(); ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    EXPECT_LE(max_relative(single.grads[i], batched.grads[i]), 1e-5);
  }
  EXPECT_GT(single.grads[0].abs().max().item<double>(), 1e-4);  // gradients flow through the kernel
  // The one-row forward reads the right member: members differ.
  if (member < 0) {
    EXPECT_GT((single.value[0] - single.value[1]).abs().max().item<double>(), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(StackedAndMember, OneRow, ::testing::Values(-1, 1));

TEST(OneRowInput3d, PerMemberInputsAndDetachedParameters) {
  auto gen = at::detail::createCPUGenerator(37);
  dipole::MlpConfig config = dipole::mlp_preset("fql", dipole::NetworkRole::Actor);
  config.hidden_dims = {32};
  EnsembleMlp net(2, 4, 2, config, gen);
  const auto x = at::randn({2, 1, 4}, gen);  // [M, 1, in]: each member its own row
  at::Tensor expected;
  {
    const auto& l0 = net.layers()[0];
    const auto& l1 = net.layers()[1];
    auto h = dipole::activate(at::baddbmm(l0.bias, x, l0.weight), dipole::Activation::GeluTanh);
    expected = at::baddbmm(l1.bias, h, l1.weight);
  }
  const auto y = net.forward(x, /*detach_parameters=*/true);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_LE(max_relative(y, expected.detach()), 1e-5);
}

TEST(SmallRowsNoGrad, EqualTheBatchedProductUpTo257Rows) {
  auto gen = at::detail::createCPUGenerator(41);
  dipole::MlpConfig config = dipole::mlp_preset("fql", dipole::NetworkRole::Critic);
  config.hidden_dims = {40, 72};
  EnsembleMlp net(2, 11, 5, config, gen);
  at::NoGradGuard no_grad;
  for (auto& p : net.parameters()) p.add_(at::randn(p.sizes(), gen) * 0.2);
  const auto batch = at::randn({300, 11}, gen) * 3;  // 300 rows > 256: the baddbmm path
  const auto full = net.forward(batch);
  const auto full_member = net.forward_member(1, batch);
  for (std::int64_t rows : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 64, 255, 256, 257}) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const auto x = batch.narrow(0, 0, rows);
    EXPECT_LE(max_relative(net.forward(x), full.narrow(1, 0, rows)), 1e-5);
    EXPECT_LE(max_relative(net.forward_member(1, x), full_member.narrow(0, 0, rows)), 1e-5);
    // Per-member inputs [M, rows, in] (members see different rows).
    const auto per_member = at::stack({x, x.flip(0)});
    const auto expected = at::stack({full[0].narrow(0, 0, rows), net.forward(x.flip(0))[1]});
    EXPECT_LE(max_relative(net.forward(per_member), expected), 1e-5);
  }
  EXPECT_GT((full[0] - full[1]).abs().max().item<double>(), 1e-3);  // members differ
}

}  // namespace
