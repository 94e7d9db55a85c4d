// Oracle pieces for the selection known-answer tests of IFQL (T3) and IDQL (T4), docs/algorithms.md:
// a sampler returning exact draws of a truncated Gaussian mixture μ (the "oracle denoiser"), a critic
// with a known Q and V, and the grid densities of the selected action.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <dipole/critic.hpp>
#include <dipole/sampler.hpp>

#include "bandit_problem.hpp"

namespace dipole::testing {

/// Exact draws of μ = Σ_k w_k·N(m_k, s_k²) truncated to [−1, 1]: per row one uniform (component) and
/// one normal, vectorised, redrawing the rows that fall outside. Ignores the field.
class ExactMixture : public Sampler {
 public:
  explicit ExactMixture(std::vector<bandit::GaussianComponent> parts) : parts_(std::move(parts)) {}
  at::Tensor sample(const at::Tensor& observations, const VelocityField&, const Critic*, const ActOptions&,
                    at::Generator& gen) const override {
    const auto n = observations.size(0);
    double total = 0;
    for (const auto& p : parts_) total += p.weight;
    auto out = at::empty({n}, at::kDouble);
    auto pending = at::arange(n, at::kLong);
    while (pending.numel() > 0) {
      const auto k = pending.numel();
      const auto u = at::rand({k}, gen, at::kDouble).mul_(total);
      const auto xi = at::randn({k}, gen, at::kDouble);
      auto mean = at::full({k}, parts_.back().mean, at::kDouble);
      auto sd = at::full({k}, parts_.back().stddev, at::kDouble);
      double upper = total;
      for (std::size_t i = parts_.size(); i-- > 1;) {  // u below the weight of parts 0..i−1 → part < i
        upper -= parts_[i].weight;
        const auto below = u.lt(upper);
        mean = at::where(below, at::full({k}, parts_[i - 1].mean, at::kDouble), mean);
        sd = at::where(below, at::full({k}, parts_[i - 1].stddev, at::kDouble), sd);
      }
      const auto a = mean + sd * xi;
      const auto ok = a.abs().le(1.0);
      out.index_copy_(0, pending.masked_select(ok), a.masked_select(ok));
      pending = pending.masked_select(ok.logical_not());
    }
    return out.view({n, 1}).to(at::kFloat);
  }
  ActOptions defaults() const override { return {}; }

 private:
  std::vector<bandit::GaussianComponent> parts_;
};

/// Q(s, a) = −2|a − 0.6| (or a when `linear`), one member; V(s) = `value`; A = Q − V.
class KnownQ : public Critic {
 public:
  explicit KnownQ(bool linear, double value = 0.0) : linear_(linear), value_(value) {}
  CriticLoss compute_loss(const Batch&, at::Generator&, bool) override { return {}; }
  void step() override {}
  void zero_grad() override {}
  at::Tensor q(const at::Tensor& o, const at::Tensor& a) const override { return score(o, a).unsqueeze(0); }
  at::Tensor score(const at::Tensor&, const at::Tensor& a) const override {
    const auto x = a.select(1, 0);
    return linear_ ? x.clone() : (x - 0.6).abs().mul(-2.0);
  }
  at::Tensor advantage(const at::Tensor& o, const at::Tensor& a) const override {
    return score(o, a) - value_;
  }

 private:
  bool linear_;
  double value_;
};

inline std::vector<double> q_on_grid(const bandit::Grid& grid) {
  std::vector<double> q(grid.points.size());
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = -2.0 * std::abs(grid.points[i] - 0.6);
  return q;
}

/// Best-of-N by Q: p_N(a) = N·μ(a)·G(Q(a))^{N−1}, G(q) = P_μ(Q ≤ q), G by sorting the grid by Q and
/// accumulating μ·dx (cells with equal Q share G).
inline bandit::Density order_statistic(const bandit::Density& mu, const std::vector<double>& q,
                                       const bandit::Grid& grid, std::int64_t n) {
  std::vector<std::size_t> order(mu.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return q[a] < q[b]; });
  bandit::Density p(mu.size());
  double below = 0;
  for (std::size_t k = 0; k < order.size();) {
    std::size_t e = k;
    double mass = 0;
    while (e < order.size() && q[order[e]] == q[order[k]]) mass += mu[order[e++]] * grid.width;
    const double g = below + mass;
    for (std::size_t i = k; i < e; ++i)
      p[order[i]] = static_cast<double>(n) * mu[order[i]] * std::pow(g, static_cast<double>(n - 1));
    below = g;
    k = e;
  }
  return bandit::normalize(p, grid);
}

inline double binomial_pmf(std::int64_t k, std::int64_t n, double p) {
  const double log_c = std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
  return std::exp(log_c + k * std::log(p) + (n - k) * std::log1p(-p));
}

/// Expectile resampling among N: P(selected has A > 0) = Σ_K Bin(K; N, p₊)·τK/(τK + (1 − τ)(N − K)).
inline double resample_positive_probability(double p_plus, double tau, std::int64_t n) {
  double sum = 0;
  for (std::int64_t k = 0; k <= n; ++k) {
    const double denominator = tau * k + (1 - tau) * (n - k);
    if (denominator > 0) sum += binomial_pmf(k, n, p_plus) * tau * k / denominator;
  }
  return sum;
}

/// Its density: p_N(a) = N·μ(a)·w(a)·E_{K′~Bin(N−1, p₊)}[1/(w(a) + τK′ + (1 − τ)(N − 1 − K′))].
inline bandit::Density resample_density(const bandit::Density& mu, const std::vector<double>& advantage,
                                        const bandit::Grid& grid, double tau, std::int64_t n, double p_plus) {
  double e_pos = 0, e_neg = 0;  // the expectation for w = τ and for w = 1 − τ
  for (std::int64_t k = 0; k < n; ++k) {
    const double b = binomial_pmf(k, n - 1, p_plus), rest = tau * k + (1 - tau) * (n - 1 - k);
    e_pos += b / (tau + rest);
    e_neg += b / (1 - tau + rest);
  }
  bandit::Density p(mu.size());
  for (std::size_t i = 0; i < mu.size(); ++i)
    p[i] = advantage[i] > 0 ? n * mu[i] * tau * e_pos : n * mu[i] * (1 - tau) * e_neg;
  return p;  // integrates to 1 by construction (not renormalised, so the test checks it)
}

}  // namespace dipole::testing
