#include "dipole/core/stop.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace dipole {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_scopes{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

void on_signal(int /*signal*/) {
  if (g_scopes.load() > 0) {
    g_stop.store(true);
    return;
  }
  static const char kMessage[] = "\ninterrupted\n";
  const ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
  ::_exit(130);
}

}  // namespace

void request_stop() noexcept {
  g_stop.store(true);
}
bool stop_requested() noexcept {
  return g_stop.load();
}
void clear_stop() noexcept {
  g_stop.store(false);
}

void throw_if_stop_requested(const std::string& what) {
  if (stop_requested()) throw Interrupted(what + " interrupted");
}

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

StopScope::StopScope() noexcept {
  g_scopes.fetch_add(1);
}
StopScope::~StopScope() {
  g_scopes.fetch_sub(1);
}

int remove_stale_temp_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto pos = name.rfind(".tmp.");
    if (pos == std::string::npos || pos == 0) continue;
    // "<name>.tmp.<pid>", or libzip's own "<name>.tmp.<pid>.XXXXXX" written while closing an archive.
    std::string pid_text = name.substr(pos + 5);
    pid_text = pid_text.substr(0, pid_text.find('.'));
    if (pid_text.empty() || pid_text.size() > 9 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    // A live process (ours, or another writer) may still be writing it.
    if (pid == static_cast<long>(::getpid()) || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)
      continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace dipole
