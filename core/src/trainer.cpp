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
#include <functional>
#include <memory>
#include <set>
#include <sstream>

#include "dipole/core/checkpoint.hpp"
#include "dipole/core/evaluator.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/online.hpp"
#include "dipole/core/run_lock.hpp"
#include "dipole/core/seed_parallel.hpp"
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
  Progress(bool enabled, std::int64_t start, std::int64_t total, std::string title = "[train]")
      : enabled_(enabled),
        title_(std::move(title)),
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
        "{} step {}/{} ({:.0f}%) {:.1f} steps/s ETA {}{}", title_, step, total_,
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
  bool enabled_;
  std::string title_;
  bool tty_;
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

namespace {

/// One run directory being trained: everything train() does, split into steps so that several seeds
/// can advance together (train_seeds). Each member function that can be cut short by a stop request
/// returns false after writing the checkpoint of the last finished step.
class Training {
 public:
  Training(Run& run, const TrainOptions& options)
      : run_(run),
        options_(options),
        dir_(options.out_dir),
        lock_(dir_.string(), "dipole train"),  // re-entrant: the CLI may hold it already
        checkpoint_(dir_ / "checkpoints" / "latest.npz"),
        data_gen_(at::detail::createCPUGenerator(data_seed(run.trainer.seed))),
        update_gen_(at::detail::createCPUGenerator(update_seed(run.trainer.seed))),
        total_(run.total_steps()),
        has_online_(run.online.enabled()) {
    fs::create_directories(dir_ / "checkpoints");
    // Temporary files of atomic writes cut short by a kill.
    remove_stale_temp_files(dir_.string());
    remove_stale_temp_files((dir_ / "checkpoints").string());
    const fs::path resolved_path = dir_ / "pipeline.resolved.toml";
    const std::string resolved = run.pipeline.resolved_toml();
    if (options.resume && fs::exists(checkpoint_)) {
      if (fs::exists(resolved_path) &&
          without_comments(read_text(resolved_path.string())) != without_comments(resolved))
        throw ConfigError(fmt::format(
            "{} holds a run of a different pipeline than {} (compare {}); use another --out directory, or "
            "--no-resume to overwrite",
            dir_.string(), run.pipeline.source(), resolved_path.string()));
      TrainingState state = load_checkpoint(checkpoint_.string());
      run.algorithm->load_state(state.algorithm);
      data_gen_.set_state(state.data_generator);
      update_gen_.set_state(state.algorithm_generator);
      step_ = state.step;
      saved_online_ = std::move(state.online);
      result_.resumed_from = step_;
      if (options.progress)
        std::fprintf(stderr, "%s[train] resuming %s at step %lld\n", options.label.c_str(), dir_.c_str(),
                     static_cast<long long>(step_));
    } else if (!options.resume) {
      for (const char* name : {"metrics.csv", "metrics.jsonl", "eval.csv", "eval.jsonl"})
        fs::remove(dir_ / name);
      fs::remove(checkpoint_);
    }
    write_text_atomic(resolved_path.string(), resolved);
    plugin_builds_ = plugin_builds_toml(run.builds);
    write_text_atomic((dir_ / "plugins.toml").string(), plugin_builds_);
    enter_online_phase();
    log_ = std::make_unique<MetricsLog>(dir_, "metrics", step_);
    eval_log_ = std::make_unique<MetricsLog>(dir_, "eval", step_);
    if (has_online_) {
      auto names = OnlinePhase::metric_names();
      names.insert(names.end(), {"time/env_steps_per_second", "time/updates_per_second"});
      log_->reserve_columns(names);
    }
    progress_ = std::make_unique<Progress>(options.progress && options.progress_line, step_, total_);
  }

  std::int64_t step() const { return step_; }
  const TrainResult& result() const { return result_; }

  /// A resumed run first redoes an intermediate evaluation of its step that an interruption left
  /// unwritten. False: interrupted.
  bool start() {
    if (result_.resumed_from > 0 && step_ < total_ && run_.make_environment && eval_due(step_) &&
        !eval_log_->has_row(step_)) {
      try {
        run_eval(step_);
      } catch (const Interrupted&) {
        return stopped(" during the evaluation");
      }
    }
    return true;
  }

  /// Whether another update is due (options.stop_after counts as the end).
  bool more() const { return step_ < total_ && !(options_.stop_after >= 0 && step_ >= options_.stop_after); }

