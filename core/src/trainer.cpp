#include "dipole/core/trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "dipole/core/checkpoint.hpp"
#include "dipole/core/evaluator.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/online.hpp"
#include "dipole/core/run_lock.hpp"
#include "dipole/core/stop.hpp"

namespace dipole {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = std::llround(seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

/// The resolved pipeline without comment lines (they name the source path and --set spelling).
std::string without_comments(const std::string& text) {
  std::stringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind('#', 0) != 0) out += line + "\n";
  return out;
}

std::string json_number(double v) {
  return std::isfinite(v) ? fmt::format("{}", v) : "null";
}

/// <name>.jsonl (every key of every row) and <name>.csv (columns fixed by the first row).
class MetricsLog {
 public:
  MetricsLog(const fs::path& dir, const std::string& name, std::int64_t resumed_step)
      : jsonl_(dir / (name + ".jsonl")), csv_(dir / (name + ".csv")) {
    // Keep only rows up to the resumed step, so a resumed run's logs equal an uninterrupted run's.
    truncate_after(jsonl_, resumed_step, /*has_header=*/false);
    truncate_after(csv_, resumed_step, /*has_header=*/true);
    if (fs::exists(csv_)) {
      std::ifstream in(csv_);
      std::string header;
      std::getline(in, header);
      std::stringstream ss(header);
      for (std::string col; std::getline(ss, col, ',');) columns_.push_back(col);
    }
  }

  /// Columns appended to the csv header when it is written (keys that appear only in later rows, such
  /// as the online phase's), so that every row fits the header.
  void reserve_columns(const std::vector<std::string>& names) { reserved_ = names; }

  /// Whether a row of `step` was written (and kept when resuming).
  bool has_row(std::int64_t step) const { return steps_.count(step) > 0; }

  /// One row; `phase` (nullptr: none) becomes the "phase" field right after "step" (docs/online.md).
  void write(std::int64_t step, const Metrics& metrics, const char* phase = nullptr) {
    {
      std::ofstream out(jsonl_, std::ios::app);
      out << "{\"step\": " << step;
      if (phase) out << ", \"phase\": \"" << phase << "\"";
      for (const auto& [k, v] : metrics) out << ", \"" << k << "\": " << json_number(v);
      out << "}\n";
      check_written(out, jsonl_);
    }
    steps_.insert(step);
    std::ofstream out(csv_, std::ios::app);
    if (columns_.empty()) {
      columns_.push_back("step");
      if (phase) columns_.push_back("phase");
      for (const auto& [k, v] : metrics) columns_.push_back(k);
      for (const auto& name : reserved_)
        if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) columns_.push_back(name);
      out << fmt::format("{}\n", fmt::join(columns_, ","));
    }
    std::vector<std::string> cells{std::to_string(step)};
    for (std::size_t c = 1; c < columns_.size(); ++c) {
      std::string cell;
      if (columns_[c] == "phase" && phase) cell = phase;
      for (const auto& [k, v] : metrics)
        if (k == columns_[c]) cell = fmt::format("{}", v);
      cells.push_back(cell);
    }
    out << fmt::format("{}\n", fmt::join(cells, ","));
    check_written(out, csv_);
  }

 private:
  /// A full disk or a read-only directory is an error naming the file, not a silently missing row.
  static void check_written(std::ofstream& out, const fs::path& file) {
    out.flush();
    if (!out) throw DataError(fmt::format("cannot append to {}: {}", file.string(), std::strerror(errno)));
  }

  /// The step of a row; DataError naming the file and line when it has none (a damaged log).
  static std::int64_t row_step(const fs::path& file, std::int64_t line_number, const std::string& text,
                               bool csv) {
    std::size_t begin = 0;
    if (!csv) {
      const auto pos = text.find("\"step\": ");
      if (pos == std::string::npos || text.front() != '{' || text.back() != '}')
        throw DataError(
            fmt::format("{}:{}: damaged row (expected {{\"step\": N, ...}}); delete the file or the "
                        "line to resume",
                        file.string(), line_number));
      begin = pos + 8;
    }
    std::size_t end = begin;
    while (end < text.size() && end - begin < 19 && text[end] >= '0' && text[end] <= '9') ++end;
    const bool terminated = csv ? end == text.size() || text[end] == ','
                                : end < text.size() && (text[end] == ',' || text[end] == '}');
    if (end == begin || !terminated)
      throw DataError(
          fmt::format("{}:{}: damaged row: it does not start with a step number; delete the file "
                      "or the line to resume",
                      file.string(), line_number));
    return std::stoll(text.substr(begin, end - begin));
  }

