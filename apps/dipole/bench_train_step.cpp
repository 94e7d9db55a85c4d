// `dipole bench train-step` (issue 5, items 1 and 3): how fast one training update runs, compared
// with this machine's own float32 matrix-multiply rate measured in the same run (shared, noisy
// machines: only ratios measured together mean something).
//
//   1. machine peak: median GFLOP/s of at::mm at [256 x 512] x [512 x 512] (one layer of the update)
//      and 1024^3, after warm-up; the larger is "machine peak".
//   2. an update at paper scale (--algorithm dipole|fql|cfgrl|ifql|idql|iql|rebrac, 4×512, batch 256,
//      synthetic data with obs_dim 24 and act_dim 6, like the walker) or any --pipeline; warm-up, then
//      Algorithm::update timed for --seconds: updates/s is the median of per-chunk rates.
//   3. the matrix-multiply FLOPs of one update, counted from the GEMM operators' input shapes during
//      one observed update (any algorithm); for DIPOLE also from the networks' parameter shapes
//      (flop_model below) as a check. Achieved GFLOP/s and the ratio to the machine peak follow.
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
#include "dipole/core/config.hpp"
#include "options.hpp"

namespace dipole::cli::bench {

namespace {

// ---- FLOP model (DIPOLE + IQL) ---------------------------------------------------------------------

/// Layer widths of one member of an EnsembleMlp stored under `prefix` ("<prefix>layers.<l>.weight",
/// shape [M, n_{l−1}, n_l]).
struct NetShape {
  std::int64_t members = 0;
  std::vector<std::int64_t> widths;  ///< n_0 … n_L
  bool found() const { return widths.size() >= 2; }
  /// P = Σ_l n_{l−1}·n_l (multiply-adds per sample per member)
  double p() const {
    double sum = 0;
    for (std::size_t l = 1; l < widths.size(); ++l) sum += static_cast<double>(widths[l - 1]) * widths[l];
    return sum;
  }
  /// n_0·n_1: the first layer, whose input (data) needs no gradient.
  double first() const { return static_cast<double>(widths[0]) * widths[1]; }
  std::string describe() const {
    std::string out;
    for (std::size_t i = 0; i < widths.size(); ++i) out += (i ? "-" : "") + std::to_string(widths[i]);
    return out;
  }
};

NetShape net_shape(const StateDict& state, const std::string& prefix) {
  NetShape shape;
  for (std::int64_t l = 0;; ++l) {
    const auto it = state.find(prefix + "layers." + std::to_string(l) + ".weight");
    if (it == state.end() || it->second.dim() != 3) break;
    if (l == 0) {
      shape.members = it->second.size(0);
      shape.widths.push_back(it->second.size(1));
    }
    shape.widths.push_back(it->second.size(2));
  }
  return shape;
}

/// Matrix-multiply FLOPs of one DIPOLE + IQL update (dipole.cpp, iql_critic.cpp), per the FLOP
/// model of docs/algorithms.md, "Ensembles": a Linear layer n_{l−1} → n_l costs 2·n_{l−1}·n_l FLOPs per row
/// forward (P = Σ n_{l−1}·n_l, so forward = 2P), and backward costs the same again for the weight gradient
/// (Xᵀ·dY) plus the same again for the input gradient (dY·Wᵀ) — except in the first layer, whose input is
/// data without a gradient, so a trained network costs 6P − 2·n_0·n_1 per row (≈ 3× forward). What the update
/// computes for a batch of B rows:
///   critic  q̄ = min_j Q̄_j(s, a)       target ensemble (2 members), forward only,   no grad: 2·2·P_Q
///           V(s′)                       online V, forward only (y),                  no grad: 2·P_V
///           V(s)                        trained (L_V):                              6·P_V − 2·a_V
///           Q_j(s, a), j = 1, 2         trained (L_Q):                      2·(6·P_Q − 2·a_Q)
///   denoiser v± = f([s, x_t, t])         2 branches, trained:                 2·(6·P_den − 2·a_den)
///   Adam, Polyak, GELU, LayerNorm, losses: elementwise, not counted.
/// ≈ 7.36 GFLOP at B = 256, 4×512, obs 24, act 6 (the figure of docs/algorithms.md, "Ensembles", without the
/// first-layer correction: 7.40).
struct FlopModel {
  NetShape denoiser, q, v;
  double per_update = 0;  ///< counted as above
  /// the approximation of docs/algorithms.md, "Ensembles" (6P per trained network-row)
  double section15 = 0;
  bool applies = false;
};

FlopModel dipole_flop_model(const Run& run, std::int64_t batch) {
  FlopModel model;
  const auto critic = run.pipeline.has_section("critic") ? run.pipeline.type_of("critic") : std::string();
  if (run.pipeline.type_of("algorithm") != "dipole" || critic != "iql") return model;
  const auto state = run.algorithm->state();
  model.denoiser = net_shape(state, "denoiser.net.");
  model.q = net_shape(state, "critic.q.");
  model.v = net_shape(state, "critic.v.");
  if (!model.denoiser.found() || !model.q.found() || !model.v.found()) return model;
  const double b = static_cast<double>(batch), branches = 2;
  const double den = model.denoiser.p(), q = model.q.p(), v = model.v.p();
  const double qm = static_cast<double>(model.q.members), vm = static_cast<double>(model.v.members);
  model.per_update =
      b * (branches * (6 * den - 2 * model.denoiser.first()) + qm * (6 * q - 2 * model.q.first()) +
           qm * 2 * q + vm * (6 * v - 2 * model.v.first()) + vm * 2 * v);
  model.section15 = b * (branches * 6 * den + qm * 6 * q + qm * 2 * q + vm * 6 * v + vm * 2 * v);
  model.applies = true;
  return model;
}

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
  std::string file, csv, algorithm = "dipole", hidden_text = "512,512,512,512";
  std::vector<std::string> overrides;
  std::int64_t batch = 256;
  double seconds = 10;
  int threads = 0, blas_threads = 0, profile_updates = 0, repeat = 8;
  options.add_options()(
      "algorithm", po::value(&algorithm),
      "default pipeline: dipole (iql + flow_mlp 2 members), fql (td + BC flow + one-step "
      "policy), cfgrl (iql + flow_mlp with labels), ifql (iql + one flow_mlp), idql (iql "
      "+ ddpm_mlp), iql (iql + Gaussian actor) or rebrac (rebrac_critic + tanh actor and its "
      "target; the figure averages actor and critic-only steps), on synthetic data with obs_dim 24, "
      "act_dim 6")("pipeline", po::value(&file), "pipeline TOML file instead")(
      "set", po::value(&overrides)->composing(), "override a key: --set weighting.beta=10 (repeatable)")(
      "batch", po::value(&batch), "batch size (default 256; with --pipeline: the file's trainer.batch_size)")(
      "hidden", po::value(&hidden_text),
      "hidden widths of every network (default 512,512,512,512; with --pipeline: the file's)")(
      "seconds", po::value(&seconds)->default_value(16.0), "time spent in timed updates (all rounds)")(
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
                     "usage: dipole bench train-step [--algorithm dipole|fql|cfgrl|ifql|idql|iql|rebrac | "
                     "--pipeline FILE]\n"
                     "         [--set k=v ...] [--batch 256] [--hidden 512,512,512,512] [--seconds 16]\n"
                     "         [--rounds 8] [--threads N] [--blas-threads N] [--profile [N]] [--csv FILE]\n"
                     "Times Algorithm::update and compares the achieved matrix-multiply GFLOP/s with this\n"
                     "machine's float32 at::mm GFLOP/s measured in the same run.",
                     options, positional, vm))
    return 0;
  if (!(seconds > 0)) throw ConfigError("--seconds must be positive");
  if (batch < 1) throw ConfigError("--batch must be at least 1");
  if (repeat < 1) throw ConfigError("--rounds must be at least 1");

