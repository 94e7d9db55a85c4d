// `dipole report`: aggregate run directories (several seeds of several methods on several tasks) into
// the papers' results table — mean ± std over seeds — as Markdown and CSV, plus learning curves and
// return-vs-ω plots (PNG through gnuplot). Labels come from keys of each run's resolved pipeline, so
// the command knows no benchmark or algorithm by name.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "dipole/core/config.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/plot.hpp"
#include "dipole/core/report.hpp"
#include "options.hpp"

namespace dipole::cli {

namespace {

namespace fs = std::filesystem;

struct RunInfo {
  fs::path dir;
  std::string row, column, seed;
};

std::vector<std::string> split_keys(const std::string& text) {
  std::vector<std::string> keys;
  std::stringstream ss(text);
  for (std::string key; std::getline(ss, key, ',');)
    if (!key.empty()) keys.push_back(key);
  return keys;
}

/// Values of the keys present in the pipeline, joined by spaces ("walker stand").
std::string label(const config::Pipeline& pipeline, const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys)
    if (const auto value = pipeline.value_text(key)) out += (out.empty() ? "" : " ") + *value;
  return out;
}

/// Every run directory (holding pipeline.resolved.toml) at or below each argument, sorted.
std::vector<fs::path> find_runs(const std::vector<std::string>& roots) {
  std::vector<fs::path> runs;
  for (const auto& root : roots) {
    if (!fs::is_directory(root)) throw DataError(fmt::format("'{}' is not a directory", root));
    if (fs::exists(fs::path(root) / "pipeline.resolved.toml")) {
      runs.emplace_back(root);
      continue;
    }
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      if (it.depth() > 3) it.disable_recursion_pending();
      if (it->is_directory() && fs::exists(it->path() / "pipeline.resolved.toml")) {
        runs.push_back(it->path());
        it.disable_recursion_pending();
      }
    }
  }
  std::sort(runs.begin(), runs.end());
  if (runs.empty())
    throw DataError(fmt::format("no run directory (one holding pipeline.resolved.toml) under {}",
                                fmt::join(roots, ", ")));
  return runs;
}

double number(const std::string& text, const fs::path& file) {
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    throw DataError(fmt::format("{}: '{}' is not a number", file.string(), text));
  }
}

std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out.empty() ? "all" : out;
}

/// Setting label of one eval_sweep.csv line: "ω=1 N_c=32" ("-" entries are left out).
std::string setting(const std::string& omega, const std::string& candidates) {
  std::string out;
  if (omega != "-") out += "ω=" + omega;
  if (candidates != "-") out += (out.empty() ? "" : " ") + std::string("N_c=") + candidates;
  return out;
}

}  // namespace

