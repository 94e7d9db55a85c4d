// `dipole-bench overhead` (issue 5, item 2): the DIPOLE update through the plugin pipeline
// configs/bench/dipole.toml (Algorithm::update of dipole → iql critic, flow_mlp, dipole_sigmoid through
// their interfaces) vs the same update written as one plain function (the reference PlainDipole,
// tests/support/reference/plain_dipole.cpp), run alternately on the same batches in one process (order
// swapped every pair, ABBA), so the machine's load affects both alike. The ratio of each chunk of pairs
// is Σ t_pipeline / Σ t_plain; the figure is the median over chunks. tests/perf checks that both compute
// the same update.
//
// Both start from the same parameters through public means only: the reference initialises its
// networks from a seed and the pipeline loads the reference's state() with Algorithm::load_state (the
// checkpoint layout of docs/architecture.md, "Slots"); the benchmark then checks that the pipeline's
// state() has exactly the reference's keys, so no part of the pipeline kept its own initialisation.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <iostream>

#include "bench_common.hpp"
#include "plain_dipole.hpp"

namespace dipole::bench {

int overhead(const Args& args) {
  po::options_description options("options");
  PipelineChoice choice;
  choice.name = "dipole";
  choice.hidden = "512,512,512,512";
  std::string csv;
  double seconds = 20;
  int threads = 0, blas_threads = 0;
  options.add_options()("pipeline", po::value(&choice.file),
                        "pipeline TOML file instead of configs/bench/dipole.toml (DIPOLE + IQL with the "
                        "settings the reference implements, which tests/perf checks on that file)")(
      "set", po::value(&choice.overrides)->composing(), "override a key of the pipeline (repeatable)")(
      "batch", po::value(&choice.batch), "batch size (default: the pipeline's trainer.batch_size)")(
      "hidden", po::value(&choice.hidden),
      "hidden widths of every network, both sides (default 512,512,512,512)")(
      "seconds", po::value(&seconds)->default_value(20.0), "time spent in timed updates (both kinds)")(
      "threads", po::value(&threads), "at::set_num_threads(N)")("blas-threads", po::value(&blas_threads),
                                                                "openblas_set_num_threads(N)")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: dipole bench overhead [--pipeline FILE] [--set k=v ...] [--batch B]\n"
                     "         [--hidden 512,512,512,512] [--seconds 20] [--threads N] [--blas-threads N]\n"
                     "         [--csv FILE]\n"
                     "Ratio of the DIPOLE update through the plugin pipeline to the same update as one\n"
                     "plain function (target ≤ 1.03).",
                     options, positional, vm))
    return 0;
  if (!(seconds > 0)) throw ConfigError("--seconds must be positive");
  apply_threads(threads, blas_threads, std::cout);
  const double load_start = load_average();

  BenchPipeline bench = load_bench_pipeline(choice, "overhead");
  Run run = build_run(Registry::with_default_plugins(), std::move(bench.pipeline));
  const std::int64_t batch = run.trainer.batch_size;
  test::PlainDipole plain({run.spec.obs_dim, run.spec.action_dim, parse_widths(choice.hidden)},
                          test::PlainDipole::Config{}, /*seed=*/0);
  run.algorithm->load_state(plain.state());
  test::require_same_keys(run.algorithm->state(), plain.state());
  auto data_gen = at::detail::createCPUGenerator(0);
  auto pipeline_gen = at::detail::createCPUGenerator(1), plain_gen = at::detail::createCPUGenerator(1);

  auto timed_pipeline = [&](const Batch& b) {
    const auto t0 = Clock::now();
    run.algorithm->update(b, pipeline_gen, false);
    return seconds_between(t0, Clock::now());
  };
  auto timed_plain = [&](const Batch& b) {
    const auto t0 = Clock::now();
    plain.update(b, plain_gen);
    return seconds_between(t0, Clock::now());
  };
  // Warm-up: both, >= 3 pairs and >= 1 s.
  {
    const auto start = Clock::now();
    for (int i = 0; i < 3 || seconds_between(start, Clock::now()) < 1.0; ++i) {
      const Batch b = run.dataset->sample(batch, data_gen);
      timed_pipeline(b);
      timed_plain(b);
    }
  }
  std::vector<double> chunk_ratios, pipeline_all, plain_all;
  double total = 0, chunk_pipeline = 0, chunk_plain = 0;
  int pairs = 0;
  for (int i = 0; total < seconds || chunk_ratios.size() < 3; ++i) {
    const Batch b = run.dataset->sample(batch, data_gen);
    double tp = 0, tq = 0;
    if (i % 2 == 0) {
      tp = timed_pipeline(b);
      tq = timed_plain(b);
    } else {
      tq = timed_plain(b);
      tp = timed_pipeline(b);
    }
    pipeline_all.push_back(tp);
    plain_all.push_back(tq);
    chunk_pipeline += tp;
    chunk_plain += tq;
    total += tp + tq;
    ++pairs;
    if (chunk_pipeline + chunk_plain >= seconds / 10 && pairs % 2 == 0) {
      chunk_ratios.push_back(chunk_pipeline / chunk_plain);
      chunk_pipeline = chunk_plain = 0;
    }
  }
  double sum_pipeline = 0, sum_plain = 0;
  for (double t : pipeline_all) sum_pipeline += t;
  for (double t : plain_all) sum_plain += t;
  Rows rows;
  rows.emplace_back("pipeline", run.pipeline.source());
  rows.emplace_back("hidden", choice.hidden);
  rows.emplace_back("batch", std::to_string(batch));
  rows.emplace_back("load_average (start, end)", fmt::format("{:.2f}, {:.2f}", load_start, load_average()));
  rows.emplace_back("pairs", std::to_string(pairs));
  rows.emplace_back("pipeline_ms_per_update (median)", fmt::format("{:.2f}", 1e3 * median(pipeline_all)));
  rows.emplace_back("plain_ms_per_update (median)", fmt::format("{:.2f}", 1e3 * median(plain_all)));
  rows.emplace_back("ratio_of_totals", fmt::format("{:.4f}", sum_pipeline / sum_plain));
  rows.emplace_back("ratio_of_medians", fmt::format("{:.4f}", median(pipeline_all) / median(plain_all)));
  rows.emplace_back("ratio (chunks)", format_spread(spread(chunk_ratios), "{:.4f}"));
  std::cout << "\n";
  print_rows(rows, std::cout);
  std::cout << fmt::format("overhead ratio = {:.4f} (pipeline / plain, median of chunks; target ≤ 1.03)\n",
                           median(chunk_ratios));
  if (!csv.empty()) write_csv(csv, rows);
  return 0;
}

}  // namespace dipole::bench
