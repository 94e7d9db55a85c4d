// Flow matching and Euler integration (docs/algorithms.md, "Flow matching", "Euler sampling and guidance"). t
// = 0 is noise, t = 1 data.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

#include "dipole/params.hpp"

namespace dipole {

/// `t_sampling`: uniform t ~ U[0, 1), or the grid t = j/G with j uniform in {0, …, G}.
enum class TimeSampling { Uniform, Grid };
/// "uniform" | "grid"; throws ConfigError otherwise.
TimeSampling parse_time_sampling(const std::string& name);
inline constexpr std::int64_t kDefaultTimeGrid = 32;

/// The keys `t_sampling` (uniform | grid, default uniform) and `time_grid` (G, default 32) of every
/// algorithm that trains a flow, declared once: bind them with nested(&Config::time, flow_time_keys()).
struct FlowTime {
  TimeSampling sampling = TimeSampling::Uniform;
  std::int64_t grid = kDefaultTimeGrid;
};
const Keys<FlowTime>& flow_time_keys();
/// flow_time_keys() as a schema, and read from validated params.
Schema flow_time_schema();
FlowTime flow_time(const Params& params);

/// One draw of the flow-matching quantities for a batch of actions a [B, d].
struct FlowSample {
  at::Tensor noise;   ///< z [B, d] ~ N(0, I)
  at::Tensor t;       ///< [B, 1]
  at::Tensor x_t;     ///< (1 − t)·z + t·a   [B, d]
  at::Tensor target;  ///< u = a − z         [B, d]
};

/// Draws z then t from `generator` (always in this order; on the generator's device, then moved to
/// the actions' device). `grid` is G for TimeSampling::Grid.
FlowSample flow_sample(const at::Tensor& actions, at::Generator& generator,
                       TimeSampling sampling = TimeSampling::Uniform, std::int64_t grid = kDefaultTimeGrid);
/// x_t = (1 − t)·z + t·a for given z [B, d], a [B, d], t [B, 1].
at::Tensor flow_interpolate(const at::Tensor& noise, const at::Tensor& actions, const at::Tensor& t);

/// Per-sample flow error ℓ = mean_d (v − u)²: v [M, B, d] or [B, d], u [B, d] → [M, B] or [B].
at::Tensor flow_error(const at::Tensor& velocity, const at::Tensor& target);
/// Per-member weighted loss L_j = mean_b (w_jb · ℓ_jb): error [M, B], weights [M, B] (or [B], or
/// undefined for w ≡ 1) → [M]. No division by the mean weight. Sum the result for the total loss.
at::Tensor weighted_flow_loss(const at::Tensor& error, const at::Tensor& weights);

/// Guided velocity (1 + ω)·v⁺ − ω·v⁻ (exact at ω = 0 and ω = −1 for finite inputs).
at::Tensor guided_velocity(const at::Tensor& v_pos, const at::Tensor& v_neg, double omega);

/// A velocity field in x and t: x [n, d], t [n, 1] → [n, d].
using VelocityFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;
/// Euler from t = 0 to 1 with N steps on the left endpoints t_i = i/N: x ← x + v(x, t_i)/N, starting
/// at `x0`; clipped to [−1, 1] once at the end when `clip`.
at::Tensor euler_integrate(const at::Tensor& x0, std::int64_t steps, const VelocityFn& velocity,
                           bool clip = true);

}  // namespace dipole
