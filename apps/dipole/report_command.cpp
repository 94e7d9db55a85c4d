// `dipole report`: aggregate run directories (several seeds of several methods on several tasks) into
// the papers' results tables — mean ± std over seeds, category means, optional bootstrap intervals and
// IQM — as Markdown, CSV and LaTeX, an offline → online table for runs with an online phase, learning
// curves and ablation plots (PNG through gnuplot). Labels come from the sweep layout of the run
// directories or from keys of each run's resolved pipeline, so the command knows no benchmark or
// algorithm by name. The rules (sources, ω selection, flags) are in docs/reports.md.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "dipole/app/plot.hpp"
#include "dipole/app/report.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/files.hpp"
#include "options.hpp"

namespace dipole::cli {

namespace {

namespace fs = std::filesystem;

using Settings = std::vector<std::pair<std::string, std::string>>;  ///< (axis, value), in order

/// One evaluation row of eval.csv.
struct EvalRow {
  double step = 0;
  double value = 0;
  bool online = false;
};

/// One row of a `dipole eval` table (eval_sweep.csv or a selection file).
struct SweepRow {
  std::string omega, candidates;
  double value = 0;
  std::optional<double> clipped;
  std::optional<long long> eval_seed, episodes;
};

struct Run {
  fs::path dir;
  std::string task, method, seed;
  Settings axes;         ///< ablation settings: sweep axes from the path, or pipeline keys that differ
  bool by_path = false;  ///< labelled by the sweep layout (else by pipeline keys)
  config::Pipeline pipeline;
  std::vector<EvalRow> evals;      ///< in file order
  std::optional<double> boundary;  ///< last offline update step when the run has an online phase
};

/// One reported number of one run: a (task, column) cell entry plus its structure for the plots.
struct Score {
  std::string task, method;
  Settings settings;  ///< axes, then ω / N_c of `dipole eval`
  std::string seed;
  double value = 0;
  std::optional<double> clipped;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, separator);)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

/// Values of the keys present in the pipeline, joined by spaces ("walker stand").
std::string label(const config::Pipeline& pipeline, const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys)
    if (const auto value = pipeline.value_text(key)) out += (out.empty() ? "" : " ") + *value;
  return out;
}

std::string settings_label(const Settings& settings) {
  std::string out;
  for (const auto& [axis, value] : settings)
    out += (out.empty() ? "" : " ") + (value.empty() ? axis : axis + "=" + value);
  return out;
}

std::string column_of(const std::string& method, const Settings& settings) {
  const std::string s = settings_label(settings);
  return s.empty() ? method : method + " " + s;
}

/// Every run directory (holding pipeline.resolved.toml) at or below each argument, with the root it
/// was found under, sorted.
/// Natural order of paths: runs of digits compare as numbers, so `beta=3` comes before `beta=10` and a
/// report's columns follow the axis values.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && digit(a[i_end])) ++i_end;
      while (j_end < b.size() && digit(b[j_end])) ++j_end;
      std::size_t i0 = i, j0 = j;  // leading zeros do not change the number
      while (i0 + 1 < i_end && a[i0] == '0') ++i0;
      while (j0 + 1 < j_end && b[j0] == '0') ++j0;
      if (i_end - i0 != j_end - j0) return i_end - i0 < j_end - j0;
      const int c = a.compare(i0, i_end - i0, b, j0, j_end - j0);
      if (c != 0) return c < 0;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j || (a.size() - i == b.size() - j && a < b);
}

/// Run directories under `roots`, each with the root its sweep layout is read against: `layout_root`
/// when given (a run directory listed by `dipole sweep report`), else the root it was found under.
std::vector<std::pair<fs::path, fs::path>> find_runs(const std::vector<std::string>& roots,
                                                     const std::string& layout_root) {
  std::vector<std::pair<fs::path, fs::path>> runs;
  for (const auto& root : roots) {
    if (!fs::is_directory(root)) throw DataError(fmt::format("'{}' is not a directory", root));
    if (fs::exists(fs::path(root) / "pipeline.resolved.toml")) {
      runs.emplace_back(root, layout_root.empty() ? fs::path(root) : fs::path(layout_root));
      continue;
    }
    // Deep enough for <out>/<task>/<method>/<axis=value>.../seed<k>.
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      if (it.depth() > 7) it.disable_recursion_pending();
      if (it->is_directory() && fs::exists(it->path() / "pipeline.resolved.toml")) {
        runs.emplace_back(it->path(), layout_root.empty() ? fs::path(root) : fs::path(layout_root));
        it.disable_recursion_pending();
      }
    }
  }
  std::sort(runs.begin(), runs.end(),
            [](const auto& x, const auto& y) { return natural_less(x.first.string(), y.first.string()); });
  if (runs.empty())
    throw DataError(fmt::format("no run directory (one holding pipeline.resolved.toml) under {}",
                                fmt::join(roots, ", ")));
  return runs;
}

