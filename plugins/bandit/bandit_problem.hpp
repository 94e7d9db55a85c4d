// The contextual bandit with a known answer (docs/algorithms.md, "The built-in bandit (plugins/bandit)",
// "DIPOLE"): analytic densities, rewards, values and the exact ("oracle") flow velocities, so learning tests
// can compare what an algorithm samples with what it should sample.
//
// Header-only and free of LibTorch: the bandit plugin (dataset, environment, oracle critic) and the
// learning tests include it. Everything lives on a grid of G equal cells over the action range
// [−1, 1]; a density is a vector of G values p_g with Σ_g p_g·h = 1 (h = 2/G).
//
// Problem. C contexts, encoded one-hot. Context c has a behaviour density μ(a|c), a Gaussian
// mixture truncated to [−1, 1], and a reward r(c, a). Every transition is terminal (mask 0), so
// Q(c, a) = r(c, a), V_τ(c) = the τ-expectile of r(c, a) under a ~ μ(·|c) and A = r − V_τ.
// Two context kinds:
//   bimodal   μ = 0.6·N(−0.5, 0.15²) + 0.4·N(0.4, 0.2²),  r(a) = −2·|a − 0.6|   (docs/algorithms.md,
//   "DIPOLE") unimodal  μ = N(0, 0.35²),                           r(a) = a
// Problems ("problem" key of the plugin): "mixed" (even contexts bimodal, odd contexts unimodal:
// with the default C = 2, context 0 bimodal and context 1 unimodal), "bimodal", "unimodal".
//
// Targets (docs/algorithms.md, "DIPOLE"): π⁺ ∝ μ·σ(βA + k), π⁻ ∝ μ·σ(−(βA + k)), π* ∝ μ·σ(βA + k)·e^{ωβA}.
// Oracle velocity of a density p (docs/algorithms.md, "Flow matching", "The built-in bandit
// (plugins/bandit)"), interpolant x_t = (1 − t)z + t·a:
//   E[a | x_t = x] = Σ_g a_g p_g N(x; t·a_g, (1 − t)²) / Σ_g p_g N(x; t·a_g, (1 − t)²)
//   v_t(x)         = (E[a | x_t = x] − x) / (1 − t)
// and the oracle push-forward: quantiles of N(0, 1) integrated by the same Euler / guided Euler
// procedure as the samplers (left endpoints t_i = i/N, clip once at the end).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace dipole::bandit {

inline constexpr double kActionLow = -1.0;
inline constexpr double kActionHigh = 1.0;

// ---- problem definition ---------------------------------------------------------------------------

struct GaussianComponent {
  double weight = 1.0;
  double mean = 0.0;
  double stddev = 1.0;
};

enum class RewardKind {
  Linear,  ///< r(a) = a: maximum 1 at a = 1
  Peak,    ///< r(a) = −2·|a − peak|: maximum 0 at a = peak
};

struct Context {
  std::string kind;                          ///< "bimodal" | "unimodal"
  std::vector<GaussianComponent> behaviour;  ///< μ before truncation to [−1, 1]
  RewardKind reward_kind = RewardKind::Linear;
  double peak = 0.6;  ///< for RewardKind::Peak

  double reward(double a) const { return reward_kind == RewardKind::Linear ? a : -2.0 * std::abs(a - peak); }
  /// Unnormalised behaviour density (mixture of Gaussian pdfs) at a, for a in [−1, 1].
  double behaviour_pdf(double a) const {
    double p = 0.0;
    for (const auto& g : behaviour) {
      const double z = (a - g.mean) / g.stddev;
      p += g.weight * std::exp(-0.5 * z * z) / (g.stddev * std::sqrt(2.0 * M_PI));
    }
    return p;
  }
  /// argmax of r over [−1, 1].
  double optimal_action() const { return reward_kind == RewardKind::Linear ? kActionHigh : peak; }
  /// max of r over [−1, 1].
  double max_reward() const { return reward(optimal_action()); }
};

inline Context bimodal_context() {
  Context c;
  c.kind = "bimodal";
  c.behaviour = {{0.6, -0.5, 0.15}, {0.4, 0.4, 0.2}};
  c.reward_kind = RewardKind::Peak;
  c.peak = 0.6;
  return c;
}

inline Context unimodal_context() {
  Context c;
  c.kind = "unimodal";
  c.behaviour = {{1.0, 0.0, 0.35}};
  c.reward_kind = RewardKind::Linear;
  return c;
}

