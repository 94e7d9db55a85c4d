// `dipole-bench act` (issue 5, item 4): latency of Algorithm::act for one observation with the
// paper-scale DIPOLE pipeline configs/bench/dipole.toml (or --pipeline; ω-guided Euler, --steps 10),
// without rejection (N_c = 1) and with best-of-N_c (default 32), each compared with two lower bounds
// measured in the same run:
//   memory bound = weight bytes read per call / streaming read bandwidth;
//   FLOP bound   = matrix-multiply FLOPs per call / the machine's at::mm GFLOP/s.
// Both are counted, for each case, from the matrix products of one observed call (count_gemms: the
// FLOPs from the operands' shapes, the bytes of the weight operands). For DIPOLE a call reads both
// denoiser members once per Euler step (v⁺ and v⁻ in one ensemble forward; v⁺ only at ω = 0) and, with
// N_c > 1, both online Q members once for the scores.
// Bounds and latencies are measured in --rounds alternating rounds; the figure is the median over
// rounds of latency / max(bounds) (target ≤ 1.5). Also timed: the same calls inside c10::InferenceMode
// (the plugins use NoGradGuard).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <iostream>

#include "bench_common.hpp"

namespace dipole::bench {

namespace {

/// Median seconds per call of `fn` over sub-samples of >= 20 ms, for >= `seconds` in all.
template <class Fn>
double per_call(Fn&& fn, double seconds) {
  std::vector<double> samples;
  double total = 0;
  while (total < seconds || samples.size() < 3) {
    int reps = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    do {
      fn();
      ++reps;
      elapsed = seconds_between(t0, Clock::now());
    } while (elapsed < 0.02);
    samples.push_back(elapsed / reps);
    total += elapsed;
  }
  return median(samples);
}

}  // namespace

int act_latency(const Args& args) {
  po::options_description options("options");
  PipelineChoice choice;
  choice.name = "dipole";
  std::string csv;
  std::int64_t steps = 10, candidates = 32, observations = 1;
  double omega = 1.0, seconds = 3.0;
  int threads = 0, blas_threads = 0, rounds = 6;
  add_pipeline_options(options, choice, "the pipeline configs/bench/<NAME>.toml (default dipole)");
  options.add_options()("steps", po::value(&steps)->default_value(10), "Euler steps N")(
      "omega", po::value(&omega)->default_value(1.0), "guidance ω (≠ 0: both members every step)")(
      "candidates", po::value(&candidates)->default_value(32), "N_c of the rejection-sampling case")(
      "observations", po::value(&observations)->default_value(1),
      "observations per call (1 = the latency case; more: a batched act, bounds scaled by rows)")(
      "seconds", po::value(&seconds)->default_value(6.0), "time per case (all rounds, both variants)")(
      "rounds", po::value(&rounds)->default_value(6), "rounds of bounds + latencies")(
      "threads", po::value(&threads), "at::set_num_threads(N)")("blas-threads", po::value(&blas_threads),
                                                                "openblas_set_num_threads(N)")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole bench act [--algorithm NAME | --pipeline FILE] [--set k=v ...]\n"
          "         [--hidden 512,512,512,512] [--steps 10] [--omega 1]\n"
          "         [--candidates 32] [--observations 1] [--seconds 6] [--rounds 6] [--threads N]\n"
          "         [--blas-threads N] [--csv FILE]\n"
          "Action latency for one observation against the memory-bandwidth and FLOP bounds.",
          options, positional, vm))
    return 0;
  if (steps < 1 || candidates < 1 || rounds < 1 || observations < 1)
    throw ConfigError("--steps, --candidates, --rounds and --observations must be at least 1");
  apply_threads(threads, blas_threads, std::cout);
  const double load_start = load_average();

  BenchPipeline bench = load_bench_pipeline(choice, "act");
  Run run = build_run(Registry::with_default_plugins(), std::move(bench.pipeline));

  auto generator = at::detail::createCPUGenerator(5);
  const auto observation = at::randn({observations, run.spec.obs_dim}, generator, at::kFloat);
  struct Case {
    std::int64_t candidates = 1;
    ActOptions options;
    double bytes = 0, flop = 0;
    std::int64_t gemm_calls = 0;
    std::vector<double> latency, inference, ratio, memory_bound, flop_bound;
  };
  std::vector<Case> cases;
  for (const std::int64_t nc : {std::int64_t{1}, candidates}) {
    Case c;
    c.candidates = nc;
    c.options.omega = omega;
    c.options.steps = steps;
    c.options.num_candidates = nc;
    const GemmCount count = count_gemms([&] { run.algorithm->act(observation, c.options, generator); });
    c.bytes = count.weight_bytes;
    c.flop = count.flop;
    c.gemm_calls = count.calls;
    if (!(c.flop > 0)) throw Error("bench act: the observer saw no matrix product in a call of act()");
    cases.push_back(c);
  }
  // Warm-up, then rounds: bandwidth and peak, then each case with NoGradGuard (the plugins') and
  // inside c10::InferenceMode, so that bounds and latencies of one round see the same load.
  for (auto& c : cases)
    for (int i = 0; i < 5; ++i) run.algorithm->act(observation, c.options, generator);
  std::vector<double> bandwidths, peaks;
  for (int r = 0; r < rounds; ++r) {
    const double bandwidth = read_bandwidth(std::size_t{256} << 20, 3);
    const double peak = std::max(measure_matmul(256, 512, 512, 3, 0.2).gflops,
                                 measure_matmul(1024, 1024, 1024, 3, 0.3).gflops);
    bandwidths.push_back(bandwidth);
    peaks.push_back(peak);
    for (auto& c : cases) {
      const double slice = seconds / rounds / 2;
      const double latency = per_call([&] { run.algorithm->act(observation, c.options, generator); }, slice);
      const double inference = per_call(
          [&] {
            c10::InferenceMode guard;
            run.algorithm->act(observation, c.options, generator);
          },
          slice);
      const double memory_bound = c.bytes / bandwidth, flop_bound = c.flop / (peak * 1e9);
      c.latency.push_back(1e3 * latency);
      c.inference.push_back(1e3 * inference);
      c.memory_bound.push_back(1e3 * memory_bound);
      c.flop_bound.push_back(1e3 * flop_bound);
      c.ratio.push_back(latency / std::max(memory_bound, flop_bound));
    }
  }
  Rows rows;
  rows.emplace_back("pipeline", run.pipeline.source());
  rows.emplace_back("hidden", choice.hidden.empty() ? "the pipeline's" : choice.hidden);
  rows.emplace_back("steps", std::to_string(steps));
  rows.emplace_back("omega", fmt::format("{}", omega));
  rows.emplace_back("rounds", std::to_string(rounds));
  rows.emplace_back("machine_peak_gflops", format_spread(spread(peaks), "{:.2f}"));
  std::vector<double> gbs;
  for (double b : bandwidths) gbs.push_back(b / 1e9);
  rows.emplace_back("read_bandwidth_gb_per_s (256 MiB sum, one thread)",
                    format_spread(spread(gbs), "{:.2f}"));
  std::vector<double> figures;
  for (const auto& c : cases) {
    const std::string tag = c.candidates == 1 ? "no_rejection" : fmt::format("best_of_{}", c.candidates);
    rows.emplace_back(tag + "_latency_ms", format_spread(spread(c.latency), "{:.3f}"));
    rows.emplace_back(tag + "_latency_inference_mode_ms", format_spread(spread(c.inference), "{:.3f}"));
    rows.emplace_back(tag + "_gemm_calls", std::to_string(c.gemm_calls));
    rows.emplace_back(tag + "_weight_mb_read", fmt::format("{:.2f}", c.bytes / 1e6));
    rows.emplace_back(tag + "_memory_bound_ms", format_spread(spread(c.memory_bound), "{:.3f}"));
    rows.emplace_back(tag + "_gflop", fmt::format("{:.4f}", c.flop / 1e9));
    rows.emplace_back(tag + "_flop_bound_ms", format_spread(spread(c.flop_bound), "{:.3f}"));
    rows.emplace_back(tag + "_ratio_to_larger_bound", format_spread(spread(c.ratio), "{:.3f}"));
    figures.push_back(median(c.ratio));
  }
  rows.emplace_back("load_average (start, end)", fmt::format("{:.2f}, {:.2f}", load_start, load_average()));
  std::cout << "\n";
  print_rows(rows, std::cout);
  std::cout << fmt::format(
      "latency / larger bound: {:.3f} without rejection, {:.3f} with best-of-{} (target ≤ 1.5)\n", figures[0],
      figures[1], candidates);
  if (!csv.empty()) write_csv(csv, rows);
  return 0;
}

}  // namespace dipole::bench
