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
//   --seeds S (issue 16): instead of 1-3, S runs of the pipeline (trainer.seed = base + i, base the
//      pipeline's trainer.seed, each with its own data and update generators, seeded as the trainer
//      seeds them) timed two ways on T threads (--threads, else LibTorch's count) with OpenBLAS on 1
//      thread (unless --blas-threads), alternated in --rounds rounds (the order swapped every round):
//        together: the multi-seed trainer's step, for_each_seed(S, T, i → sample + update seed i)
//                  called repeatedly (lockstep: one update of every seed per call) for
//                  --seconds/(2 rounds); updates/s = S × calls / seconds;
//        separate: the same S seeds as T single-thread workers, worker w running K updates of seeds
//                  w, w+T, ... one after the other (what T single-thread processes of S/T runs each
//                  would do), for_each_seed(T, T, ...); K from the latest together rate, so the phase
//                  lasts about as long; updates/s = S × K / seconds.
//      Both include the dataset sample of each update. The figure is together/separate per round:
//      median and range over the rounds. No GEMM peak is measured.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include "bench_common.hpp"
#include "dipole/app/process_settings.hpp"
#include "dipole/core/seed_parallel.hpp"
#include "dipole/core/trainer.hpp"

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

/// The hidden widths in force: --hidden, else every distinct `hidden_dims` of the pipeline.
std::string hidden_widths(const PipelineChoice& choice, const config::Pipeline& pipeline) {
  if (!choice.hidden.empty()) return toml_list(parse_widths(choice.hidden)) + " (--hidden)";
  std::vector<std::string> found;
  for (const auto& key : hidden_dims_keys(pipeline))
    if (const auto text = pipeline.value_text(key);
        text && std::find(found.begin(), found.end(), *text) == found.end())
      found.push_back(*text);
  std::string out;
  for (const auto& text : found) out += (out.empty() ? "" : " ") + text;
  return out.empty() ? "-" : out;
}

/// One seed of `--seeds`: its run and the trainer's two generators for it.
struct SeedRun {
  BenchPipeline bench;
  std::unique_ptr<Run> run;
  at::Generator data_gen;
  at::Generator update_gen;
};

struct SeedsOptions {
  std::int64_t seeds = 0;
  int threads = 0;       ///< --threads (0: not given)
  int blas_threads = 0;  ///< --blas-threads (0: not given → 1)
  double seconds = 16;
  int rounds = 8;
  std::string csv;
};