/// The sweep layout <out>/<task>/<method>/<axis=value>.../seed<k> (an axis directory may hold several
/// "a=1,b=2"): task, method and axes from the path relative to the root; nullopt for other layouts.
bool sweep_layout(const fs::path& dir, const fs::path& root, Run& run) {
  static const std::regex seed_dir(R"(seed[0-9]+)");
  std::vector<std::string> parts;
  for (const auto& part : fs::relative(dir, root)) parts.push_back(part.string());
  if (parts.size() < 3 || !std::regex_match(parts.back(), seed_dir)) return false;
  std::size_t i = parts.size() - 1;
  Settings axes;
  while (i > 0 && parts[i - 1].find('=') != std::string::npos) {
    --i;
    Settings here;
    for (const auto& item : split(parts[i], ',')) {
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) return false;
      here.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    axes.insert(axes.begin(), here.begin(), here.end());
  }
  if (i < 2) return false;
  run.method = parts[i - 1];
  run.task = parts[i - 2];
  run.axes = axes;
  return true;
}

double number(const std::string& text, const fs::path& file) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw DataError(fmt::format("{}: '{}' is not a number", file.string(), text));
  }
}

std::optional<double> as_number(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out.empty() ? "all" : out;
}

std::size_t at(int index) {
  return static_cast<std::size_t>(index);
}

/// eval.csv: step, eval/<metric> and (CONTRACTS: optional) phase.
std::vector<EvalRow> read_evals(const fs::path& file, const std::string& metric, double scale) {
  const auto table = report::read_csv(file.string());
  const int step = table.column("step"), value = table.column("eval/" + metric),
            phase = table.column("phase");
  if (step < 0 || value < 0)
    throw DataError(fmt::format("{}: no 'step' or 'eval/{}' column", file.string(), metric));
  std::vector<EvalRow> rows;
  for (const auto& r : table.rows) {
    const std::string p = phase < 0 ? "offline" : r[at(phase)];
    if (p != "offline" && p != "online")
      throw DataError(fmt::format("{}: phase '{}' (expected offline or online)", file.string(), p));
    rows.push_back({number(r[at(step)], file), scale * number(r[at(value)], file), p == "online"});
  }
  return rows;
}

/// The last update step of the offline phase: from metrics.csv (every update's log row) when it
/// carries phases, else from the evaluations.
std::optional<double> phase_boundary(const fs::path& dir, const std::vector<EvalRow>& evals) {
  const bool online = std::any_of(evals.begin(), evals.end(), [](const EvalRow& r) { return r.online; });
  if (!online) return std::nullopt;
  std::optional<double> boundary;
  const fs::path metrics = dir / "metrics.csv";
  if (fs::exists(metrics)) {
    const auto table = report::read_csv(metrics.string());
    const int step = table.column("step"), phase = table.column("phase");
    if (step >= 0 && phase >= 0)
      for (const auto& r : table.rows)
        if (r[at(phase)] == "offline")
          boundary = std::max(boundary.value_or(0.0), number(r[at(step)], metrics));
  }
  if (!boundary)
    for (const auto& r : evals)
      if (!r.online) boundary = std::max(boundary.value_or(0.0), r.step);
  return boundary;
}

