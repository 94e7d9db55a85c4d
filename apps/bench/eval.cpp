// `dipole-bench eval` (issue 5, item 5): evaluation episodes/s of dipole::evaluate with K
// environment instances and one batched Algorithm::act per step, vs one environment at a time
// (parallel = 1), with the same untrained DIPOLE policy (best_of_n(guided_euler)), in one run.
// The pipeline is configs/bench/eval_<--env>.toml:
//   --env bandit: the built-in contextual bandit (one-step episodes; networks as configs/bandit_dipole.toml)
//   --env walker: dmc domain walker (task stand, 1000-step episodes) with walker-sized synthetic data
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <iostream>

#include "bench_common.hpp"
#include "dipole/core/evaluator.hpp"

namespace dipole::bench {

int eval_rate(const Args& args) {
  po::options_description options("options");
  std::string env = "bandit", hidden_text, csv;
  std::int64_t batched_episodes = 0, single_episodes = 0, parallel = 0, candidates = 32, steps = 10;
  int threads = 0, blas_threads = 0, repeat = 3;
  options.add_options()("env", po::value(&env)->default_value("bandit"), "bandit or walker")(
      "hidden", po::value(&hidden_text),
      "hidden widths of every network (default: the pipeline's, bandit 128,128; walker 512,512,512,512)")(
      "parallel", po::value(&parallel), "instances of the batched run (default: bandit 500, walker 8)")(
      "episodes", po::value(&batched_episodes),
      "episodes of the batched run (default: bandit 2000, walker 8)")(
      "single-episodes", po::value(&single_episodes),
      "episodes of the one-at-a-time run (default: bandit 200, walker 2)")(
      "candidates", po::value(&candidates)->default_value(32), "N_c of best_of_n (walker: 1 unless given)")(
      "steps", po::value(&steps)->default_value(10), "Euler steps")(
      "repeat", po::value(&repeat)->default_value(3), "alternate both runs N times; report the median")(
      "threads", po::value(&threads), "at::set_num_threads(N)")("blas-threads", po::value(&blas_threads),
                                                                "openblas_set_num_threads(N)")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: dipole bench eval [--env bandit|walker] [--hidden W,...] [--parallel K]\n"
                     "         [--episodes N] [--single-episodes N] [--candidates 32] [--steps 10]\n"
                     "         [--repeat 3] [--threads N] [--blas-threads N] [--csv FILE]\n"
                     "Evaluation episodes/s with batched policy calls vs one environment at a time.",
                     options, positional, vm))
    return 0;
  const bool walker = env == "walker";
  if (!walker && env != "bandit") throw ConfigError("--env: expected bandit or walker, got '" + env + "'");
  if (vm["candidates"].defaulted() && walker) candidates = 1;  // 1000-step episodes: keep the run short
  if (parallel <= 0) parallel = walker ? 8 : 500;
  if (batched_episodes <= 0) batched_episodes = walker ? 8 : 2000;
  if (single_episodes <= 0) single_episodes = walker ? 2 : 200;
  if (repeat < 1) throw ConfigError("--repeat must be at least 1");
  apply_threads(threads, blas_threads, std::cout);
  const double load_start = load_average();

  PipelineChoice choice;
  choice.name = "eval_" + env;
  choice.hidden = hidden_text;
  BenchPipeline bench = load_bench_pipeline(choice, "eval");
  Run run = build_run(Registry::with_default_plugins(), std::move(bench.pipeline));
  ActOptions act;
  act.omega = 1.0;
  act.num_candidates = candidates;
  act.steps = steps;
  const std::int64_t length = run.make_environment()->max_episode_steps();

  auto timed = [&](std::int64_t episodes, std::int64_t k) {
    const auto t0 = Clock::now();
    const EvalResult result = evaluate(*run.algorithm, run.make_environment, episodes, k, act, 1000);
    const double s = seconds_between(t0, Clock::now());
    if (result.episodes != episodes) throw Error("bench eval: evaluate ran a different number of episodes");
    return static_cast<double>(episodes) / s;
  };
  timed(std::min<std::int64_t>(parallel, batched_episodes), parallel);  // warm-up
  // The environment alone (one instance, uniform random actions in [−1, 1]): an upper bound on
  // episodes/s whatever the policy costs.
  double env_steps_per_s = 0;
  {
    auto instance = run.make_environment();
    auto gen = at::detail::createCPUGenerator(3);
    std::int64_t steps_done = 0;
    const auto t0 = Clock::now();
    for (std::uint64_t episode = 0; seconds_between(t0, Clock::now()) < 1.0 || steps_done < 10; ++episode) {
      instance->reset(episode);
      for (std::int64_t t = 0; t < length; ++t) {
        ++steps_done;
        const auto step = instance->step(at::rand({run.spec.action_dim}, gen, at::kFloat) * 2 - 1);
        if (step.terminated || step.truncated) break;
      }
    }
    env_steps_per_s = static_cast<double>(steps_done) / seconds_between(t0, Clock::now());
  }
  std::vector<double> batched, single, speedups;
  for (int r = 0; r < repeat; ++r) {
    batched.push_back(timed(batched_episodes, parallel));
    single.push_back(timed(single_episodes, 1));
    speedups.push_back(batched.back() / single.back());
    std::cout << fmt::format(
                     "repeat {}: batched {:.3f} episodes/s, one at a time {:.3f} episodes/s, ×{:.2f}\n",
                     r + 1, batched.back(), single.back(), speedups.back())
              << std::flush;
  }
  Rows rows;
  rows.emplace_back("environment", walker ? "dmc walker (stand)" : "bandit");
  rows.emplace_back("episode_length", std::to_string(length));
  rows.emplace_back("pipeline", run.pipeline.source());
  rows.emplace_back("hidden", hidden_text.empty() ? "the pipeline's" : hidden_text);
  rows.emplace_back("policy", fmt::format("best_of_{}(guided_euler, {} steps, ω = 1)", candidates, steps));
  rows.emplace_back("batched (parallel, episodes)", fmt::format("{}, {}", parallel, batched_episodes));
  rows.emplace_back("batched_episodes_per_s", format_spread(spread(batched), "{:.3f}"));
  rows.emplace_back("single_episodes_per_s", format_spread(spread(single), "{:.3f}"));
  rows.emplace_back("environment_alone_steps_per_s (random actions)", fmt::format("{:.0f}", env_steps_per_s));
  rows.emplace_back("environment_alone_episodes_per_s",
                    fmt::format("{:.2f}", env_steps_per_s / static_cast<double>(length)));
  rows.emplace_back("speedup", format_spread(spread(speedups), "{:.2f}"));
  rows.emplace_back("load_average (start, end)", fmt::format("{:.2f}, {:.2f}", load_start, load_average()));
  std::cout << "\n";
  print_rows(rows, std::cout);
  if (!csv.empty()) write_csv(csv, rows);
  return 0;
}

}  // namespace dipole::bench