/// The contexts of a named problem: "mixed" (bimodal at even indices, unimodal at odd ones),
/// "bimodal" or "unimodal". Throws std::invalid_argument for another name or C < 1.
inline std::vector<Context> make_contexts(const std::string& problem, std::int64_t num_contexts) {
  if (num_contexts < 1) throw std::invalid_argument("bandit: need at least one context");
  if (problem != "mixed" && problem != "bimodal" && problem != "unimodal")
    throw std::invalid_argument("bandit: unknown problem '" + problem + "' (mixed | bimodal | unimodal)");
  std::vector<Context> contexts;
  for (std::int64_t c = 0; c < num_contexts; ++c) {
    const bool bimodal = problem == "bimodal" || (problem == "mixed" && c % 2 == 0);
    contexts.push_back(bimodal ? bimodal_context() : unimodal_context());
  }
  return contexts;
}

/// One draw from μ(·|c): a mixture component by weight, then a Gaussian draw, rejected until it
/// lies in [−1, 1] (exact truncation).
inline double sample_behaviour(const Context& context, std::mt19937_64& rng) {
  double total = 0.0;
  for (const auto& g : context.behaviour) total += g.weight;
  std::uniform_real_distribution<double> uniform(0.0, total);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (;;) {
    double u = uniform(rng);
    const GaussianComponent* pick = &context.behaviour.back();
    for (const auto& g : context.behaviour) {
      if (u < g.weight) {
        pick = &g;
        break;
      }
      u -= g.weight;
    }
    const double a = pick->mean + pick->stddev * normal(rng);
    if (a >= kActionLow && a <= kActionHigh) return a;
  }
}

// ---- grids and densities --------------------------------------------------------------------------

/// G equal cells over [−1, 1]; points are the cell midpoints.
struct Grid {
  std::vector<double> points;
  double width = 0.0;
};

inline Grid make_grid(std::int64_t cells = 2000) {
  Grid grid;
  grid.width = (kActionHigh - kActionLow) / static_cast<double>(cells);
  grid.points.resize(static_cast<std::size_t>(cells));
  for (std::int64_t g = 0; g < cells; ++g)
    grid.points[static_cast<std::size_t>(g)] = kActionLow + (static_cast<double>(g) + 0.5) * grid.width;
  return grid;
}

using Density = std::vector<double>;

/// Scales `values` so that Σ p·h = 1.
inline Density normalize(Density values, const Grid& grid) {
  double mass = 0.0;
  for (double v : values) mass += v * grid.width;
  if (!(mass > 0.0)) throw std::invalid_argument("bandit: a density with zero mass");
  for (double& v : values) v /= mass;
  return values;
}

inline double integral(const Density& density, const Grid& grid) {
  double mass = 0.0;
  for (double v : density) mass += v * grid.width;
  return mass;
}

/// ∫ f(a) p(a) da on the grid.
template <class F>
double expectation(const Density& density, const Grid& grid, F&& f) {
  double sum = 0.0;
  for (std::size_t g = 0; g < density.size(); ++g) sum += f(grid.points[g]) * density[g] * grid.width;
  return sum;
}

/// μ(·|c) truncated to [−1, 1] and normalised.
inline Density behaviour_density(const Context& context, const Grid& grid) {
  Density p(grid.points.size());
  for (std::size_t g = 0; g < p.size(); ++g) p[g] = context.behaviour_pdf(grid.points[g]);
  return normalize(std::move(p), grid);
}

inline std::vector<double> rewards_on_grid(const Context& context, const Grid& grid) {
  std::vector<double> r(grid.points.size());
  for (std::size_t g = 0; g < r.size(); ++g) r[g] = context.reward(grid.points[g]);
  return r;
}

/// The τ-expectile of values r_g under the density p (docs/algorithms.md, "Critics: expectile value, TD
/// target, Polyak"): the V solving τ·∫(r − V)₊ p = (1 − τ)·∫(V − r)₊ p, found by bisection (the left side
/// minus the right side is strictly decreasing in V).
inline double expectile(const std::vector<double>& values, const Density& density, const Grid& grid,
                        double tau) {
  double lo = *std::min_element(values.begin(), values.end());
  double hi = *std::max_element(values.begin(), values.end());
  for (int iteration = 0; iteration < 200 && hi - lo > 1e-14; ++iteration) {
    const double v = 0.5 * (lo + hi);
    double balance = 0.0;
    for (std::size_t g = 0; g < values.size(); ++g) {
      const double u = values[g] - v;
      balance += (u > 0 ? tau * u : (1.0 - tau) * u) * density[g] * grid.width;
    }
    (balance > 0 ? lo : hi) = v;
  }
  return 0.5 * (lo + hi);
}

