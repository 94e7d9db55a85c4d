#include "dipole/sdk/flow.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "dipole/errors.hpp"

namespace dipole {

TimeSampling parse_time_sampling(const std::string& name) {
  if (name == "uniform") return TimeSampling::Uniform;
  if (name == "grid") return TimeSampling::Grid;
  throw ConfigError("unknown t_sampling '" + name + "' (expected \"uniform\" or \"grid\")");
}

const Keys<FlowTime>& flow_time_keys() {
  static const Keys<FlowTime> keys{
      key(&FlowTime::sampling, "t_sampling",
          "flow time draw: uniform t ~ U[0, 1) or grid t = j/G, j uniform in {0..G} "
          "(docs/algorithms.md, \"Flow matching\")")
          .choices({{"uniform", TimeSampling::Uniform}, {"grid", TimeSampling::Grid}}),
      key(&FlowTime::grid, "time_grid", "G of t_sampling = grid").range(1, 1000000),
  };
  return keys;
}

Schema flow_time_schema() {
  return flow_time_keys().schema();
}

FlowTime flow_time(const Params& params) {
  return flow_time_keys().read(params);
}

FlowSample flow_sample(const at::Tensor& actions, at::Generator& generator, TimeSampling sampling,
                       std::int64_t grid) {
  const auto batch = actions.size(0);
  const auto dim = actions.size(1);
  auto float_options = at::TensorOptions().dtype(at::kFloat);
  // Noise first, then times: the order is part of the reproducibility contract (docs/algorithms.md, "Random
  // draws and reproducibility").
  auto noise = at::randn({batch, dim}, generator, float_options);
  at::Tensor t;
  if (sampling == TimeSampling::Uniform) {
    t = at::rand({batch, 1}, generator, float_options);
  } else {
    t = at::randint(0, grid + 1, {batch, 1}, generator, float_options).div_(static_cast<double>(grid));
  }
  FlowSample out;
  out.noise = noise.to(actions.options());
  out.t = t.to(actions.options());
  out.x_t = flow_interpolate(out.noise, actions, out.t);
  out.target = actions - out.noise;
  return out;
}

at::Tensor flow_interpolate(const at::Tensor& noise, const at::Tensor& actions, const at::Tensor& t) {
  return (1.0 - t) * noise + t * actions;
}

at::Tensor flow_error(const at::Tensor& velocity, const at::Tensor& target) {
  return (velocity - target).pow(2).mean(-1);
}

at::Tensor weighted_flow_loss(const at::Tensor& error, const at::Tensor& weights) {
  if (!weights.defined()) return error.mean(-1);
  return (error * weights).mean(-1);
}

at::Tensor guided_velocity(const at::Tensor& v_pos, const at::Tensor& v_neg, double omega) {
  return at::add(v_pos * (1.0 + omega), v_neg, -omega);
}

at::Tensor euler_integrate(const at::Tensor& x0, std::int64_t steps, const VelocityFn& velocity, bool clip) {
  if (steps < 1)
    throw ConfigError("Euler integration needs at least one step (got " + std::to_string(steps) + ")");
  at::Tensor x = x0.clone();
  auto t = at::empty({x0.size(0), 1}, x0.options());
  const double dt = 1.0 / static_cast<double>(steps);
  for (std::int64_t i = 0; i < steps; ++i) {
    t.fill_(static_cast<double>(i) / static_cast<double>(steps));
    x.add_(velocity(x, t), dt);
  }
  return clip ? x.clamp_(-1.0, 1.0) : x;
}

}  // namespace dipole