std::vector<SweepRow> read_sweep(const fs::path& file, const std::string& metric, double scale) {
  const auto table = report::read_csv(file.string());
  const int omega = table.column("omega"), nc = table.column("num_candidates"), value = table.column(metric),
            clipped = table.column("clipped_fraction"), seed = table.column("eval_seed"),
            episodes = table.column("episodes");
  if (omega < 0 || nc < 0 || value < 0)
    throw DataError(
        fmt::format("{}: expected the columns omega, num_candidates and {}", file.string(), metric));
  std::vector<SweepRow> rows;
  for (const auto& r : table.rows) {
    SweepRow row{r[at(omega)], r[at(nc)],    scale * number(r[at(value)], file),
                 std::nullopt, std::nullopt, std::nullopt};
    if (clipped >= 0) row.clipped = number(r[at(clipped)], file);
    if (seed >= 0) row.eval_seed = static_cast<long long>(number(r[at(seed)], file));
    if (episodes >= 0) row.episodes = static_cast<long long>(number(r[at(episodes)], file));
    rows.push_back(row);
  }
  return rows;
}

/// ω / N_c settings of one `dipole eval` row ("-" entries are left out).
Settings eval_settings(const SweepRow& row) {
  Settings s;
  if (row.omega != "-") s.emplace_back("ω", row.omega);
  if (row.candidates != "-") s.emplace_back("N_c", row.candidates);
  return s;
}

/// Keys in which runs of the same method on the same task differ (seeds and label keys aside): the
/// ablation axes of layouts other than the sweep's.
std::map<std::string, std::vector<std::string>> differing_keys(const std::vector<Run>& runs,
                                                               const std::set<std::string>& ignored) {
  std::map<std::pair<std::string, std::string>, std::vector<const Run*>> groups;
  for (const auto& run : runs) groups[{run.task, run.method}].push_back(&run);
  std::map<std::string, std::set<std::string>> per_method;
  for (const auto& [key, members] : groups) {
    std::set<std::string> keys;
    for (const Run* run : members)
      for (const auto& k : run->pipeline.value_keys()) keys.insert(k);
    for (const auto& k : keys) {
      if (ignored.count(k) || (k.size() >= 4 && k.compare(k.size() - 4, 4, "seed") == 0)) continue;
      std::set<std::string> values;
      for (const Run* run : members) values.insert(run->pipeline.value_text(k).value_or("(absent)"));
      if (values.size() > 1) per_method[key.second].insert(k);
    }
  }
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [method, keys] : per_method) out[method] = {keys.begin(), keys.end()};
  return out;
}

PlotSeries mean_series(const std::string& title, const std::map<double, std::vector<double>>& by_x) {
  PlotSeries series{title, {}, {}};
  for (const auto& [x, values] : by_x) {
    series.points.emplace_back(x, report::mean(values));
    series.errors.push_back(report::population_std(values));
  }
  return series;
}

std::string source_text(const std::string& source, int last) {
  if (source == "final") return "final evaluation (last row of eval.csv)";
  if (source == "last") return fmt::format("average of the last {} evaluations of eval.csv", last);
  return "`dipole eval` (eval_sweep.csv), one column per ω / N_c setting";
}

}  // namespace

