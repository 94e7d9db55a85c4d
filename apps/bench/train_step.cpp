// `dipole-bench train-step` (issue 5, items 1 and 3): how fast one training update runs, compared
// with this machine's own float32 matrix-multiply rate measured in the same run (shared, noisy
// machines: only ratios measured together mean something).
//
//   1. machine peak: median GFLOP/s of at::mm at [256 x 512] x [512 x 512] (one layer of the update)
//      and 1024^3, after warm-up; the larger is "machine peak".
//   2. an update of the pipeline configs/bench/<--algorithm>.toml (paper scale: 4×512, batch 256,
//      synthetic data with obs_dim 24 and act_dim 6, like the walker) or any --pipeline; warm-up, then
//      Algorithm::update timed for --seconds: updates/s is the median of per-chunk rates.
//   3. the matrix-multiply FLOPs of one update, counted from the GEMM operators' input shapes during
//      observed updates (the same for every algorithm). Achieved GFLOP/s and the ratio to the machine
//      peak follow.
//   1 and 2 alternate in --rounds rounds (default 8): each round measures the peak (~0.5 s) and then
//   times updates for --seconds/rounds, so the other load on the machine affects both alike; the
//   ratio of each round is achieved/peak and the figure is the median over rounds (with the range).
//   --profile: one more pass with an ATen RecordFunction observer that splits an update into
//      forward / backward / optimiser and lists the operators by self time (with the GEMMs' rate);
//      with --hidden 256,256 this is item 3 (small networks: per-op overhead, allocations, optimiser).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>

#include "bench_common.hpp"
#include "dipole/app/process_settings.hpp"