  /// One update with its log row, evaluation and checkpoint when due. False: stopped by a request
  /// (checked before the update) or during the evaluation.
  bool advance() {
    if (stop_requested()) return stopped("");
    const auto& t = run_.trainer;
    const bool log_row =
        (step_ + 1) % t.log_interval == 0 || step_ + 1 == total_ || (has_online_ && step_ + 1 == t.steps);
    enter_online_phase();
    Batch batch = online_ ? online_->next_batch(step_ - t.steps, data_gen_)
                          : run_.dataset->sample(t.batch_size, data_gen_);
    const auto update_start = Clock::now();
    try {
      metrics_ = run_.algorithm->update(batch, update_gen_, log_row);
    } catch (const NumericError& e) {
      throw NumericError(fmt::format("{}step {}: {} (the last checkpoint is {})", options_.label, step_ + 1,
                                     e.what(),
                                     fs::exists(checkpoint_) ? checkpoint_.string() : std::string("none")));
    }
    update_seconds_ += std::chrono::duration<double>(Clock::now() - update_start).count();
    ++timed_updates_;
    ++step_;
    if (log_row) {
      Metrics row = metrics_;
      if (online_) {
        const Metrics extra = online_->log_metrics();
        row.insert(row.end(), extra.begin(), extra.end());
      }
      // Wall-clock columns last. Several seeds trained together report the group's step rate.
      row.emplace_back("time/steps_per_second", rate_ ? rate_() : progress_->rate());
      if (online_) {
        const auto [env_steps, env_seconds] = online_->take_env_timing();
        row.emplace_back("time/env_steps_per_second",
                         env_seconds > 0 ? static_cast<double>(env_steps) / env_seconds : 0.0);
        row.emplace_back("time/updates_per_second",
                         update_seconds_ > 0 ? static_cast<double>(timed_updates_) / update_seconds_ : 0.0);
      }
      timed_updates_ = 0;
      update_seconds_ = 0;
      log_->write(step_, row, phase_of(step_));
    }
    progress_->update(step_, metrics_, log_row);
    if (eval_due(step_)) {
      try {
        run_eval(step_);
      } catch (const Interrupted&) {
        return stopped(" during the evaluation");
      }
    }
    if (t.checkpoint_interval > 0 && step_ % t.checkpoint_interval == 0) save(step_);
    return true;
  }

  /// After the last update: the final checkpoint, then the final evaluation (also when a resumed run
  /// finds it missing because a stop or kill cut it short). False: interrupted during it.
  bool finish() {
    progress_->finish();
    save(step_);
    if (step_ >= total_ && run_.make_environment && !eval_log_->has_row(step_)) {
      try {
        run_eval(step_);
      } catch (const Interrupted&) {
        return stopped(" during the final evaluation");
      }
    }
    result_.steps_done = step_;
    result_.last_metrics = metrics_;
    result_.checkpoint = checkpoint_.string();
    return true;
  }

  /// Stopped by a signal: the checkpoint of `step` holds every finished update; an evaluation that was
  /// cut short has no row, so the resumed run (which looks for it in start()) redoes it.
  bool stopped(const char* during) {
    save(step_);
    progress_->finish();
    result_.interrupted = true;
    result_.steps_done = step_;
    result_.checkpoint = checkpoint_.string();
    if (options_.progress)
      std::fprintf(stderr, "\n%s[train] stopped at step %lld%s; checkpoint written, run again to resume\n",
                   options_.label.c_str(), static_cast<long long>(step_), during);
    return false;
  }

  /// The step rate written to metrics rows (default: this run's own progress rate).
  void set_rate_source(std::function<double()> rate) { rate_ = std::move(rate); }

 private:
  // The online phase starts after update trainer.steps (docs/online.md); a run resumed inside it
  // restores the phase (buffer, exploration environments, counters) from the checkpoint.
  void enter_online_phase() {
    if (online_ || !has_online_ || step_ < run_.trainer.steps) return;
    online_ = std::make_unique<OnlinePhase>(run_);
    if (step_ > run_.trainer.steps) {
      if (saved_online_.empty())
        throw DataError(
            fmt::format("{}: step {} is inside the online phase, but the checkpoint holds no online "
                        "state",
                        checkpoint_.string(), step_));
      online_->load_state(saved_online_);
    }
    saved_online_.clear();
  }

  // Rows of metrics and eval logs carry the phase of the update they follow (CONTRACTS: `phase`).
  const char* phase_of(std::int64_t at_step) const {
    if (!has_online_) return nullptr;
    return at_step <= run_.trainer.steps ? "offline" : "online";
  }

  void save(std::int64_t at_step) {
    TrainingState state;
    state.step = at_step;
    state.algorithm = run_.algorithm->state();
    state.data_generator = data_gen_.get_state();
    state.algorithm_generator = update_gen_.get_state();
    if (online_) state.online = online_->state();
    state.plugin_builds = plugin_builds_;
    save_checkpoint(checkpoint_.string(), state);
  }

  void run_eval(std::int64_t at_step) {
    if (!run_.make_environment) return;
    const EvalResult r = evaluate(*run_.algorithm, run_.make_environment, run_.eval.episodes,
                                  run_.eval.parallel, {}, run_.eval.seed);
    eval_log_->write(at_step,
                     {{"eval/return_mean", r.return_mean},
                      {"eval/return_std", r.return_std},
                      {"eval/success_rate", r.success_rate},
                      {"eval/length_mean", r.length_mean}},
                     phase_of(at_step));
    if (options_.progress)
      std::fprintf(stderr, "\n%s[eval] step %lld: return %.4g ± %.3g, success %.3f over %lld episodes\n",
                   options_.label.c_str(), static_cast<long long>(at_step), r.return_mean, r.return_std,
                   r.success_rate, static_cast<long long>(r.episodes));
  }