/// `train-step --seeds S`: S seeds in the trainer's lockstep step vs the same seeds as single-thread
/// runs side by side (header comment).
int train_step_seeds(const PipelineChoice& choice, const SeedsOptions& o) {
  const std::int64_t S = o.seeds;
  // Threads first: everything below runs with the settings reported. OpenBLAS on one thread: the seeds
  // run on the intra-op threads, each product on the thread of its seed.
  const BlasInfo blas = apply_threads(o.threads, o.blas_threads > 0 ? o.blas_threads : 1, std::cout);

  const Registry registry = Registry::with_default_plugins();
  std::vector<SeedRun> seeds;
  seeds.reserve(static_cast<std::size_t>(S));
  std::uint64_t base_seed = 0;
  for (std::int64_t i = 0; i < S; ++i) {
    PipelineChoice seed_choice = choice;
    if (i > 0) {
      // The synthetic data of seed 0 is read by every seed (each run loads its own copy).
      if (seeds[0].bench.data)
        seed_choice.overrides.insert(seed_choice.overrides.begin(),
                                     "dataset.path=\"" + seeds[0].bench.data->path.string() + "\"");
      seed_choice.overrides.push_back(
          fmt::format("trainer.seed={}", base_seed + static_cast<std::uint64_t>(i)));
    }
    BenchPipeline bench = load_bench_pipeline(seed_choice, "train_step");
    // trainer.threads, as `dipole train` applies it (the same in every seed's pipeline).
    if (i == 0) app::apply_process_settings(bench.pipeline);
    auto run = std::make_unique<Run>(build_run(registry, std::move(bench.pipeline)));
    if (i == 0) base_seed = run->trainer.seed;
    auto data_gen = at::detail::createCPUGenerator(data_seed(run->trainer.seed));
    auto update_gen = at::detail::createCPUGenerator(update_seed(run->trainer.seed));
    seeds.push_back(SeedRun{std::move(bench), std::move(run), std::move(data_gen), std::move(update_gen)});
  }
  // T: --threads, else the intra-op thread count in force (LibTorch's, or the pipeline's trainer.threads).
  const int T = o.threads > 0 ? o.threads : at::get_num_threads();
  const std::int64_t workers = std::min<std::int64_t>(T, S);
  const std::int64_t batch = seeds[0].run->trainer.batch_size;
  const std::string widths = hidden_widths(choice, seeds[0].run->pipeline);
  std::cout << fmt::format("seeds: {} (trainer.seed {}..{}), {} thread(s), batch {}, hidden {}\n", S,
                           base_seed, base_seed + static_cast<std::uint64_t>(S - 1), T, batch, widths)
            << std::flush;

  // One training step of seed i, as the trainer's multi-seed mode runs it.
  auto step_of_seed = [&](std::int64_t i) {
    SeedRun& s = seeds[static_cast<std::size_t>(i)];
    const Batch b = s.run->dataset->sample(batch, s.data_gen);
    s.run->algorithm->update(b, s.update_gen, false);
  };
  // Together: lockstep calls until `budget` seconds have passed; returns (calls, seconds).
  auto together = [&](double budget) {
    std::int64_t calls = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    do {
      for_each_seed(S, T, step_of_seed);
      ++calls;
      elapsed = seconds_between(t0, Clock::now());
    } while (elapsed < budget);
    return std::make_pair(calls, elapsed);
  };
  // Separate: `workers` single-thread workers, each running K updates of its seeds one seed after the
  // other; returns the seconds until the last worker is done.
  auto separate = [&](std::int64_t K) {
    const auto t0 = Clock::now();
    for_each_seed(workers, T, [&](std::int64_t w) {
      for (std::int64_t i = w; i < S; i += workers)
        for (std::int64_t k = 0; k < K; ++k) step_of_seed(i);
    });
    return seconds_between(t0, Clock::now());
  };

  // Warm-up: both ways (first-touch of every seed's buffers on the threads that will run it), and the
  // first estimate of the lockstep rate.
  const auto warm = together(std::min(1.0, o.seconds / 4));
  double calls_per_s = static_cast<double>(warm.first) / warm.second;
  separate(2);
  // GEMM FLOPs per update, counted by the observer over 2 updates of seed 0 (as without --seeds).
  const double gflop =
      run_profile(*seeds[0].run, batch, 2, seeds[0].data_gen, seeds[0].update_gen).gemm_flop_per_update() /
      1e9;

  const double budget = o.seconds / (2.0 * o.rounds);
  std::vector<double> together_rates, separate_rates, ratios, loads;
  std::int64_t last_calls = 0, last_k = 0;
  double last_together_s = 0, last_separate_s = 0;
  for (int r = 0; r < o.rounds; ++r) {
    loads.push_back(load_average());
    double together_rate = 0, separate_rate = 0;
    auto run_together = [&] {
      const auto [calls, elapsed] = together(budget);
      together_rate = static_cast<double>(S * calls) / elapsed;
      calls_per_s = static_cast<double>(calls) / elapsed;
      last_calls = calls;
      last_together_s = elapsed;
    };
    auto run_separate = [&] {
      const std::int64_t K = std::max<std::int64_t>(1, std::llround(budget * calls_per_s));
      const double elapsed = separate(K);
      separate_rate = static_cast<double>(S * K) / elapsed;
      last_k = K;
      last_separate_s = elapsed;
    };
    // Alternate the order, so that neither phase always follows the other.
    if (r % 2 == 0) {
      run_together();
      run_separate();
    } else {
      run_separate();
      run_together();
    }
    together_rates.push_back(together_rate);
    separate_rates.push_back(separate_rate);
    ratios.push_back(together_rate / separate_rate);
    std::cout << fmt::format(
                     "round {}: together {:.3f} updates/s, separate {:.3f} updates/s, ratio {:.3f} (load "
                     "{:.2f})\n",
                     r + 1, together_rate, separate_rate, ratios.back(), loads.back())
              << std::flush;
  }

  const Run& run = *seeds[0].run;
  std::cout << fmt::format("\npipeline: {} (algorithm {}), batch {}, {} seeds\n", run.pipeline.source(),
                           run.pipeline.type_of("algorithm"), batch, S);
  Rows rows;
  rows.emplace_back("algorithm", run.pipeline.type_of("algorithm"));
  rows.emplace_back("seeds", fmt::format("{} (trainer.seed {}..{})", S, base_seed,
                                         base_seed + static_cast<std::uint64_t>(S - 1)));
  rows.emplace_back("threads", fmt::format("{}{}", T, o.threads > 0 ? " (--threads)" : ""));
  rows.emplace_back("blas_threads",
                    fmt::format("{}{}", blas.threads, blas.openblas_config.empty() ? " (not OpenBLAS)" : ""));
  rows.emplace_back("batch", std::to_string(batch));
  rows.emplace_back("hidden", widths);
  rows.emplace_back("load_average", format_spread(spread(loads), "{:.2f}"));
  rows.emplace_back("together (last round)",
                    fmt::format("{} lockstep steps × {} seeds in {:.2f} s", last_calls, S, last_together_s));
  rows.emplace_back("separate (last round)", fmt::format("{} workers, {} updates × {} seeds in {:.2f} s",
                                                         workers, last_k, S, last_separate_s));
  rows.emplace_back("together_updates_per_s", format_spread(spread(together_rates), "{:.3f}"));
  rows.emplace_back("separate_updates_per_s", format_spread(spread(separate_rates), "{:.3f}"));
  rows.emplace_back("gflop_per_update (GEMMs counted by the observer)", fmt::format("{:.3f}", gflop));
  rows.emplace_back("together_gflops", fmt::format("{:.2f}", gflop * median(together_rates)));
  rows.emplace_back("ratio_together_separate", format_spread(spread(ratios), "{:.3f}"));
  std::cout << "\n";
  print_rows(rows, std::cout);
  std::cout << fmt::format("ratio = {:.3f}: together / separate aggregate updates/s ({} seeds, {} threads)\n",
                           median(ratios), S, T);
  if (!o.csv.empty()) write_csv(o.csv, rows);
  return 0;
}

}  // namespace

