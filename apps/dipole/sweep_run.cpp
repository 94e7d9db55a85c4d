// `dipole sweep exec` (one run) and the local process pool (sweep_executors.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/run_lock.hpp"
#include "dipole/core/trainer.hpp"
#include "sweep_executors.hpp"

namespace dipole::sweep {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int /*signal*/) {
  g_stop = 1;
  dipole::request_stop();
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// The last `n` lines of a file.
std::string tail(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (const auto& line : lines) out += "    | " + line + "\n";
  return out;
}

}  // namespace

std::string self_executable() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the dipole executable (/proc/self/exe)");
  return p.string();
}

int execute_run(const SweepFile& sweep, const PlannedRun& run) {
  fs::create_directories(run.dir);
  // Everything this run prints goes to <dir>/sweep.log (appended: every attempt stays readable).
  const std::string log = (fs::path(run.dir) / "sweep.log").string();
  std::fflush(stdout);
  std::fflush(stderr);
  std::cout.flush();
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw DataError(fmt::format("cannot open the run log '{}'", log));
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  ::close(fd);
  std::cout << fmt::format("==== {} run {} ({}) pid {} on the sweep '{}'\n", now_utc(), run.index, run.name,
                           ::getpid(), sweep.name)
            << std::flush;

  g_stop = 0;
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  std::optional<RunLock> lock;
  try {
    lock.emplace(run.dir, "dipole sweep exec");
  } catch (const RunLockError& e) {
    std::cout << "[sweep] " << e.what() << "\n";
    return kRunBusy;
  }
  if (is_done(run)) {
    std::cout << "[sweep] already done\n";
    return 0;
  }
  cli::Args train{run.pipeline, "--out", run.dir};
  for (const auto& o : run.overrides) train.insert(train.end(), {"--set", o.text});
  std::cout << fmt::format("[sweep] dipole train {}\n", fmt::join(train, " ")) << std::flush;
  int code = cli::train_command(train);
  if (code != 0) return code;
  if (g_stop) return 130;
  if (sweep.eval.enabled) {
    cli::Args eval{run.dir};
    if (!sweep.eval.omegas.empty()) eval.insert(eval.end(), {"--omega", sweep.eval.omegas});
    if (!sweep.eval.num_candidates.empty())
      eval.insert(eval.end(), {"--num-candidates", sweep.eval.num_candidates});
    if (sweep.eval.episodes > 0) eval.insert(eval.end(), {"--episodes", std::to_string(sweep.eval.episodes)});
    for (const auto& s : sweep.eval.set) eval.insert(eval.end(), {"--set", s});
    std::cout << fmt::format("[sweep] dipole eval {}\n", fmt::join(eval, " ")) << std::flush;
    code = cli::eval_command(eval);
    if (code != 0) return code;
    if (g_stop) return 130;
  }
  fs::remove(fs::path(run.dir) / "sweep.failed");
  write_text_atomic((fs::path(run.dir) / "sweep.done").string(), fmt::format("finished {}\n", now_utc()));
  std::cout << "[sweep] done\n" << std::flush;
  return 0;
}

namespace {

struct Worker {
  std::size_t run = 0;
  int attempt = 0;
  Clock::time_point start;
};

pid_t spawn(const std::string& exe, const std::vector<std::string>& argv, int threads) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("fork failed");
  if (pid > 0) return pid;
  // The worker: stops (checkpointing) when the driver dies, even by kill -9.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(130);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  const std::string t = std::to_string(threads);
  ::setenv("OMP_NUM_THREADS", t.c_str(), 1);
  ::setenv("OPENBLAS_NUM_THREADS", t.c_str(), 1);
  ::setenv("MKL_NUM_THREADS", t.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(exe.c_str(), args.data());
  std::perror("execv");
  ::_exit(127);
}

}  // namespace

