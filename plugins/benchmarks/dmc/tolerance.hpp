// The soft indicator of the DeepMind Control Suite rewards (dm_control `rewards.tolerance`,
// docs/exorl.md, "The tolerance function"). Header-only and LibTorch-free so tests can check it against hand
// values.
#pragma once

#include <cmath>
#include <stdexcept>

namespace dipole::dmc {

enum class Sigmoid { Gaussian, Linear, Quadratic };

/// Shape s(d) of the tolerance outside the bounds, d ≥ 0 in units of the margin: s(0) = 1, s(1) = v.
inline double sigmoid(double d, Sigmoid kind, double v) {
  switch (kind) {
    case Sigmoid::Gaussian: {  // exp(−½ (d·c)²) with c = sqrt(−2 ln v), i.e. v^(d²); needs 0 < v < 1
      const double scale = std::sqrt(-2.0 * std::log(v));
      const double u = d * scale;
      return std::exp(-0.5 * u * u);
    }
    case Sigmoid::Linear: {  // 1 − d·(1 − v), clipped at 0; allows v = 0
      const double u = d * (1.0 - v);
      return std::abs(u) < 1.0 ? 1.0 - u : 0.0;
    }
    case Sigmoid::Quadratic: {  // 1 − (d·sqrt(1 − v))², clipped at 0
      const double u = d * std::sqrt(1.0 - v);
      return std::abs(u) < 1.0 ? 1.0 - u * u : 0.0;
    }
  }
  throw std::logic_error("dmc::sigmoid: unknown kind");
}

/// 1 inside [lo, hi] (inclusive; either bound may be ±∞), 0 outside when margin = 0, otherwise
/// s(d) with d = distance to the nearer bound / margin. Evaluated in dm_control's order (difference,
/// division by margin, scaling, sigmoid) so the result matches it to the last bit.
inline double tolerance(double x, double lo, double hi, double margin, Sigmoid kind, double value_at_margin) {
  if (lo <= x && x <= hi) return 1.0;
  if (margin == 0.0) return 0.0;
  const double d = (x < lo ? lo - x : x - hi) / margin;
  return sigmoid(d, kind, value_at_margin);
}

}  // namespace dipole::dmc
