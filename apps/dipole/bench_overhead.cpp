// `dipole bench overhead` (issue 5, item 2): the DIPOLE update through the plugin pipeline
// (Algorithm::update of dipole → iql critic, flow_mlp, dipole_sigmoid through their interfaces) vs
// the same update written as one plain function (bench_plain_dipole.cpp), both starting from the same
// parameters and run alternately on the same batches in one process (order swapped every pair, ABBA),
// so the machine's load affects both alike. The ratio of each chunk of pairs is Σ t_pipeline / Σ t_plain;
// the figure is the median over chunks. tests/perf checks that both compute the same update.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <iostream>

#include "bench_common.hpp"
#include "bench_plain_dipole.hpp"
#include "dipole/core/config.hpp"
#include "options.hpp"

namespace dipole::cli::bench {

int overhead(const Args& args) {
  po::options_description options("options");
  std::string hidden_text = "512,512,512,512", csv;
  std::int64_t batch = 256;
  double seconds = 20;
  int threads = 0, blas_threads = 0;
  options.add_options()("batch", po::value(&batch), "batch size (default 256)")(
      "hidden", po::value(&hidden_text), "hidden widths (default 512,512,512,512)")(
      "seconds", po::value(&seconds)->default_value(20.0), "time spent in timed updates (both kinds)")(
      "threads", po::value(&threads), "at::set_num_threads(N)")("blas-threads", po::value(&blas_threads),
                                                                "openblas_set_num_threads(N)")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: dipole bench overhead [--batch 256] [--hidden 512,512,512,512] [--seconds 20]\n"
                     "         [--threads N] [--blas-threads N] [--csv FILE]\n"
                     "Ratio of the DIPOLE update through the plugin pipeline to the same update as one\n"
                     "plain function (target ≤ 1.03).",
                     options, positional, vm))
    return 0;
  if (!(seconds > 0)) throw ConfigError("--seconds must be positive");
  apply_threads(threads, blas_threads, std::cout);
  const double load_start = load_average();

  TempFile data(synthetic_data_path("overhead"));
  Run run = build_run(Registry::with_default_plugins(),
                      config::Pipeline::parse(
                          default_pipeline("dipole", data.path.string(), batch, parse_widths(hidden_text)),
                          "<bench overhead pipeline>", {}));
  PlainDipole plain(run.algorithm->state(), PlainDipole::Config{});
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
  rows.emplace_back("hidden", hidden_text);
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

}  // namespace dipole::cli::bench