  void truncate_after(const fs::path& file, std::int64_t step, bool has_header) {
    if (!fs::exists(file)) return;
    std::vector<std::string> lines;
    {
      std::ifstream in(file);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    std::string kept;
    bool first = true;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      if (line.empty()) continue;
      if (has_header && first) {
        kept += line + "\n";
        first = false;
        continue;
      }
      first = false;
      // The last line may be cut short by a kill during its write: it belongs to a step after the
      // checkpoint (rows are written before the checkpoint of their step), so it is dropped anyway.
      const bool last = i + 1 == lines.size();
      std::int64_t at = 0;
      try {
        at = row_step(file, static_cast<std::int64_t>(i + 1), line, has_header);
      } catch (const DataError&) {
        if (last) break;
        throw;
      }
      if (at <= step) {
        kept += line + "\n";
        steps_.insert(at);
      }
    }
    write_text_atomic(file.string(), kept);
  }

  fs::path jsonl_, csv_;
  std::vector<std::string> columns_, reserved_;
  std::set<std::int64_t> steps_;
};

/// A one-line progress report on stderr: rewritten in place on a terminal, a line per log otherwise.
class Progress {
 public:
  Progress(bool enabled, std::int64_t start, std::int64_t total)
      : enabled_(enabled),
        tty_(isatty(fileno(stderr)) != 0),
        total_(total),
        last_step_(start),
        last_(Clock::now()) {}

  double rate() const { return rate_; }

  void update(std::int64_t step, const Metrics& metrics, bool log_row) {
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_).count();
    if (dt > 0 && step > last_step_) rate_ = static_cast<double>(step - last_step_) / dt;
    if (!enabled_ || !(log_row || (tty_ && dt > 0.5))) return;
    last_ = now;
    last_step_ = step;
    std::string shown;
    int count = 0;
    for (const auto& [k, v] : metrics) {
      if (count++ == 3) break;
      shown += fmt::format(" {}={:.4g}", k, v);
    }
    const double eta = rate_ > 0 ? static_cast<double>(total_ - step) / rate_ : NAN;
    const std::string line = fmt::format(
        "[train] step {}/{} ({:.0f}%) {:.1f} steps/s ETA {}{}", step, total_,
        100.0 * static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(total_, 1)), rate_,
        format_duration(eta), shown);
    if (tty_)
      std::fprintf(stderr, "\r%-110s", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }

  void finish() {
    if (enabled_ && tty_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_, tty_;
  std::int64_t total_, last_step_;
  Clock::time_point last_;
  double rate_ = 0;
};

}  // namespace

std::uint64_t data_seed(std::uint64_t seed) {
  return (seed * 0x9E3779B97F4A7C15ULL + 1) & 0x7FFFFFFFFFFFFFFFULL;
}
std::uint64_t update_seed(std::uint64_t seed) {
  return (seed * 0xD1B54A32D192ED03ULL + 2) & 0x7FFFFFFFFFFFFFFFULL;
}