int report_command(const Args& args) {
  po::options_description options("options");
  std::vector<std::string> roots;
  std::string out_dir = "report", rows_keys = "dataset.domain,dataset.task,dataset.dataset",
              column_keys = "algorithm.type", metric = "return_mean", source = "auto", layout = "auto",
              select_omega, ignore_keys, layout_root;
  double scale = 1.0, clip_threshold = 0.5, confidence = 0.95;
  int precision = 1, last = 0, bootstrap = 0;
  std::uint64_t bootstrap_seed = 0;
  bool iqm = false, no_categories = false;
  options.add_options()("runs", po::value(&roots)->composing()->required(),
                        "run directories, or directories searched (7 levels) for them")(
      "out", po::value(&out_dir), "output directory (report.md, report.csv, report.tex, *.png)")(
      "layout", po::value(&layout),
      "auto (the sweep layout <task>/<method>/<axis=value>.../seed<k> where the paths have it, else keys), "
      "paths or keys")(
      "layout-root", po::value(&layout_root),
      "read the sweep layout of every run relative to this directory (the sweep's out; used by `dipole "
      "sweep report`, which lists its finished run directories)")(
      "rows", po::value(&rows_keys),
      "comma-separated pipeline keys whose values label a row (absent keys are skipped; if none is present, "
      "dataset.type)")("columns", po::value(&column_keys),
                       "comma-separated pipeline keys whose values label a column (the method)")(
      "ignore-keys", po::value(&ignore_keys),
      "comma-separated pipeline keys not to treat as ablation axes when runs differ in them")(
      "metric", po::value(&metric), "return_mean or success_rate")(
      "scale", po::value(&scale), "multiply the metric (e.g. 100 for success in %)")(
      "precision", po::value(&precision), "decimals in the tables")(
      "source", po::value(&source),
      "auto (eval_sweep.csv from `dipole eval` if present, else the final row of eval.csv), sweep, final, "
      "or last (the average of the last --last evaluations)")(
      "last", po::value(&last), "K for --source last (given alone, it selects --source last)")(
      "bootstrap", po::value(&bootstrap), "percentile-bootstrap resamples for intervals (0: none)")(
      "bootstrap-seed", po::value(&bootstrap_seed), "seed of the bootstrap (reproducible intervals)")(
      "confidence", po::value(&confidence), "bootstrap interval confidence")(
      "iqm", po::bool_switch(&iqm), "add an IQM row (interquartile mean over runs × tasks, as rliable)")(
      "no-categories", po::bool_switch(&no_categories), "no category means (OGBench's 5 tasks per category)")(
      "clip-threshold", po::value(&clip_threshold),
      "flag settings whose mean fraction of action components at the bounds is at least this")(
      "select-omega", po::value(&select_omega),
      "name of a second `dipole eval` table in each run (e.g. eval_select.csv, other eval seeds) on which "
      "ω is selected; the selected ω is reported on eval_sweep.csv");
  po::positional_options_description positional;
  positional.add("runs", -1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: dipole report <run-dir or parent>... [--out DIR] [--source final|last|sweep]\n"
          "                     [--bootstrap N] [--iqm] [--select-omega FILE]\n"
          "Aggregates runs (one per seed) into mean ± std over seeds per row (task) and column (method, "
          "ablation values and each ω/N_c setting of `dipole eval`). See docs/reports.md.",
          options, positional, vm))
    return 0;
  if (metric != "return_mean" && metric != "success_rate")
    throw ConfigError(fmt::format("--metric: expected return_mean or success_rate, got '{}'", metric));
  if (source == "auto" && last > 0) source = "last";
  if (source != "auto" && source != "sweep" && source != "final" && source != "last")
    throw ConfigError(fmt::format("--source: expected auto, sweep, final or last, got '{}'", source));
  if (source == "last" && last < 1) throw ConfigError("--source last needs --last K with K >= 1");
  if (layout != "auto" && layout != "paths" && layout != "keys")
    throw ConfigError(fmt::format("--layout: expected auto, paths or keys, got '{}'", layout));
  if (bootstrap < 0)
    throw ConfigError(fmt::format("--bootstrap: expected >= 0 resamples, got {}", bootstrap));
  if (!(confidence > 0 && confidence < 1))
    throw ConfigError(fmt::format("--confidence: expected a value in (0, 1), got {}", confidence));
  if (!select_omega.empty() && (source == "final" || source == "last"))
    throw ConfigError(
        "--select-omega selects among `dipole eval` settings: use it with --source sweep or auto");
  const bool explicit_keys = vm.count("rows") > 0 || vm.count("columns") > 0;

  // ---- runs and their labels --------------------------------------------------------------------
  std::vector<Run> runs;
  for (const auto& [dir, root] : find_runs(roots, layout_root)) {
    Run run{dir, "", "", "", {}, false, config::Pipeline::load((dir / "pipeline.resolved.toml").string()),
            {},  {}};
    const bool by_path =
        layout != "keys" && !(layout == "auto" && explicit_keys) && sweep_layout(dir, root, run);
    run.by_path = by_path;
    if (layout == "paths" && !by_path)
      throw DataError(
          fmt::format("{}: not in the sweep layout <task>/<method>/<axis=value>.../seed<k>", dir.string()));
    if (!by_path) {
      run.task = label(run.pipeline, split(rows_keys, ','));
      if (run.task.empty()) run.task = run.pipeline.value_text("dataset.type").value_or("-");
      run.method = label(run.pipeline, split(column_keys, ','));
      if (run.method.empty()) run.method = "-";
    }
    run.seed =
        run.pipeline.value_text("trainer.seed").value_or(by_path ? dir.filename().string().substr(4) : "0");
    const fs::path eval_csv = dir / "eval.csv";
    if (fs::exists(eval_csv)) run.evals = read_evals(eval_csv, metric, scale);
    run.boundary = phase_boundary(dir, run.evals);
    runs.push_back(std::move(run));
  }
  {
    // Ablation axes of runs not in the sweep layout: keys in which runs of one method and task differ.
    std::set<std::string> ignored;
    for (const auto& k : split(ignore_keys, ',')) ignored.insert(k);
    for (const auto& k : split(rows_keys, ',')) ignored.insert(k);
    for (const auto& k : split(column_keys, ',')) ignored.insert(k);
    std::vector<Run> keyed;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (!runs[i].by_path) index.push_back(i);
    for (auto i : index) keyed.push_back(runs[i]);
    const auto keys = differing_keys(keyed, ignored);
    for (auto i : index) {
      const auto it = keys.find(runs[i].method);
      if (it == keys.end()) continue;
      for (const auto& k : it->second)
        runs[i].axes.emplace_back(k, runs[i].pipeline.value_text(k).value_or("(absent)"));
    }
  }

  // ---- scores ---------------------------------------------------------------------------------------
  std::vector<Score> scores;
  std::set<std::string> used_sources;
  std::vector<std::string> selections;  // footnotes of --select-omega
  std::map<std::string, std::map<std::string, std::map<double, std::vector<double>>>>
      curves;                                // task → column → step
  std::map<std::string, double> boundaries;  // task → offline→online boundary
  std::vector<report::RunScore> offline_end, online_final;
  for (const auto& run : runs) {
    const std::string column = column_of(run.method, run.axes);
    for (const auto& e : run.evals) curves[run.task][column][e.step].push_back(e.value);
    if (run.boundary) boundaries[run.task] = std::max(boundaries[run.task], *run.boundary);
    const fs::path sweep_csv = run.dir / "eval_sweep.csv";
    const bool use_sweep = source == "sweep" || (source == "auto" && fs::exists(sweep_csv));
    if (use_sweep) {
      if (!fs::exists(sweep_csv))
        throw DataError(
            fmt::format("{}: no eval_sweep.csv (run `dipole eval {}`)", run.dir.string(), run.dir.string()));
      for (const auto& row : read_sweep(sweep_csv, metric, scale)) {
        Settings s = run.axes;
        for (const auto& e : eval_settings(row)) s.push_back(e);
        scores.push_back({run.task, run.method, s, run.seed, row.value, row.clipped});
      }
      used_sources.insert("sweep");
    } else {
      if (run.evals.empty())
        throw DataError(
            fmt::format("{}: neither eval.csv nor eval_sweep.csv (train with an [environment], or "
                        "run `dipole eval {}`)",
                        run.dir.string(), run.dir.string()));
      // Evaluations in step order (a stable sort keeps the last appended row last at equal steps).
      std::vector<EvalRow> ordered = run.evals;
      std::stable_sort(ordered.begin(), ordered.end(),
                       [](const EvalRow& a, const EvalRow& b) { return a.step < b.step; });
      double value = ordered.back().value;
      if (source == "last") {
        if (static_cast<int>(ordered.size()) < last)
          throw DataError(fmt::format("{}: {} evaluations, --last {} needs {}",
                                      (run.dir / "eval.csv").string(), ordered.size(), last, last));
        std::vector<double> tail;
        for (std::size_t i = ordered.size() - static_cast<std::size_t>(last); i < ordered.size(); ++i)
          tail.push_back(ordered[i].value);
        value = report::mean(tail);
      }
      scores.push_back({run.task, run.method, run.axes, run.seed, value, std::nullopt});
      used_sources.insert(source == "last" ? "last" : "final");
    }
    // Offline → online pair (CONTRACTS: phase column; absent = offline).
    if (run.boundary) {
      std::vector<EvalRow> ordered = run.evals;
      std::stable_sort(ordered.begin(), ordered.end(),
                       [](const EvalRow& a, const EvalRow& b) { return a.step < b.step; });
      std::vector<double> off, on;
      for (const auto& e : ordered) (e.online ? on : off).push_back(e.value);
      if (off.empty())
        throw DataError(fmt::format("{}: an online phase but no offline evaluation (the offline end value)",
                                    (run.dir / "eval.csv").string()));
      double final_value = on.back();
      if (source == "last") {
        const std::size_t k = std::min(on.size(), static_cast<std::size_t>(last));
        final_value = report::mean(std::vector<double>(on.end() - static_cast<long>(k), on.end()));
      }
      offline_end.push_back({run.task, column, run.seed, off.back(), std::nullopt});
      online_final.push_back({run.task, column, run.seed, final_value, std::nullopt});
    }
  }

  // ---- ω selected on a separate evaluation, reported on fresh episodes ---------------------------
  if (!select_omega.empty()) {
    // (task, method + axes + N_c) → ω → per-seed values on the selection table; and the report rows.
    std::map<std::pair<std::string, std::string>, std::map<std::string, std::vector<double>>> selection;
    for (const auto& run : runs) {
      const fs::path file = run.dir / select_omega, fresh = run.dir / "eval_sweep.csv";
      if (!fs::exists(file) || !fs::exists(fresh)) continue;
      if (fs::equivalent(file, fresh))
        throw ConfigError("--select-omega: the selection table must not be eval_sweep.csv itself");
      const auto chosen = read_sweep(file, metric, scale), reported = read_sweep(fresh, metric, scale);
      for (const auto& c : chosen)
        for (const auto& r : reported) {
          if (!c.eval_seed || !r.eval_seed || !c.episodes || !r.episodes)
            throw DataError(
                fmt::format("{} and {}: --select-omega needs the eval_seed and episodes columns of `dipole "
                            "eval` to prove the "
                            "two evaluations use different episodes",
                            file.string(), fresh.string()));
          // Episode i of an evaluation is reset with eval_seed + i: the two ranges must not meet.
          if (*c.eval_seed < *r.eval_seed + *r.episodes && *r.eval_seed < *c.eval_seed + *c.episodes)
            throw DataError(fmt::format(
                "{} (eval seeds {}..{}) and {} (eval seeds {}..{}) share evaluation episodes: select ω on "
                "other seeds, e.g. `dipole eval {} --set eval.seed=<seed> --csv {}`",
                file.string(), *c.eval_seed, *c.eval_seed + *c.episodes - 1, fresh.string(), *r.eval_seed,
                *r.eval_seed + *r.episodes - 1, run.dir.string(), file.string()));
        }
      for (const auto& c : chosen) {
        if (c.omega == "-") continue;
        Settings s = run.axes;
        if (c.candidates != "-") s.emplace_back("N_c", c.candidates);
        selection[{run.task, column_of(run.method, s)}][c.omega].push_back(c.value);
      }
    }
    if (selection.empty())
      throw DataError(
          fmt::format("--select-omega: no run holds both {} and eval_sweep.csv with ω values", select_omega));
    std::vector<Score> selected;
    for (const auto& [key, by_omega] : selection) {
      std::string best;
      double best_value = -INFINITY;
      for (const auto& [omega, values] : by_omega)
        if (report::mean(values) > best_value) best = omega, best_value = report::mean(values);
      selections.push_back(fmt::format("{} on {}: ω*={}", key.second, key.first, best));
      for (const auto& s : scores) {
        if (s.task != key.first) continue;
        Settings rest;
        std::string omega;
        for (const auto& [axis, value] : s.settings)
          if (axis == "ω")
            omega = value;
          else
            rest.emplace_back(axis, value);
        if (omega != best || column_of(s.method, rest) != key.second) continue;
        Settings labelled = rest;
        labelled.emplace_back("ω*", "");
        selected.push_back({s.task, s.method, labelled, s.seed, s.value, s.clipped});
      }
    }
    scores.insert(scores.end(), selected.begin(), selected.end());
  }

  // ---- tables ---------------------------------------------------------------------------------------
  fs::create_directories(out_dir);
  std::vector<report::RunScore> run_scores;
  for (const auto& s : scores)
    run_scores.push_back({s.task, column_of(s.method, s.settings), s.seed, s.value, s.clipped});
  const auto cells = report::aggregate(run_scores);
  report::TableOptions table_options;
  table_options.corner = metric == "return_mean" ? "return" : "success";
  table_options.precision = precision;
  table_options.bootstrap = bootstrap;
  table_options.bootstrap_seed = bootstrap_seed;
  table_options.confidence = confidence;
  table_options.categories = !no_categories;
  table_options.iqm = iqm;
  table_options.clip_threshold = clip_threshold;
  auto table = report::build_table(cells, table_options);
  if (!selections.empty())
    table.footnotes.push_back(fmt::format(
        "ω*: ω selected per task on {} (separate evaluation episodes), reported on eval_sweep.csv: {}",
        select_omega, fmt::join(selections, "; ")));
  std::vector<std::string> sources;
  for (const auto& s : used_sources) sources.push_back(source_text(s, last));
  const std::string header =
      fmt::format("{}: mean ± std over seeds (population std), from {} runs; source: {}\n\n",
                  table_options.corner, runs.size(), fmt::join(sources, "; where absent, "));
  std::string markdown = "## " + header + report::to_markdown(table);
  std::string latex = "% " + header + report::to_latex(table);
  std::string csv = report::to_csv(table);

  if (!offline_end.empty()) {
    report::TableOptions pair_options = table_options;
    pair_options.iqm = false;
    const auto before = report::build_table(report::aggregate(offline_end), pair_options);
    const auto after = report::build_table(report::aggregate(online_final), pair_options);
    const std::string pair_header = fmt::format(
        "{}: offline → online (the paper's Table 3): value at the end of the offline phase → {}, mean ± std "
        "over seeds\n\n",
        table_options.corner,
        source == "last" ? fmt::format("average of the last {} online evaluations", last)
                         : std::string("final online evaluation"));
    markdown += "\n## " + pair_header + report::pair_markdown(before, after);
    latex += "\n% " + pair_header + report::pair_latex(before, after);
    write_text_atomic((fs::path(out_dir) / "report_offline_online.csv").string(),
                      report::pair_csv(before, after));
  }
  write_text_atomic((fs::path(out_dir) / "report.md").string(), markdown);
  write_text_atomic((fs::path(out_dir) / "report.csv").string(), csv);
  write_text_atomic((fs::path(out_dir) / "report.tex").string(), latex);
  std::cout << markdown;
  std::cout << fmt::format("wrote {0}/report.md, {0}/report.csv and {0}/report.tex\n", out_dir);

  // ---- plots ----------------------------------------------------------------------------------------
  bool plotted_all = true;
  const std::string ylabel = table_options.corner + " (mean ± std over seeds)";
  for (const auto& [task, by_column] : curves) {
    std::vector<PlotSeries> series;
    for (const auto& [column, by_step] : by_column) series.push_back(mean_series(column, by_step));
    PlotStyle style;
    style.bands = true;
    if (const auto it = boundaries.find(task); it != boundaries.end())
      style.vertical_lines.emplace_back(it->second, "offline | online");
    const std::string png = (fs::path(out_dir) / ("learning_curve_" + slug(task) + ".png")).string();
    plotted_all &=
        plot_lines(png, task + ": evaluation during training", "update step", ylabel, series, style);
    std::cout << fmt::format("wrote {}\n", png);
  }
  // Ablation plots: the metric against each numeric axis, one line per method and other settings.
  std::map<std::string, std::map<std::string, std::map<std::string, std::map<double, std::vector<double>>>>>
      ablations;  // axis → task → series → x → values
  for (const auto& s : scores) {
    for (std::size_t i = 0; i < s.settings.size(); ++i) {
      const auto x = as_number(s.settings[i].second);
      if (!x) continue;
      Settings rest = s.settings;
      rest.erase(rest.begin() + static_cast<long>(i));
      ablations[s.settings[i].first][s.task][column_of(s.method, rest)][*x].push_back(s.value);
    }
  }
  for (const auto& [axis, by_task] : ablations)
    for (const auto& [task, by_series] : by_task) {
      std::size_t most = 0;
      for (const auto& [name, by_x] : by_series) most = std::max(most, by_x.size());
      if (most < 2) continue;  // one value of the axis: nothing to plot against
      std::vector<PlotSeries> series;
      for (const auto& [name, by_x] : by_series) series.push_back(mean_series(name, by_x));
      const std::string png =
          (fs::path(out_dir) / (axis == "ω" ? "return_vs_omega_" + slug(task) + ".png"
                                            : "ablation_" + slug(axis) + "_" + slug(task) + ".png"))
              .string();
      plotted_all &= plot_lines(png, fmt::format("{}: {} against {}", task, table_options.corner, axis),
                                axis == "ω" ? "omega" : axis, ylabel, series);
      std::cout << fmt::format("wrote {}\n", png);
    }
  if (!plotted_all)
    std::cout << "gnuplot unavailable or failed: each plot's data and script are <png>.dat/.gp\n";
  return 0;
}

}  // namespace dipole::cli