int report_command(const Args& args) {
  po::options_description options("options");
  std::vector<std::string> roots;
  std::string out_dir = "report", rows_keys = "dataset.domain,dataset.task,dataset.dataset",
              column_keys = "algorithm.type", metric = "return_mean", source = "auto";
  double scale = 1.0;
  int precision = 1;
  options.add_options()("runs", po::value(&roots)->composing()->required(),
                        "run directories, or directories searched (3 levels) for them")(
      "out", po::value(&out_dir), "output directory (report.md, report.csv, *.png)")(
      "rows", po::value(&rows_keys),
      "comma-separated pipeline keys whose values label a row (absent keys are skipped; if none is present, "
      "dataset.type)")("columns", po::value(&column_keys),
                       "comma-separated pipeline keys whose values label a column")(
      "metric", po::value(&metric), "return_mean or success_rate")(
      "scale", po::value(&scale), "multiply the metric (e.g. 100 for success in %)")(
      "precision", po::value(&precision), "decimals in the Markdown table")(
      "source", po::value(&source),
      "auto (eval_sweep.csv from `dipole eval` if present, else the last row of eval.csv), sweep or final");
  po::positional_options_description positional;
  positional.add("runs", -1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole report <run-dir or parent>... [--out DIR] [--rows KEYS] [--columns KEYS]\n"
          "Aggregates runs (one per seed) into mean ± std over seeds per row (task) and column "
          "(method, and each ω/N_c setting of `dipole eval`).",
          options, positional, vm))
    return 0;
  if (metric != "return_mean" && metric != "success_rate")
    throw ConfigError(fmt::format("--metric: expected return_mean or success_rate, got '{}'", metric));
  if (source != "auto" && source != "sweep" && source != "final")
    throw ConfigError(fmt::format("--source: expected auto, sweep or final, got '{}'", source));

  std::vector<report::RunScore> scores;
  // Learning curves: row → column → step → values over seeds. Return vs ω: row → series → ω → values.
  std::map<std::string, std::map<std::string, std::map<double, std::vector<double>>>> curves, omega_curves;
  const auto runs = find_runs(roots);
  for (const auto& dir : runs) {
    const auto pipeline = config::Pipeline::load((dir / "pipeline.resolved.toml").string());
    RunInfo run{dir, label(pipeline, split_keys(rows_keys)), label(pipeline, split_keys(column_keys)),
                pipeline.value_text("trainer.seed").value_or("0")};
    if (run.row.empty()) run.row = pipeline.value_text("dataset.type").value_or("-");
    if (run.column.empty()) run.column = "-";

    const fs::path eval_csv = dir / "eval.csv", sweep_csv = dir / "eval_sweep.csv";
    if (fs::exists(eval_csv)) {
      const auto table = report::read_csv(eval_csv.string());
      const int step = table.column("step"), value = table.column("eval/" + metric);
      if (step < 0 || value < 0)
        throw DataError(fmt::format("{}: no 'step' or 'eval/{}' column", eval_csv.string(), metric));
      for (const auto& r : table.rows)
        curves[run.row][run.column][number(r[static_cast<std::size_t>(step)], eval_csv)].push_back(
            scale * number(r[static_cast<std::size_t>(value)], eval_csv));
    }
    const bool use_sweep = source == "sweep" || (source == "auto" && fs::exists(sweep_csv));
    if (use_sweep) {
      const auto table = report::read_csv(sweep_csv.string());
      const int omega = table.column("omega"), nc = table.column("num_candidates"),
                value = table.column(metric);
      if (omega < 0 || nc < 0 || value < 0)
        throw DataError(
            fmt::format("{}: expected the columns omega, num_candidates and {}", sweep_csv.string(), metric));
      for (const auto& r : table.rows) {
        const std::string w = r[static_cast<std::size_t>(omega)], n = r[static_cast<std::size_t>(nc)];
        const double v = scale * number(r[static_cast<std::size_t>(value)], sweep_csv);
        const std::string s = setting(w, n);
        scores.push_back({run.row, s.empty() ? run.column : run.column + " " + s, run.seed, v});
        if (w != "-")
          omega_curves[run.row][n == "-" ? run.column : run.column + " N_c=" + n][number(w, sweep_csv)]
              .push_back(v);
      }
    } else {
      if (!fs::exists(eval_csv))
        throw DataError(
            fmt::format("{}: neither eval.csv nor eval_sweep.csv (train with an [environment], or "
                        "run `dipole eval {}`)",
                        dir.string(), dir.string()));
      const auto& last = curves[run.row][run.column];
      if (last.empty()) throw DataError(fmt::format("{}: no evaluation rows", eval_csv.string()));
      // The final evaluation of this run is the last value appended at the largest step.
      scores.push_back({run.row, run.column, run.seed, last.rbegin()->second.back()});
    }
  }

  const auto cells = report::aggregate(scores);
  fs::create_directories(out_dir);
  const std::string corner = metric == "return_mean" ? "return" : "success";
  std::string markdown =
      fmt::format("{} over seeds (mean ± std, population std) from {} runs\n\n", corner, runs.size()) +
      report::markdown_table(cells, corner, precision);
  write_text_atomic((fs::path(out_dir) / "report.md").string(), markdown);
  write_text_atomic((fs::path(out_dir) / "report.csv").string(), report::csv_table(cells));
  std::cout << markdown;
  std::cout << fmt::format("wrote {0}/report.md and {0}/report.csv\n", out_dir);

  const auto mean_series = [](const std::string& title, const std::map<double, std::vector<double>>& by_x) {
    PlotSeries series{title, {}, {}};
    for (const auto& [x, values] : by_x) {
      const auto cell = report::aggregate([&] {
        std::vector<report::RunScore> s;
        for (std::size_t i = 0; i < values.size(); ++i) s.push_back({"", "", std::to_string(i), values[i]});
        return s;
      }());
      series.points.emplace_back(x, cell.front().mean);
      series.errors.push_back(cell.front().std);
    }
    return series;
  };
  bool plotted_all = true;
  for (const auto& [row, by_column] : curves) {
    std::vector<PlotSeries> series;
    for (const auto& [column, by_step] : by_column) series.push_back(mean_series(column, by_step));
    const std::string png = (fs::path(out_dir) / ("learning_curve_" + slug(row) + ".png")).string();
    plotted_all &= plot_lines(png, row + ": evaluation during training", "update step",
                              corner + " (mean ± std over seeds)", series);
    std::cout << fmt::format("wrote {}\n", png);
  }
  for (const auto& [row, by_series] : omega_curves) {
    std::vector<PlotSeries> series;
    for (const auto& [name, by_omega] : by_series) series.push_back(mean_series(name, by_omega));
    const std::string png = (fs::path(out_dir) / ("return_vs_omega_" + slug(row) + ".png")).string();
    plotted_all &= plot_lines(png, row + ": " + corner + " against the guidance weight", "omega",
                              corner + " (mean ± std over seeds)", series);
    std::cout << fmt::format("wrote {}\n", png);
  }
  if (!plotted_all)
    std::cout << "gnuplot unavailable or failed: each plot's data and script are <png>.dat/.gp\n";
  return 0;
}

}  // namespace dipole::cli
