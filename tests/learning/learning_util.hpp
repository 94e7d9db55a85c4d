// Shared helpers of the learning tests: build a run from a TOML string, train it with the plain
// sample → update loop, and sample actions per bandit context.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bandit_problem.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/pipeline.hpp"
#include "dipole/core/registry.hpp"
#include "support/build_run.hpp"

namespace dipole::learning {

inline const Registry& registry() {
  static const Registry instance = Registry::with_default_plugins();
  return instance;
}

inline Run make_run(const std::string& toml, const std::string& name,
                    const std::vector<std::string>& overrides = {}) {
  return test::build_run(registry(), config::Pipeline::parse(toml, name, overrides));
}

/// `steps` updates with batches of run.trainer.batch_size; generators seeded from the trainer seed.
/// Returns the metrics of the last step (requested there only).
inline Metrics train(Run& run, std::int64_t steps) {
  auto data_gen = at::detail::createCPUGenerator(run.trainer.seed * 2 + 1);
  auto algo_gen = at::detail::createCPUGenerator(run.trainer.seed * 2 + 2);
  Metrics last;
  for (std::int64_t step = 1; step <= steps; ++step) {
    const Batch batch = run.dataset->sample(run.trainer.batch_size, data_gen);
    auto metrics = run.algorithm->update(batch, algo_gen, step == steps);
    if (step == steps) last = std::move(metrics);
  }
  return last;
}

/// Train with a two-stage learning rate: `steps_high` updates as configured, then `steps_low` updates
/// with `low_lr_overrides` (e.g. "denoiser.lr=3e-4") applied, continuing from the first stage's complete
/// state (networks, targets, Adam moments) through state()/load_state(). The algorithms have no lr
/// schedule; a constant lr leaves final-iterate noise in the velocity fields that histogram tests see
/// (measured: run-to-run TV spread 0.05–0.1 at lr 1e-3..3e-3), and the low-lr stage removes most of it.
inline Run train_two_stage(const std::string& toml, const std::string& name,
                           const std::vector<std::string>& overrides, std::int64_t steps_high,
                           std::int64_t steps_low, const std::vector<std::string>& low_lr_overrides) {
  Run first = make_run(toml, name, overrides);
  train(first, steps_high);
  const StateDict state = first.algorithm->state();
  std::vector<std::string> second_overrides = overrides;
  second_overrides.insert(second_overrides.end(), low_lr_overrides.begin(), low_lr_overrides.end());
  // A new data/update noise stream for the second stage (same data distribution).
  second_overrides.push_back("trainer.seed=" + std::to_string(first.trainer.seed + 1000));
  Run second = make_run(toml, name, second_overrides);
  second.algorithm->load_state(state);
  train(second, steps_low);
  return second;
}

/// n one-hot observations of `context` among `contexts`: [n, contexts].
inline at::Tensor context_observations(std::int64_t context, std::int64_t contexts, std::int64_t n) {
  auto obs = at::zeros({n, contexts}, at::kFloat);
  obs.select(1, context).fill_(1.0);
  return obs;
}

/// n actions sampled by the algorithm in `context`, as doubles.
inline std::vector<double> sample_context(Algorithm& algorithm, std::int64_t context, std::int64_t contexts,
                                          std::int64_t n, const ActOptions& options, std::uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto actions = algorithm.act(context_observations(context, contexts, n), options, gen)
                           .reshape({-1})
                           .to(at::kDouble)
                           .contiguous();
  const double* p = actions.data_ptr<double>();
  return std::vector<double>(p, p + actions.numel());
}

inline ActOptions act_options(double omega, std::int64_t steps, std::int64_t num_candidates = 1) {
  ActOptions options;
  options.omega = omega;
  options.steps = steps;
  options.num_candidates = num_candidates;
  return options;
}

/// Mean and standard error of r over sampled actions.
struct RewardStats {
  double mean = 0.0;
  double standard_error = 0.0;
};

inline RewardStats reward_stats(const bandit::Context& context, const std::vector<double>& actions) {
  double sum = 0.0, sum_sq = 0.0;
  for (double a : actions) {
    const double r = context.reward(a);
    sum += r;
    sum_sq += r * r;
  }
  const double n = static_cast<double>(actions.size());
  const double mean = sum / n;
  const double var = std::max(0.0, sum_sq / n - mean * mean);
  return {mean, std::sqrt(var / n)};
}

/// Wall-clock seconds since construction, for the figures the tests print.
class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace dipole::learning