int run_local(const SweepFile& sweep, const std::vector<PlannedRun>& runs, const LocalOptions& options) {
  const RunLock driver_lock(sweep.out, "dipole sweep run");  // one driver per sweep
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const int jobs = std::max(1, options.jobs);
  const int threads = options.threads_per_run > 0 ? options.threads_per_run : std::max(1, cores / jobs);
  std::string plan;
  for (const auto& r : runs) plan += fmt::format("{}\t{}\n", r.index, r.name);
  write_text_atomic((fs::path(sweep.out) / "plan.tsv").string(), plan);

  std::deque<std::size_t> pending;
  std::size_t done = 0;
  for (const auto& r : runs) {
    if (is_done(r))
      ++done;
    else
      pending.push_back(r.index);
  }
  std::cout << fmt::format("[sweep] {}: {} runs, {} done, {} to run; {} at once, {} thread(s) each\n",
                           sweep.name, runs.size(), done, pending.size(), jobs, threads)
            << std::flush;

  g_stop = 0;
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  std::map<pid_t, Worker> workers;
  std::vector<int> attempts(runs.size(), 0);
  std::vector<std::pair<std::size_t, Clock::time_point>> busy;  // held by another process: retry later
  std::vector<std::size_t> failed;
  bool forwarded = false;
  const std::string exe = self_executable();

  while (!pending.empty() || !workers.empty() || !busy.empty()) {
    if (g_stop) {
      if (!forwarded)
        for (const auto& [pid, w] : workers) ::kill(pid, SIGTERM);
      forwarded = true;
      pending.clear();
      busy.clear();
    }
    const auto now = Clock::now();
    for (auto it = busy.begin(); it != busy.end();) {
      if (it->second <= now && !RunLock::holder(runs[it->first].dir)) {
        pending.push_front(it->first);
        it = busy.erase(it);
      } else {
        ++it;
      }
    }
    while (!g_stop && !pending.empty() && static_cast<int>(workers.size()) < jobs) {
      const std::size_t i = pending.front();
      pending.pop_front();
      const PlannedRun& r = runs[i];
      const pid_t pid = spawn(exe,
                              {exe, "sweep", "exec", options.sweep_file, "--index", std::to_string(i),
                               "--runs", std::to_string(runs.size()), "--name", r.name},
                              threads);
      workers[pid] = {i, ++attempts[i], Clock::now()};
      std::cout << fmt::format("[sweep] start {} (run {}, attempt {})\n", r.name, i, attempts[i])
                << std::flush;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pid < 0 && workers.empty() ? 500 : 100));
      continue;
    }
    const auto it = workers.find(pid);
    if (it == workers.end()) continue;
    const Worker w = it->second;
    workers.erase(it);
    const PlannedRun& r = runs[w.run];
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const double seconds = std::chrono::duration<double>(Clock::now() - w.start).count();
    const std::string log = (fs::path(r.dir) / "sweep.log").string();
    if (code == 0 && is_done(r)) {
      ++done;
      std::cout << fmt::format("[sweep] done  {} in {:.0f} s ({}/{} done)\n", r.name, seconds, done,
                               runs.size())
                << std::flush;
    } else if (code == kRunBusy) {
      --attempts[w.run];
      std::cout << fmt::format("[sweep] {} is held by another process; waiting for it\n", r.name)
                << std::flush;
      busy.emplace_back(w.run, Clock::now() + std::chrono::seconds(1));
    } else if (g_stop) {
      std::cout << fmt::format("[sweep] stopped {} (it resumes from its checkpoint next time)\n", r.name);
    } else if (attempts[w.run] <= options.retries) {
      std::cout << fmt::format("[sweep] FAILED {} (exit {}), retry {} of {}; log {}:\n{}", r.name, code,
                               attempts[w.run], options.retries, log, tail(log, 8))
                << std::flush;
      pending.push_back(w.run);
    } else {
      failed.push_back(w.run);
      write_text_atomic((fs::path(r.dir) / "sweep.failed").string(),
                        fmt::format("exit {} after {} attempts at {}\n", code, attempts[w.run], now_utc()));
      std::cout << fmt::format("[sweep] FAILED {} (exit {}) after {} attempts; last lines of {}:\n{}", r.name,
                               code, attempts[w.run], log, tail(log, 20))
                << std::flush;
    }
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::cout << fmt::format("[sweep] {}: {} of {} runs done, {} failed{}\n", sweep.name, done, runs.size(),
                           failed.size(), g_stop ? "; stopped (rerun the same command to continue)" : "");
  for (auto i : failed)
    std::cout << fmt::format("  failed: {} (log {}/sweep.log)\n", runs[i].name, runs[i].dir);
  if (g_stop) return 130;
  return failed.empty() ? 0 : 1;
}

}  // namespace dipole::sweep