TrainResult train(Run& run, const TrainOptions& options) {
  // SIGINT/SIGTERM stop the loop after the current update (or evaluation) instead of the process.
  StopScope stop_scope;
  const fs::path dir = options.out_dir;
  const RunLock lock(dir.string(), "dipole train");  // re-entrant: the CLI may hold it already
  fs::create_directories(dir / "checkpoints");
  // Temporary files of atomic writes cut short by a kill.
  remove_stale_temp_files(dir.string());
  remove_stale_temp_files((dir / "checkpoints").string());
  const fs::path checkpoint = dir / "checkpoints" / "latest.npz";
  const fs::path resolved_path = dir / "pipeline.resolved.toml";
  const std::string resolved = run.pipeline.resolved_toml();

  TrainResult result;
  at::Generator data_gen = at::detail::createCPUGenerator(data_seed(run.trainer.seed));
  at::Generator update_gen = at::detail::createCPUGenerator(update_seed(run.trainer.seed));
  std::int64_t step = 0;
  const auto& t = run.trainer;
  const std::int64_t total = run.total_steps();
  const bool has_online = run.online.enabled();
  std::unique_ptr<OnlinePhase> online;  // created when the counter reaches the online phase
  StateDict saved_online;               // its state from the checkpoint, if the run stopped inside it

  if (options.resume && fs::exists(checkpoint)) {
    if (fs::exists(resolved_path) &&
        without_comments(read_text(resolved_path.string())) != without_comments(resolved))
      throw ConfigError(fmt::format(
          "{} holds a run of a different pipeline than {} (compare {}); use another --out directory, or "
          "--no-resume to overwrite",
          dir.string(), run.pipeline.source(), resolved_path.string()));
    TrainingState state = load_checkpoint(checkpoint.string());
    run.algorithm->load_state(state.algorithm);
    data_gen.set_state(state.data_generator);
    update_gen.set_state(state.algorithm_generator);
    step = state.step;
    saved_online = std::move(state.online);
    result.resumed_from = step;
    if (options.progress)
      std::fprintf(stderr, "[train] resuming %s at step %lld\n", dir.c_str(), static_cast<long long>(step));
  } else if (!options.resume) {
    for (const char* name : {"metrics.csv", "metrics.jsonl", "eval.csv", "eval.jsonl"})
      fs::remove(dir / name);
    fs::remove(checkpoint);
  }
  write_text_atomic(resolved_path.string(), resolved);
  const std::string plugin_builds = plugin_builds_toml(run.builds);
  write_text_atomic((dir / "plugins.toml").string(), plugin_builds);

  // The online phase starts after update t.steps (docs/online.md); a run resumed inside it restores the
  // phase (buffer, exploration environments, counters) from the checkpoint.
  auto enter_online_phase = [&] {
    if (online || !has_online || step < t.steps) return;
    online = std::make_unique<OnlinePhase>(run);
    if (step > t.steps) {
      if (saved_online.empty())
        throw DataError(
            fmt::format("{}: step {} is inside the online phase, but the checkpoint holds no online "
                        "state",
                        checkpoint.string(), step));
      online->load_state(saved_online);
    }
    saved_online.clear();
  };
  enter_online_phase();
  // Rows of metrics and eval logs carry the phase of the update they follow (CONTRACTS: `phase`).
  auto phase_of = [&](std::int64_t at_step) -> const char* {
    if (!has_online) return nullptr;
    return at_step <= t.steps ? "offline" : "online";
  };

  auto save = [&](std::int64_t at_step) {
    TrainingState state;
    state.step = at_step;
    state.algorithm = run.algorithm->state();
    state.data_generator = data_gen.get_state();
    state.algorithm_generator = update_gen.get_state();
    if (online) state.online = online->state();
    state.plugin_builds = plugin_builds;
    save_checkpoint(checkpoint.string(), state);
  };
  auto run_eval = [&](std::int64_t at_step, MetricsLog& log) {  // log: the eval log
    if (!run.make_environment) return;
    const EvalResult r = evaluate(*run.algorithm, run.make_environment, run.eval.episodes, run.eval.parallel,
                                  {}, run.eval.seed);
    log.write(at_step,
              {{"eval/return_mean", r.return_mean},
               {"eval/return_std", r.return_std},
               {"eval/success_rate", r.success_rate},
               {"eval/length_mean", r.length_mean}},
              phase_of(at_step));
    if (options.progress)
      std::fprintf(stderr, "\n[eval] step %lld: return %.4g ± %.3g, success %.3f over %lld episodes\n",
                   static_cast<long long>(at_step), r.return_mean, r.return_std, r.success_rate,
                   static_cast<long long>(r.episodes));
  };
  // Offline: trainer.eval_interval. Online: online.eval_interval (absent: the same), on the global counter.
  // An online run also evaluates after the last offline update (the "offline" number of an
  // offline → online pair); every run evaluates after its last update.
  auto eval_due = [&](std::int64_t at_step) {
    if (at_step >= total) return false;  // the final evaluation follows the loop
    if (has_online && at_step == t.steps) return true;
    const std::int64_t interval =
        at_step <= t.steps || !run.online.eval_interval ? t.eval_interval : *run.online.eval_interval;
    return interval > 0 && at_step % interval == 0;
  };

  MetricsLog log(dir, "metrics", step);
  MetricsLog eval_log(dir, "eval", step);
  if (has_online) {
    auto names = OnlinePhase::metric_names();
    names.insert(names.end(), {"time/env_steps_per_second", "time/updates_per_second"});
    log.reserve_columns(names);
  }
  Progress progress(options.progress, step, total);
  Metrics metrics;
  std::int64_t timed_updates = 0;
  double update_seconds = 0;
  // Stopped by a signal: the checkpoint of `step` holds every finished update; an evaluation that was
  // cut short has no row, so the resumed run (which looks for it below) redoes it.
  auto stopped = [&](const char* during) {
    save(step);
    progress.finish();
    result.interrupted = true;
    result.steps_done = step;
    result.checkpoint = checkpoint.string();
    if (options.progress)
      std::fprintf(stderr, "\n[train] stopped at step %lld%s; checkpoint written, run again to resume\n",
                   static_cast<long long>(step), during);
    return result;
  };
  // A resumed run first redoes an intermediate evaluation of its step that an interruption left unwritten.
  if (result.resumed_from > 0 && step < total && run.make_environment && eval_due(step) &&
      !eval_log.has_row(step)) {
    try {
      run_eval(step, eval_log);
    } catch (const Interrupted&) {
      return stopped(" during the evaluation");
    }
  }
  while (step < total) {
    if (options.stop_after >= 0 && step >= options.stop_after) break;
    if (stop_requested()) return stopped("");
    const bool log_row =
        (step + 1) % t.log_interval == 0 || step + 1 == total || (has_online && step + 1 == t.steps);
    enter_online_phase();
    Batch batch =
        online ? online->next_batch(step - t.steps, data_gen) : run.dataset->sample(t.batch_size, data_gen);
    const auto update_start = Clock::now();
    try {
      metrics = run.algorithm->update(batch, update_gen, log_row);
    } catch (const NumericError& e) {
      throw NumericError(fmt::format("step {}: {} (the last checkpoint is {})", step + 1, e.what(),
                                     fs::exists(checkpoint) ? checkpoint.string() : std::string("none")));
    }
    update_seconds += std::chrono::duration<double>(Clock::now() - update_start).count();
    ++timed_updates;
    ++step;
    if (log_row) {
      Metrics row = metrics;
      if (online) {
        const Metrics extra = online->log_metrics();
        row.insert(row.end(), extra.begin(), extra.end());
      }
      row.emplace_back("time/steps_per_second", progress.rate());  // wall-clock columns last
      if (online) {
        const auto [env_steps, env_seconds] = online->take_env_timing();
        row.emplace_back("time/env_steps_per_second",
                         env_seconds > 0 ? static_cast<double>(env_steps) / env_seconds : 0.0);
        row.emplace_back("time/updates_per_second",
                         update_seconds > 0 ? static_cast<double>(timed_updates) / update_seconds : 0.0);
      }
      timed_updates = 0;
      update_seconds = 0;
      log.write(step, row, phase_of(step));
    }
    progress.update(step, metrics, log_row);
    if (eval_due(step)) {
      try {
        run_eval(step, eval_log);
      } catch (const Interrupted&) {
        return stopped(" during the evaluation");
      }
    }
    if (t.checkpoint_interval > 0 && step % t.checkpoint_interval == 0) save(step);
  }
  progress.finish();
  save(step);
  // The final evaluation, also when a resumed run finds it missing (a stop or kill cut it short).
  if (step >= total && run.make_environment && !eval_log.has_row(step)) {
    try {
      run_eval(step, eval_log);
    } catch (const Interrupted&) {
      return stopped(" during the final evaluation");
    }
  }
  result.steps_done = step;
  result.last_metrics = metrics;
  result.checkpoint = checkpoint.string();
  return result;
}

}  // namespace dipole