int train_step(const Args& args) {
  po::options_description options("options");
  PipelineChoice choice;
  choice.name = "dipole";
  std::string csv;
  double seconds = 10;
  int threads = 0, blas_threads = 0, profile_updates = 0, repeat = 8;
  std::int64_t seeds = 0;
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
      "seeds", po::value(&seeds),
      "S >= 2: S seeds in the trainer's lockstep step (for_each_seed on the threads) vs the same seeds "
      "as single-thread runs side by side; OpenBLAS on 1 thread unless --blas-threads")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: dipole bench train-step [--algorithm NAME | --pipeline FILE] [--set k=v ...]\n"
                     "         [--batch B] [--hidden 512,512,512,512] [--seconds 16] [--rounds 8]\n"
                     "         [--threads N] [--blas-threads N] [--profile [N] | --seeds S] [--csv FILE]\n"
                     "Times Algorithm::update and compares the achieved matrix-multiply GFLOP/s with this\n"
                     "machine's float32 at::mm GFLOP/s measured in the same run.\n"
                     "--seeds S: aggregate updates/s of S seeds stepped together (the multi-seed trainer's\n"
                     "lockstep step on the threads) vs the same S seeds as single-thread runs side by side,\n"
                     "alternated in the same run; prints the ratio together/separate.",
                     options, positional, vm))
    return 0;
  if (!(seconds > 0)) throw ConfigError("--seconds must be positive");
  if (vm.count("batch") && choice.batch < 1) throw ConfigError("--batch must be at least 1");
  if (repeat < 1) throw ConfigError("--rounds must be at least 1");
  if (vm.count("seeds")) {
    if (seeds < 2)
      throw ConfigError("--seeds must be at least 2 (without --seeds, train-step times one seed)");
    if (vm.count("profile")) throw ConfigError("--profile cannot be combined with --seeds");
    if (vm.count("threads") && threads < 1) throw ConfigError("--threads must be at least 1");
    SeedsOptions o;
    o.seeds = seeds;
    o.threads = threads;
    o.blas_threads = blas_threads;
    o.seconds = seconds;
    o.rounds = repeat;
    o.csv = csv;
    return train_step_seeds(choice, o);
  }

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