namespace dipole::bench {

namespace {

struct Timing {
  double rate = 0;       ///< updates/s, median of chunks
  double mean_rate = 0;  ///< updates/s over all timed updates
  double sample_ms = 0;  ///< median dataset sample time
  std::size_t updates = 0;
  std::size_t chunks = 0;
  double seconds = 0;
};

/// Per-update durations (sampling excluded, timed on its own), then chunks of consecutive updates
/// lasting >= seconds/20 each; the rate is the median of the chunks' rates.
Timing time_updates(Run& run, std::int64_t batch, double seconds, at::Generator& data_gen,
                    at::Generator& update_gen) {
  std::vector<double> update_times, sample_times;
  double timed = 0;
  while (timed < seconds || update_times.size() < 3) {
    const auto t0 = Clock::now();
    const Batch b = run.dataset->sample(batch, data_gen);
    const auto t1 = Clock::now();
    run.algorithm->update(b, update_gen, false);
    const auto t2 = Clock::now();
    sample_times.push_back(seconds_between(t0, t1));
    update_times.push_back(seconds_between(t1, t2));
    timed += update_times.back();
  }
  std::vector<double> chunk_rates;
  double chunk = 0;
  int count = 0;
  for (double t : update_times) {
    chunk += t;
    ++count;
    if (chunk >= seconds / 20) {
      chunk_rates.push_back(count / chunk);
      chunk = 0;
      count = 0;
    }
  }
  if (count > 0 && chunk_rates.empty()) chunk_rates.push_back(count / chunk);
  Timing out;
  out.rate = median(chunk_rates);
  out.mean_rate = static_cast<double>(update_times.size()) / timed;
  out.sample_ms = 1e3 * median(sample_times);
  out.updates = update_times.size();
  out.chunks = chunk_rates.size();
  out.seconds = timed;
  return out;
}

}  // namespace

int train_step(const Args& args) {
  po::options_description options("options");
  PipelineChoice choice;
  choice.name = "dipole";
  std::string csv;
  double seconds = 10;
  int threads = 0, blas_threads = 0, profile_updates = 0, repeat = 8;
  add_pipeline_options(options, choice,
                       "the pipeline configs/bench/<NAME>.toml (default dipole; also fql, cfgrl, ifql, idql, "
                       "iql, rebrac: paper scale on synthetic data with obs_dim 24, act_dim 6)");
  options.add_options()("seconds", po::value(&seconds)->default_value(16.0),
                        "time spent in timed updates (all rounds)")(
      "rounds", po::value(&repeat)->default_value(8),
      "alternate peak and update timing N times; report the median and range of the ratios")(
      "threads", po::value(&threads),
      "at::set_num_threads(N) (intra-op/OpenMP threads; default: LibTorch's)")(
      "blas-threads", po::value(&blas_threads), "openblas_set_num_threads(N) when the BLAS is OpenBLAS")(
      "profile", po::value(&profile_updates)->implicit_value(5),
      "after the timing, profile N updates (default 5) by phase and operator")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: dipole bench train-step [--algorithm NAME | --pipeline FILE] [--set k=v ...]\n"
                     "         [--batch B] [--hidden 512,512,512,512] [--seconds 16] [--rounds 8]\n"
                     "         [--threads N] [--blas-threads N] [--profile [N]] [--csv FILE]\n"
                     "Times Algorithm::update and compares the achieved matrix-multiply GFLOP/s with this\n"
                     "machine's float32 at::mm GFLOP/s measured in the same run.",
                     options, positional, vm))
    return 0;
  if (!(seconds > 0)) throw ConfigError("--seconds must be positive");
  if (vm.count("batch") && choice.batch < 1) throw ConfigError("--batch must be at least 1");
  if (repeat < 1) throw ConfigError("--rounds must be at least 1");

  // Threads first: everything below runs with the settings reported.
  const BlasInfo blas = apply_threads(threads, blas_threads, std::cout);

  BenchPipeline bench = load_bench_pipeline(choice, "train_step");
  config::Pipeline& pipeline = bench.pipeline;
  app::apply_process_settings(pipeline);  // trainer.threads, as `dipole train` applies it
  Run run = build_run(Registry::with_default_plugins(), std::move(pipeline));
  // Report the thread count in force for the timing.
  const int update_threads = at::get_num_threads();
  const std::int64_t batch = run.trainer.batch_size;

  auto data_gen = at::detail::createCPUGenerator(run.trainer.seed);
  auto update_gen = at::detail::createCPUGenerator(run.trainer.seed + 1);
  warm_up(run, batch, data_gen, update_gen, 3, std::min(1.0, seconds));
  // GEMM FLOPs per update, counted by the observer over 2 updates (the shapes do not change; an
  // algorithm with an actor period of 2, such as rebrac, alternates actor and critic-only steps).
  const double counted = run_profile(run, batch, 2, data_gen, update_gen).gemm_flop_per_update();
  const double gflop = counted / 1e9;

  std::vector<double> ratios, rates, peaks, loads;
  std::vector<MatmulFigure> matmuls;
  Timing timing;
  for (int r = 0; r < repeat; ++r) {
    loads.push_back(load_average());
    matmuls = {measure_matmul(256, 512, 512, 3, 0.2), measure_matmul(1024, 1024, 1024, 3, 0.3)};
    const double peak = std::max(matmuls[0].gflops, matmuls[1].gflops);
    timing = time_updates(run, batch, seconds / repeat, data_gen, update_gen);
    peaks.push_back(peak);
    rates.push_back(timing.rate);
    ratios.push_back(peak > 0 ? gflop * timing.rate / peak : 0.0);
    if (repeat > 1)
      std::cout << fmt::format(
                       "round {}: peak {:.1f} GFLOP/s, {:.3f} updates/s, ratio {:.3f} (load {:.2f})\n", r + 1,
                       peak, timing.rate, ratios.back(), loads.back())
                << std::flush;
  }

  // Report.
  std::cout << fmt::format("\npipeline: {} (algorithm {}), batch {}\n", run.pipeline.source(),
                           run.pipeline.type_of("algorithm"), batch);
  Rows rows;
  rows.emplace_back("algorithm", run.pipeline.type_of("algorithm"));
  rows.emplace_back("batch", std::to_string(batch));
  rows.emplace_back("intra_op_threads",
                    fmt::format("{}{}", update_threads, threads > 0 ? " (--threads)" : ""));
  rows.emplace_back("blas_threads",
                    fmt::format("{}{}", blas.threads, blas.openblas_config.empty() ? " (not OpenBLAS)" : ""));
  rows.emplace_back("load_average", format_spread(spread(loads), "{:.2f}"));
  rows.emplace_back("mm_256x512x512_gflops (last round)", fmt::format("{:.2f}", matmuls[0].gflops));
  rows.emplace_back("mm_1024^3_gflops (last round)", fmt::format("{:.2f}", matmuls[1].gflops));
  rows.emplace_back("machine_peak_gflops", format_spread(spread(peaks), "{:.2f}"));
  rows.emplace_back("timed_updates (last round)",
                    fmt::format("{} in {:.1f} s ({} chunks)", timing.updates, timing.seconds, timing.chunks));
  rows.emplace_back("updates_per_s", format_spread(spread(rates), "{:.3f}"));
  rows.emplace_back("ms_per_update", fmt::format("{:.2f}", 1e3 / median(rates)));
  rows.emplace_back("dataset_sample_ms (not in the update)", fmt::format("{:.3f}", timing.sample_ms));
  rows.emplace_back("gflop_per_update (GEMMs counted by the observer)", fmt::format("{:.3f}", gflop));
  rows.emplace_back("achieved_gflops", fmt::format("{:.2f}", gflop * median(rates)));
  rows.emplace_back("ratio", format_spread(spread(ratios), "{:.3f}"));
  std::cout << "\n";
  print_rows(rows, std::cout);
  std::cout << fmt::format("ratio = {:.3f} of this machine's float32 matmul GFLOP/s (target ≥ 0.85)\n",
                           median(ratios));

  if (profile_updates > 0) {
    const ProfileResult profiled = run_profile(run, batch, profile_updates, data_gen, update_gen);
    print_profile(profiled, std::cout);
    for (int ph = 0; ph < profile::kPhases; ++ph)
      rows.emplace_back(fmt::format("profile_{}_ms", profile::kPhaseNames[ph]),
                        fmt::format("{:.4f}", 1e3 * profiled.state.top_level[ph] / profiled.updates));
    rows.emplace_back(
        "profile_allocations_per_update",
        fmt::format("{:.0f}", static_cast<double>(profiled.state.allocations) / profiled.updates));
    rows.emplace_back("profile_op_calls_per_update",
                      fmt::format("{:.0f}", static_cast<double>(profiled.state.op_calls) / profiled.updates));
  }
  if (!csv.empty()) write_csv(csv, rows);
  return 0;
}

}  // namespace dipole::bench