/// V_τ(c): the τ-expectile of r(c, a) under a ~ μ(·|c).
inline double expectile_value(const Context& context, const Grid& grid, double tau) {
  return expectile(rewards_on_grid(context, grid), behaviour_density(context, grid), grid, tau);
}

/// A(c, a_g) = r(c, a_g) − V_τ(c).
inline std::vector<double> advantages(const Context& context, const Grid& grid, double tau) {
  auto r = rewards_on_grid(context, grid);
  const double v = expectile_value(context, grid, tau);
  for (double& x : r) x -= v;
  return r;
}

inline double sigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}

/// μ·σ(sign·(βA + k))·e^{ωβA}, normalised (computed in log space: no overflow for large ωβA).
/// sign = +1, ω = 0: π⁺;  sign = −1, ω = 0: π⁻;  sign = +1: π* of Thm 1 with the practical shift.
inline Density tilted_density(const Density& behaviour, const std::vector<double>& advantage,
                              const Grid& grid, double beta, double shift, double omega, double sign = 1.0) {
  std::vector<double> log_p(behaviour.size(), -std::numeric_limits<double>::infinity());
  double max_log = -std::numeric_limits<double>::infinity();
  for (std::size_t g = 0; g < behaviour.size(); ++g) {
    if (behaviour[g] <= 0.0) continue;
    const double x = sign * (beta * advantage[g] + shift);
    const double log_sigmoid = x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x));
    log_p[g] = std::log(behaviour[g]) + log_sigmoid + omega * beta * advantage[g];
    max_log = std::max(max_log, log_p[g]);
  }
  Density p(behaviour.size(), 0.0);
  for (std::size_t g = 0; g < p.size(); ++g) p[g] = std::exp(log_p[g] - max_log);
  return normalize(std::move(p), grid);
}

/// The analytic densities of one context for DIPOLE's targets.
struct Targets {
  Density behaviour;  ///< μ
  Density positive;   ///< π⁺ ∝ μσ(βA + k)
  Density negative;   ///< π⁻ ∝ μσ(−(βA + k))
  Density optimal;    ///< π* ∝ μσ(βA + k)e^{ωβA}
};

inline Targets dipole_targets(const Context& context, const Grid& grid, double tau, double beta, double shift,
                              double omega) {
  Targets t;
  t.behaviour = behaviour_density(context, grid);
  const auto a = advantages(context, grid, tau);
  t.positive = tilted_density(t.behaviour, a, grid, beta, shift, 0.0, +1.0);
  t.negative = tilted_density(t.behaviour, a, grid, beta, shift, 0.0, -1.0);
  t.optimal = tilted_density(t.behaviour, a, grid, beta, shift, omega, +1.0);
  return t;
}

// ---- oracle velocities and push-forward ------------------------------------------------------------

/// Exact marginal velocity v_t(x) of the linear interpolant for data distributed as a grid density
/// (log-sum-exp quadrature on the grid; cells with zero density are dropped once). t in [0, 1).
class OracleVelocity {
 public:
  OracleVelocity(const Density& density, const Grid& grid) {
    for (std::size_t g = 0; g < density.size(); ++g) {
      if (!(density[g] > 0.0)) continue;
      points_.push_back(grid.points[g]);
      log_density_.push_back(std::log(density[g]));
    }
    exponents_.resize(points_.size());
  }

  double operator()(double x, double t) const {
    const double s = 1.0 - t;
    const double inv_two_var = 1.0 / (2.0 * s * s);
    double max_log = -std::numeric_limits<double>::infinity();
    for (std::size_t g = 0; g < points_.size(); ++g) {
      const double d = x - t * points_[g];
      exponents_[g] = log_density_[g] - d * d * inv_two_var;
      max_log = std::max(max_log, exponents_[g]);
    }
    double numerator = 0.0, denominator = 0.0;
    for (std::size_t g = 0; g < points_.size(); ++g) {
      const double w = std::exp(exponents_[g] - max_log);
      numerator += w * points_[g];
      denominator += w;
    }
    return (numerator / denominator - x) / s;
  }

 private:
  std::vector<double> points_;
  std::vector<double> log_density_;
  mutable std::vector<double> exponents_;  // scratch: one object per thread
};