  // Threads first: everything below runs with the settings reported.
  const BlasInfo blas = apply_threads(threads, blas_threads, std::cout);

  TempFile data;
  config::Pipeline pipeline;
  if (file.empty()) {
    data.path = synthetic_data_path("train_step");
    pipeline = config::Pipeline::parse(
        default_pipeline(algorithm, data.path.string(), batch, parse_widths(hidden_text)),
        "<bench train-step default " + algorithm + " pipeline>", overrides);
  } else {
    if (vm.count("batch")) overrides.push_back(fmt::format("trainer.batch_size={}", batch));
    if (vm.count("hidden"))
      throw ConfigError(
          "--hidden applies to the default pipelines; with --pipeline use --set <section>.hidden_dims");
    pipeline = config::Pipeline::load(file, overrides);
  }
  app::apply_process_settings(pipeline);  // trainer.threads, as `dipole train` applies it
  Run run = build_run(Registry::with_default_plugins(), std::move(pipeline));
  // Report the thread count in force for the timing.
  const int update_threads = at::get_num_threads();
  batch = run.trainer.batch_size;
  const FlopModel model = dipole_flop_model(run, batch);

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
  if (model.applies)
    std::cout << fmt::format(
        "networks (one member): denoiser {} ×{} branches, Q {} ×{} (+ target), V {} ×{}\n",
        model.denoiser.describe(), 2, model.q.describe(), model.q.members, model.v.describe(),
        model.v.members);
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
  if (model.applies) {
    rows.emplace_back("gflop_per_update (DIPOLE shape model)", fmt::format("{:.3f}", model.per_update / 1e9));
    rows.emplace_back("gflop_per_update (formula of docs/algorithms.md, Ensembles)",
                      fmt::format("{:.3f}", model.section15 / 1e9));
  }
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

}  // namespace dipole::cli::bench
