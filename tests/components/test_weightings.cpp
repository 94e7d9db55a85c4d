// Weighting plugins (docs/algorithms.md, "Weightings", "DIPOLE", "CFGRL").
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include <dipole/sdk/rl_math.hpp>

#include "components/test_util.hpp"
#include "weightings/weightings.hpp"

namespace dipole {
namespace {

using namespace plugins;

template <class W>
std::unique_ptr<W> make(const std::map<std::string, ParamValue>& overrides = {}) {
  return std::make_unique<W>(testing::params_for(W::schema(), overrides), testing::context(1, 1));
}

at::Tensor advantages(std::int64_t n, std::uint64_t seed = 1) {
  auto gen = testing::generator(seed);
  return at::randn({n}, gen);
}

std::map<std::string, double> as_map(const Metrics& metrics) {
  return {metrics.begin(), metrics.end()};
}

TEST(UniformWeighting, RowsOfOnes) {
  auto w = make<UniformWeighting>({{"rows", std::int64_t{2}}});
  auto gen = testing::generator(0);
  auto out = w->weights(advantages(5), gen, false);
  EXPECT_EQ(w->rows(), 2);
  EXPECT_TRUE(at::equal(out.rows, at::ones({2, 5})));
  EXPECT_FALSE(out.labels.defined());
}

TEST(DipoleSigmoid, RowsAndMetrics) {
  auto w = make<DipoleSigmoidWeighting>({{"beta", 2.0}, {"shift", 0.5}});
  auto a = advantages(400);
  auto gen = testing::generator(0);
  auto out = w->weights(a, gen, true);
  ASSERT_EQ(out.rows.sizes(), (at::IntArrayRef{2, 400}));
  EXPECT_TRUE(at::equal(out.rows[0], at::sigmoid(a * 2.0 + 0.5)));
  EXPECT_TRUE(at::equal(out.rows[1], at::sigmoid(-(a * 2.0 + 0.5))));
  auto m = as_map(out.metrics);
  EXPECT_NEAR(m.at("weight/pos_mean") + m.at("weight/neg_mean"), 1.0, 1e-6);
  EXPECT_DOUBLE_EQ(m.at("weight/frac_pos_gt_half"), (a > -0.25).to(at::kDouble).mean().item<double>());
  EXPECT_NEAR(m.at("weight/ess_pos"), effective_sample_fraction(out.rows[0]), 1e-12);
  EXPECT_NEAR(m.at("adv/q50"), quantiles(a, {0.5})[0], 1e-9);
  EXPECT_NEAR(m.at("adv/frac_pos"), (a > 0).to(at::kDouble).mean().item<double>(), 1e-12);
  EXPECT_EQ(m.at("shift"), 0.5);
  for (const char* key : {"weight/ess_neg", "adv/q05", "adv/q25", "adv/q75", "adv/q95", "adv/mean"})
    EXPECT_EQ(m.count(key), 1u) << key;
  EXPECT_TRUE(w->weights(a, gen, false).metrics.empty());
  EXPECT_FALSE(out.rows.requires_grad());
}

TEST(DipoleSigmoid, QuantileShiftSplitsTheBatch) {
  auto w = make<DipoleSigmoidWeighting>(
      {{"beta", 3.0}, {"shift_mode", std::string("quantile")}, {"shift_quantile", 0.7}});
  auto a = advantages(1001, 2);
  auto gen = testing::generator(0);
  auto out = w->weights(a, gen, true);
  auto m = as_map(out.metrics);
  EXPECT_NEAR(m.at("shift"), -3.0 * quantiles(a, {0.7})[0], 1e-6);
  EXPECT_NEAR(m.at("weight/frac_pos_gt_half"), 0.3, 0.002);
}

TEST(Exponential, RowsPerNegativeMode) {
  auto a = at::tensor(std::vector<float>{-1.0f, 0.0f, 0.2f, 0.6f});
  auto gen = testing::generator(0);
  auto one = make<ExponentialWeighting>();
  auto w1 = one->weights(a, gen, true);
  EXPECT_EQ(one->rows(), 1);
  ASSERT_EQ(w1.rows.sizes(), (at::IntArrayRef{1, 4}));
  EXPECT_NEAR(w1.rows[0][0].item<float>(), std::exp(-10.0), 1e-9);
  EXPECT_EQ(w1.rows[0][1].item<float>(), 1.0f);
  EXPECT_NEAR(w1.rows[0][2].item<float>(), std::exp(2.0), 1e-4);
  EXPECT_EQ(w1.rows[0][3].item<float>(), 100.0f);  // e^6 > 100: clipped exactly
  EXPECT_NEAR(as_map(w1.metrics).at("weight/frac_clipped"), 0.25, 1e-12);

  auto two = make<ExponentialWeighting>({{"neg", std::string("exponential")}});
  auto w2 = two->weights(a, gen, false);
  EXPECT_EQ(two->rows(), 2);
  EXPECT_EQ(w2.rows[1][0].item<float>(), 100.0f);  // e^{+10} clipped
  EXPECT_NEAR(w2.rows[1][2].item<float>(), std::exp(-2.0), 1e-6);

  auto uni =
      make<ExponentialWeighting>({{"neg", std::string("uniform")}, {"beta", 1.0}, {"max_weight", 5.0}});
  auto w3 = uni->weights(a, gen, false);
  EXPECT_TRUE(at::equal(w3.rows[1], at::ones({4})));
  EXPECT_NEAR(w3.rows[0][3].item<float>(), std::exp(0.6), 1e-6);
}

TEST(Indicator, RowsModeStrictAndNonStrict) {
  auto a = at::tensor(std::vector<float>{-0.5f, 0.0f, 0.5f});
  auto gen = testing::generator(0);
  auto strict = make<IndicatorWeighting>();
  auto w = strict->weights(a, gen, true);
  EXPECT_EQ(strict->rows(), 2);
  EXPECT_TRUE(at::equal(w.rows[0], at::tensor(std::vector<float>{0, 0, 1})));
  EXPECT_TRUE(at::equal(w.rows[1], at::full({3}, 0.1f)));
  EXPECT_FALSE(w.labels.defined());
  auto loose = make<IndicatorWeighting>({{"strict", false}, {"unconditional_weight", 0.25}});
  auto w2 = loose->weights(a, gen, false);
  EXPECT_TRUE(at::equal(w2.rows[0], at::tensor(std::vector<float>{0, 1, 1})));
  EXPECT_TRUE(at::equal(w2.rows[1], at::full({3}, 0.25f)));
  auto shifted = make<IndicatorWeighting>({{"threshold", -0.6}});
  EXPECT_TRUE(at::equal(shifted->weights(a, gen, false).rows[0], at::ones({3})));
}

TEST(Indicator, LabelsModeWithDropout) {
  auto a = advantages(20000, 3);
  auto none =
      make<IndicatorWeighting>({{"mode", std::string("labels")}, {"strict", false}, {"label_dropout", 0.0}});
  auto gen = testing::generator(0);
  auto w0 = none->weights(a, gen, false);
  EXPECT_EQ(none->rows(), 1);
  EXPECT_TRUE(at::equal(w0.rows, at::ones({1, 20000})));
  ASSERT_TRUE(w0.labels.defined());
  EXPECT_EQ(w0.labels.scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(w0.labels,
                        at::where(a >= 0, at::full({20000}, 2, at::kLong), at::full({20000}, 1, at::kLong))));

  auto drop = make<IndicatorWeighting>({{"mode", std::string("labels")}, {"strict", false}});
  auto g1 = testing::generator(5);
  auto w = drop->weights(a, g1, true);
  const double frac_null = (w.labels == 0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(frac_null, 0.1, 0.01);  // 0.1 ± 4.7σ at n = 20000
  EXPECT_NEAR(as_map(w.metrics).at("weight/frac_null"), frac_null, 1e-12);
  // Kept labels are unchanged; the draw is one uniform per sample from the generator.
  auto kept = w.labels != 0;
  EXPECT_TRUE(at::equal(w.labels.masked_select(kept), w0.labels.masked_select(kept)));
  auto g2 = testing::generator(5);
  auto expected_drop = at::rand({20000}, g2) < 0.1;
  EXPECT_TRUE(at::equal(w.labels == 0, expected_drop));
}

}  // namespace
}  // namespace dipole