inline double oracle_velocity(const Density& density, const Grid& grid, double x, double t) {
  return OracleVelocity(density, grid)(x, t);
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one Halley step (≈1e−15).
inline double normal_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

/// The n quantiles Φ⁻¹((i + ½)/n): a deterministic stand-in for n draws of N(0, 1).
inline std::vector<double> normal_quantiles(std::int64_t n) {
  std::vector<double> z(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    z[static_cast<std::size_t>(i)] = normal_quantile((static_cast<double>(i) + 0.5) / static_cast<double>(n));
  return z;
}

/// Guided Euler with exact velocities: x ← x + ((1 + ω)v⁺ − ωv⁻)/N at t_i = i/N, from each start,
/// then clip to [−1, 1]. With ω = 0 only `positive` is used (plain Euler on π⁺).
inline std::vector<double> oracle_guided_samples(const Density& positive, const Density& negative,
                                                 const Grid& grid, double omega, std::int64_t steps,
                                                 std::vector<double> starts) {
  const OracleVelocity v_pos(positive, grid);
  const OracleVelocity v_neg(omega != 0.0 ? negative : positive, grid);
  for (std::int64_t i = 0; i < steps; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(steps);
    for (double& x : starts) {
      double v = v_pos(x, t);
      if (omega != 0.0) v = (1.0 + omega) * v - omega * v_neg(x, t);
      x += v / static_cast<double>(steps);
    }
  }
  for (double& x : starts) x = std::clamp(x, kActionLow, kActionHigh);
  return starts;
}

/// Plain Euler with exact velocities of `density` from the starts (ω = 0 of the above).
inline std::vector<double> oracle_euler_samples(const Density& density, const Grid& grid, std::int64_t steps,
                                                std::vector<double> starts) {
  return oracle_guided_samples(density, density, grid, 0.0, steps, std::move(starts));
}

// ---- histograms and distances ---------------------------------------------------------------------

/// Probabilities of `bins` equal bins over [−1, 1]; values outside are counted in the edge bins.
inline std::vector<double> histogram(const std::vector<double>& samples, std::int64_t bins) {
  std::vector<double> h(static_cast<std::size_t>(bins), 0.0);
  if (samples.empty()) return h;
  for (double a : samples) {
    auto b = static_cast<std::int64_t>(std::floor((a - kActionLow) / (kActionHigh - kActionLow) * bins));
    b = std::clamp<std::int64_t>(b, 0, bins - 1);
    h[static_cast<std::size_t>(b)] += 1.0;
  }
  for (double& x : h) x /= static_cast<double>(samples.size());
  return h;
}

/// Bin probabilities of a grid density (each cell is assigned to the bin holding its midpoint; exact
/// when the number of cells is a multiple of `bins`).
inline std::vector<double> density_histogram(const Density& density, const Grid& grid, std::int64_t bins) {
  std::vector<double> h(static_cast<std::size_t>(bins), 0.0);
  for (std::size_t g = 0; g < density.size(); ++g) {
    auto b = static_cast<std::int64_t>(
        std::floor((grid.points[g] - kActionLow) / (kActionHigh - kActionLow) * bins));
    b = std::clamp<std::int64_t>(b, 0, bins - 1);
    h[static_cast<std::size_t>(b)] += density[g] * grid.width;
  }
  return h;
}

/// Total variation ½·Σ|p_b − q_b| between two histograms of the same bins.
inline double total_variation(const std::vector<double>& p, const std::vector<double>& q) {
  if (p.size() != q.size()) throw std::invalid_argument("bandit: histograms with different bins");
  double tv = 0.0;
  for (std::size_t b = 0; b < p.size(); ++b) tv += std::abs(p[b] - q[b]);
  return 0.5 * tv;
}

/// Expected histogram-noise term √(b/(2πn)) of the TV between an n-sample histogram and its law
/// (docs/algorithms.md, "The built-in bandit (plugins/bandit)").
inline double histogram_noise(std::int64_t bins, std::int64_t samples) {
  return std::sqrt(static_cast<double>(bins) / (2.0 * M_PI * static_cast<double>(samples)));
}

inline double mean_reward(const Context& context, const std::vector<double>& actions) {
  double sum = 0.0;
  for (double a : actions) sum += context.reward(a);
  return actions.empty() ? 0.0 : sum / static_cast<double>(actions.size());
}

inline double mean_reward(const Context& context, const Density& density, const Grid& grid) {
  return expectation(density, grid, [&](double a) { return context.reward(a); });
}

}  // namespace dipole::bandit
