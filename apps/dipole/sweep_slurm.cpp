// The Slurm executor (one job array per sweep) and `dipole sweep status` (sweep_executors.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "dipole/core/files.hpp"
#include "dipole/core/run_lock.hpp"
#include "sweep_executors.hpp"

namespace dipole::sweep {

namespace fs = std::filesystem;

namespace {

/// Output and exit status of a shell command (stderr discarded); nullopt when it could not run.
std::optional<std::pair<int, std::string>> capture(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  const int status = ::pclose(pipe);
  return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// "0-3,5,7-8": run indices as a Slurm array range list.
std::string ranges(const std::vector<std::size_t>& indices) {
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    out += (out.empty() ? "" : ",") +
           (j == i ? std::to_string(indices[i]) : fmt::format("{}-{}", indices[i], indices[j]));
    i = j + 1;
  }
  return out;
}

std::vector<std::string> job_ids(const SweepFile& sweep) {
  std::vector<std::string> ids;
  const fs::path file = fs::path(sweep.out) / "slurm" / "jobs";
  if (!fs::exists(file)) return ids;
  std::stringstream in(read_text(file.string()));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ids.push_back(line.substr(0, line.find_first_of(" \t")));
  return ids;
}

/// "<job>_<task>" → state, for the array tasks squeue (then sacct, if it has data) knows.
std::map<std::size_t, std::string> slurm_states(const std::vector<std::string>& ids, std::string& note) {
  std::map<std::size_t, std::string> states;
  if (ids.empty()) return states;
  const std::string list = fmt::format("{}", fmt::join(ids, ","));
  const auto parse = [&](const std::string& text, bool overwrite) {
    std::stringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const auto bar = line.find('|'), underscore = line.find('_');
      if (bar == std::string::npos || underscore == std::string::npos || underscore > bar) continue;
      const std::string task = line.substr(underscore + 1, bar - underscore - 1);
      if (task.empty() || task.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string state = line.substr(bar + 1);
      state = state.substr(0, state.find(' '));  // "CANCELLED by 0"
      const auto index = static_cast<std::size_t>(std::stoull(task));
      if (overwrite || !states.count(index)) states[index] = state;
    }
  };
  if (const auto sq = capture("squeue -h -r -j " + list + " -o '%i|%T'"); sq && sq->first == 0)
    parse(sq->second, true);
  else
    note += " (squeue unavailable or the jobs are gone)";
  // sacct keeps finished tasks when accounting is enabled; without it, it prints nothing or fails.
  if (const auto sa = capture("sacct -n -P -X -j " + list + " -o JobID,State");
      sa && sa->first == 0 && !sa->second.empty())
    parse(sa->second, false);
  else
    note += " (no sacct data: states of finished tasks come from the run directories)";
  return states;
}

}  // namespace

int run_slurm(const SweepFile& sweep, const std::vector<PlannedRun>& runs, const std::string& sweep_file,
              bool dry_run) {
  std::vector<std::size_t> todo;
  for (const auto& r : runs)
    if (!is_done(r)) todo.push_back(r.index);
  if (todo.empty()) {
    std::cout << fmt::format("[sweep] {}: all {} runs are done\n", sweep.name, runs.size());
    return 0;
  }
  const fs::path dir = fs::absolute(fs::path(sweep.out) / "slurm").lexically_normal();
  fs::create_directories(dir);
  std::string plan;
  for (const auto& r : runs) plan += fmt::format("{}\t{}\n", r.index, r.name);
  write_text_atomic((fs::path(sweep.out) / "plan.tsv").string(), plan);
  const auto& s = sweep.executor.slurm;
  std::string script = fmt::format(
      "#!/bin/bash\n"
      "# Written by `dipole sweep run {0} --executor slurm`: one array task per unfinished run of the\n"
      "# sweep '{1}' (array index = run index of `dipole sweep plan`, listed in {2}/plan.tsv).\n"
      "# Resubmit it as it is with `sbatch {3}/job.sh` (finished runs exit at once), or rerun\n"
      "# `dipole sweep run ... --executor slurm` to submit only the unfinished ones. On SIGTERM "
      "(preemption,\n"
      "# scontrol requeue, the time limit's --signal) a run writes a checkpoint and exits; --requeue\n"
      "# lets Slurm start it again, and it resumes from that checkpoint.\n"
      "#SBATCH --job-name=dipole-{1}\n"
      "#SBATCH --array={4}{5}\n"
      "#SBATCH --cpus-per-task={6}\n"
      "#SBATCH --output={3}/%A_%a.out\n"
      "#SBATCH --open-mode=append\n"
      "#SBATCH --requeue\n"
      "#SBATCH --signal=B:TERM@120\n",
      sweep_file, sweep.name, fs::absolute(sweep.out).lexically_normal().string(), dir.string(), ranges(todo),
      s.throttle > 0 ? fmt::format("%{}", s.throttle) : "", s.cpus_per_task);
  if (!s.mem.empty()) script += "#SBATCH --mem=" + s.mem + "\n";
  if (!s.time.empty()) script += "#SBATCH --time=" + s.time + "\n";
  if (!s.partition.empty()) script += "#SBATCH --partition=" + s.partition + "\n";
  if (!s.account.empty()) script += "#SBATCH --account=" + s.account + "\n";
  for (const auto& line : s.sbatch) script += "#SBATCH " + line + "\n";
  script += "set -u\n";
  for (const auto& line : s.setup) script += line + "\n";
  script += fmt::format(
      "# One BLAS/OpenMP thread per allocated CPU (docs/performance.md).\n"
      "export OMP_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}} OPENBLAS_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}}\n"
      "cd {}\n"
      "exec {} sweep exec {} --index \"$SLURM_ARRAY_TASK_ID\" --runs {}\n",
      quote(fs::current_path().string()), quote(self_executable()), quote(sweep_file), runs.size());
  const std::string job = (dir / "job.sh").string();
  write_text_atomic(job, script);
  fs::permissions(job, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  std::cout << fmt::format("[sweep] {}: {} of {} runs to do; job script {}\n", sweep.name, todo.size(),
                           runs.size(), job);
  if (dry_run) return 0;
  const auto submitted = capture("sbatch --parsable " + quote(job));
  if (!submitted || submitted->first != 0)
    throw Error(fmt::format("sbatch {} failed{}", job,
                            submitted ? fmt::format(" (exit {}): {}", submitted->first, submitted->second)
                                      : std::string(" (is Slurm installed?)")));
  std::string id = submitted->second.substr(0, submitted->second.find_first_of(";\n"));
  const std::string jobs_file = (dir / "jobs").string();
  const std::string previous = fs::exists(jobs_file) ? read_text(jobs_file) : "";
  write_text_atomic(jobs_file, previous + id + "\t" + ranges(todo) + "\n");
  std::cout << fmt::format("[sweep] submitted job array {} ({} tasks); `dipole sweep status {}` follows it\n",
                           id, todo.size(), sweep_file);
  return 0;
}

int sweep_status(const SweepFile& sweep, const std::vector<PlannedRun>& runs, bool all) {
  std::string note;
  const auto ids = job_ids(sweep);
  const auto slurm = slurm_states(ids, note);
  std::map<std::string, int> counts;
  std::string lines;
  for (const auto& r : runs) {
    std::string state, detail;
    const auto sl = slurm.find(r.index);
    const std::string slurm_state = sl == slurm.end() ? "" : sl->second;
    if (is_done(r)) {
      state = "done";
    } else if (const auto owner = RunLock::holder(r.dir)) {
      state = "running";
      detail = fmt::format("pid {} on {}", owner->pid, owner->host);
    } else if (slurm_state == "RUNNING" || slurm_state == "COMPLETING") {
      state = "running";
      detail = "slurm " + slurm_state;
    } else if (slurm_state == "PENDING" || slurm_state == "REQUEUED" || slurm_state == "CONFIGURING" ||
               slurm_state == "REQUEUE_HOLD" || slurm_state == "SUSPENDED") {
      state = "pending";
      detail = "slurm " + slurm_state;
    } else if (fs::exists(fs::path(r.dir) / "sweep.failed")) {
      state = "failed";
      detail = read_text((fs::path(r.dir) / "sweep.failed").string());
      if (!detail.empty() && detail.back() == '\n') detail.pop_back();
    } else if (!slurm_state.empty() && slurm_state != "COMPLETED") {
      state = "failed";
      detail = "slurm " + slurm_state;
    } else {
      state = "pending";
      if (fs::exists(fs::path(r.dir) / "checkpoints" / "latest.npz")) detail = "has a checkpoint: resumes";
    }
    ++counts[state];
    if (all || state != "done")
      lines += fmt::format("{:<8} {}{}\n", state, r.dir, detail.empty() ? "" : "  (" + detail + ")");
  }
  std::cout << lines;
  std::cout << fmt::format(
      "sweep '{}': {} runs: done {}, running {}, pending {}, failed {}{}{}\n", sweep.name, runs.size(),
      counts["done"], counts["running"], counts["pending"], counts["failed"],
      ids.empty() ? "" : fmt::format("; slurm jobs {}", fmt::join(ids, ",")), ids.empty() ? "" : note);
  return 0;
}

}  // namespace dipole::sweep