  // Offline: trainer.eval_interval. Online: online.eval_interval (absent: the same), on the global
  // counter. An online run also evaluates after the last offline update (the "offline" number of an
  // offline → online pair); every run evaluates after its last update (finish()).
  bool eval_due(std::int64_t at_step) const {
    const auto& t = run_.trainer;
    if (at_step >= total_) return false;
    if (has_online_ && at_step == t.steps) return true;
    const std::int64_t interval =
        at_step <= t.steps || !run_.online.eval_interval ? t.eval_interval : *run_.online.eval_interval;
    return interval > 0 && at_step % interval == 0;
  }

  Run& run_;
  TrainOptions options_;
  fs::path dir_;
  RunLock lock_;
  fs::path checkpoint_;
  at::Generator data_gen_, update_gen_;
  std::int64_t step_ = 0;
  std::int64_t total_;
  bool has_online_;
  std::unique_ptr<OnlinePhase> online_;  // created when the counter reaches the online phase
  StateDict saved_online_;               // its state from the checkpoint, if the run stopped inside it
  std::string plugin_builds_;
  std::unique_ptr<MetricsLog> log_, eval_log_;
  std::unique_ptr<Progress> progress_;
  std::function<double()> rate_;
  TrainResult result_;
  Metrics metrics_;
  std::int64_t timed_updates_ = 0;
  double update_seconds_ = 0;
};

}  // namespace

TrainResult train(Run& run, const TrainOptions& options) {
  // SIGINT/SIGTERM stop the loop after the current update (or evaluation) instead of the process.
  StopScope stop_scope;
  Training training(run, options);
  if (!training.start()) return training.result();
  while (training.more())
    if (!training.advance()) return training.result();
  training.finish();
  return training.result();
}

std::string seed_dir(const std::string& out_dir, std::uint64_t seed) {
  return (fs::path(out_dir) / fmt::format("seed{}", seed)).string();
}

std::vector<TrainResult> train_seeds(std::vector<Run>& runs, const TrainOptions& options, int threads) {
  StopScope stop_scope;
  const std::size_t n = runs.size();
  if (n == 0) return {};
  std::vector<std::unique_ptr<Training>> trainings;
  trainings.reserve(runs.size());
  for (auto& run : runs) {
    TrainOptions own = options;
    own.out_dir = seed_dir(options.out_dir, run.trainer.seed);
    own.label = fmt::format("{}[seed {}] ", options.label, run.trainer.seed);
    own.progress_line = false;
    trainings.push_back(std::make_unique<Training>(run, own));
  }
  std::int64_t first_step = trainings.front()->step(), total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    first_step = std::min(first_step, trainings[i]->step());
    total = std::max(total, runs[i].total_steps());
  }
  Progress progress(options.progress && options.progress_line, first_step, total,
                    fmt::format("{}[train {} seeds]", options.label, n));
  for (auto& training : trainings) training->set_rate_source([&progress] { return progress.rate(); });

  std::vector<char> live(n, 1);
  std::vector<std::exception_ptr> errors(n);
  auto results = [&] {
    std::vector<TrainResult> out;
    out.reserve(trainings.size());
    for (auto& training : trainings) out.push_back(training->result());
    return out;
  };
  // Runs `work` on every seed in `which`; afterwards a stop or an error in any seed stops every other
  // seed with a checkpoint (false), unless `stop_others` is false (the final round, where the others
  // have finished), and an error is rethrown.
  auto round = [&](const std::vector<std::size_t>& which, const std::function<bool(Training&)>& work,
                   bool stop_others = true) {
    for_each_seed(static_cast<std::int64_t>(which.size()), threads, [&](std::int64_t k) {
      const std::size_t i = which[static_cast<std::size_t>(k)];
      try {
        live[i] = work(*trainings[i]) ? 1 : 0;
      } catch (...) {
        errors[i] = std::current_exception();
        live[i] = 0;
      }
    });
    const bool failed = std::any_of(errors.begin(), errors.end(), [](const auto& e) { return e != nullptr; });
    const bool stopping = failed || std::any_of(live.begin(), live.end(), [](char l) { return l == 0; });
    if (!stopping) return true;
    progress.finish();
    for (std::size_t i = 0; stop_others && i < n; ++i)
      if (live[i] && !errors[i]) trainings[i]->stopped(failed ? " because another seed failed" : "");
    for (auto& error : errors)
      if (error) std::rethrow_exception(error);
    return false;
  };
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  if (!round(all, [](Training& t) { return t.start(); })) return results();
  while (true) {
    std::vector<std::size_t> active;
    for (std::size_t i = 0; i < n; ++i)
      if (trainings[i]->more()) active.push_back(i);
    if (active.empty()) break;
    if (!round(active, [](Training& t) { return t.advance(); })) return results();
    std::int64_t step = total;
    for (const auto& training : trainings) step = std::min(step, training->step());
    // Off a terminal, a line per log interval of the slowest seed (as a single run prints one per row).
    progress.update(step, {}, step % runs.front().trainer.log_interval == 0 || step == total);
  }
  progress.finish();
  round(
      all, [](Training& t) { return t.finish(); }, /*stop_others=*/false);
  return results();
}

}  // namespace dipole
