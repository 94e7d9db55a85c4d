#include "dipole/core/evaluator.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "dipole/core/stop.hpp"
#include "dipole/errors.hpp"

namespace dipole {

void ActionStats::add(const at::Tensor& actions) {
  const at::Tensor a = actions.to(at::kCPU).to(at::kDouble).contiguous();
  if (a.dim() != 2)
    throw Error(fmt::format("ActionStats::add: expected [batch, action_dim], got {} dims", a.dim()));
  const auto dim = static_cast<std::size_t>(a.size(1));
  if (sum.empty()) {
    sum.assign(dim, 0.0);
    sum_squares.assign(dim, 0.0);
  } else if (sum.size() != dim) {
    throw Error(fmt::format("ActionStats::add: action_dim {} after {}", dim, sum.size()));
  }
  const double* p = a.data_ptr<double>();
  for (std::int64_t i = 0; i < a.size(0); ++i)
    for (std::size_t j = 0; j < dim; ++j) {
      const double v = p[static_cast<std::size_t>(i) * dim + j];
      sum[j] += v;
      sum_squares[j] += v * v;
      if (std::abs(v) >= 1.0 - kClipTolerance) ++clipped;
    }
  count += a.size(0);
}

double ActionStats::clipped_fraction() const {
  if (count == 0 || sum.empty()) return 0.0;
  return static_cast<double>(clipped) / (static_cast<double>(count) * static_cast<double>(sum.size()));
}

std::vector<double> ActionStats::mean() const {
  std::vector<double> m(sum.size(), 0.0);
  for (std::size_t j = 0; j < sum.size() && count > 0; ++j) m[j] = sum[j] / static_cast<double>(count);
  return m;
}

std::vector<double> ActionStats::stddev() const {
  const auto m = mean();
  std::vector<double> s(sum.size(), 0.0);
  for (std::size_t j = 0; j < sum.size() && count > 0; ++j)
    s[j] = std::sqrt(std::max(0.0, sum_squares[j] / static_cast<double>(count) - m[j] * m[j]));
  return s;
}

EvalResult evaluate(Algorithm& algorithm, const std::function<std::shared_ptr<Environment>()>& make_env,
                    std::int64_t episodes, std::int64_t parallel, const ActOptions& options,
                    std::uint64_t seed, EvalRecording* recording) {
  if (!make_env) throw ConfigError("evaluation needs an [environment] section in the pipeline");
  const std::int64_t slots = std::max<std::int64_t>(1, std::min(parallel, episodes));
  std::vector<std::shared_ptr<Environment>> envs;
  for (std::int64_t i = 0; i < slots; ++i) envs.push_back(make_env());
  const Spec spec = envs.front()->spec();
  const std::int64_t limit = envs.front()->max_episode_steps();

  // The policy's noise is seeded from the evaluation seed: the same checkpoint, options and seed give
  // the same episodes.
  at::Generator generator = at::detail::createCPUGenerator(seed ^ 0x5DEECE66DULL);
  at::NoGradGuard no_grad;

  struct Slot {
    bool active = false;
    double ret = 0;
    std::int64_t length = 0;
    at::Tensor obs;
  };
  std::vector<Slot> state(static_cast<std::size_t>(slots));
  std::int64_t started = 0;
  auto start = [&](std::size_t i) {
    if (started >= episodes) {
      state[i].active = false;
      return;
    }
    state[i] = Slot{true, 0.0, 0, envs[i]->reset(seed + static_cast<std::uint64_t>(started))};
    ++started;
  };
  for (std::size_t i = 0; i < state.size(); ++i) start(i);

  std::vector<double> returns, lengths, successes;
  ActionStats action_stats;
  std::vector<std::size_t> active;
  while (true) {
    throw_if_stop_requested("evaluation");  // a stop request abandons the unfinished episodes
    active.clear();
    for (std::size_t i = 0; i < state.size(); ++i)
      if (state[i].active) active.push_back(i);
    if (active.empty()) break;
    std::vector<at::Tensor> obs;
    obs.reserve(active.size());
    for (auto i : active) obs.push_back(state[i].obs);
    // One batched policy call for every running instance.
    const at::Tensor batch = at::stack(obs).to(at::kFloat);
    const at::Tensor actions =
        algorithm.act(batch, options, generator).to(at::kCPU).clamp(-1.0, 1.0).contiguous();
    if (actions.size(0) != static_cast<std::int64_t>(active.size()) || actions.size(1) != spec.action_dim)
      throw Error(fmt::format("act() returned actions of shape [{}, {}], expected [{}, {}]", actions.size(0),
                              actions.size(1), active.size(), spec.action_dim));
    action_stats.add(actions);
    if (recording) {
      recording->observations.push_back(batch.clone());
      recording->actions.push_back(actions.clone());
    }
    for (std::size_t k = 0; k < active.size(); ++k) {
      const std::size_t i = active[k];
      StepResult step = envs[i]->step(actions[static_cast<std::int64_t>(k)]);
      state[i].ret += step.reward;
      state[i].length += 1;
      state[i].obs = step.observation;
      if (step.terminated || step.truncated || state[i].length >= limit) {
        returns.push_back(state[i].ret);
        lengths.push_back(static_cast<double>(state[i].length));
        successes.push_back(step.success ? 1.0 : 0.0);
        start(i);
      }
    }
  }

  EvalResult result;
  result.options = options;
  result.episodes = static_cast<std::int64_t>(returns.size());
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  result.return_mean = mean(returns);
  double var = 0;
  for (double r : returns) var += (r - result.return_mean) * (r - result.return_mean);
  result.return_std = returns.empty() ? 0.0 : std::sqrt(var / static_cast<double>(returns.size()));
  result.success_rate = mean(successes);
  result.length_mean = mean(lengths);
  result.actions = std::move(action_stats);
  return result;
}

}  // namespace dipole
