#include "dipole/core/run_lock.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace dipole {

namespace fs = std::filesystem;

namespace {

// Directories this process holds, with their nesting depth (RunLock is re-entrant per process).
std::mutex g_mutex;
std::map<std::string, int>& held() {
  static std::map<std::string, int> m;
  return m;
}

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "?";
  return name;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_fd(int fd) {
  std::string text;
  char buf[512];
  off_t offset = 0;
  while (text.size() < 4096) {
    const ssize_t n = pread(fd, buf, sizeof(buf), offset);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
  return text;
}

std::optional<RunLockOwner> parse_owner(const std::string& text) {
  RunLockOwner owner;
  std::stringstream in(text);
  bool any = false;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    any = true;
    if (key == "pid") {
      try {
        owner.pid = std::stol(value);
      } catch (const std::exception&) {
        owner.pid = 0;
      }
    } else if (key == "host") {
      owner.host = value;
    } else if (key == "command") {
      owner.command = value;
    } else if (key == "since") {
      owner.since = value;
    }
  }
  if (!any) return std::nullopt;
  return owner;
}

std::string describe(const RunLockOwner& o) {
  return fmt::format("pid {} on host {} ({}, since {})", o.pid, o.host.empty() ? "?" : o.host,
                     o.command.empty() ? "?" : o.command, o.since.empty() ? "?" : o.since);
}

bool alive_here(const RunLockOwner& o) {
  if (o.pid <= 0 || o.host != this_host()) return false;
  return ::kill(static_cast<pid_t>(o.pid), 0) == 0 || errno == EPERM;
}

bool same_file(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  if (fstat(fd, &a) != 0 || stat(path.c_str(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

std::string canonical_key(const std::string& dir) {
  std::error_code ec;
  const fs::path p = fs::canonical(dir, ec);
  return ec ? fs::absolute(dir).lexically_normal().string() : p.string();
}

}  // namespace

RunLock::RunLock(const std::string& dir, const std::string& command) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw DataError(fmt::format("cannot create the run directory '{}': {}", dir, ec.message()));
  path_ = (fs::path(dir) / ".lock").string();
  key_ = canonical_key(dir);
  {
    std::lock_guard<std::mutex> guard(g_mutex);
    auto it = held().find(key_);
    if (it != held().end()) {
      ++it->second;
      return;
    }
  }
  const std::string content =
      fmt::format("pid={}\nhost={}\ncommand={}\nsince={}\n", ::getpid(), this_host(), command, now_utc());
  for (int attempt = 0;; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw DataError(fmt::format("cannot open the lock file '{}': {}", path_, std::strerror(errno)));
    bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    const int lock_errno = locked ? 0 : errno;
    const auto previous = parse_owner(read_fd(fd));
    if (!locked && lock_errno == EWOULDBLOCK) {
      ::close(fd);
      // A holder() probe takes the lock for an instant: retry briefly before reporting a conflict.
      if (attempt < 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      throw RunLockError(fmt::format(
          "the run directory '{}' is in use by {}; wait for it to finish or stop it (its lock file is {})",
          dir, previous ? describe(*previous) : std::string("another process"), path_));
    }
    if (!locked) {
      // No flock on this file system (ENOLCK, EOPNOTSUPP): fall back to the pid recorded in the file.
      if (previous && previous->pid != ::getpid() && alive_here(*previous)) {
        ::close(fd);
        throw RunLockError(fmt::format("the run directory '{}' is in use by {} (lock file {})", dir,
                                       describe(*previous), path_));
      }
    } else if (!same_file(fd, path_)) {
      ::close(fd);  // the previous owner removed the file between our open and flock: start again
      continue;
    }
    if (previous)
      std::fprintf(stderr, "[lock] taking over the stale lock of %s left by %s: that process is gone\n",
                   dir.c_str(), describe(*previous).c_str());
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
      const int e = errno;
      ::close(fd);
      throw DataError(fmt::format("cannot write the lock file '{}': {}", path_, std::strerror(e)));
    }
    fd_ = fd;
    break;
  }
  std::lock_guard<std::mutex> guard(g_mutex);
  held()[key_] = 1;
}

RunLock::~RunLock() {
  {
    std::lock_guard<std::mutex> guard(g_mutex);
    auto it = held().find(key_);
    if (it == held().end()) return;
    if (--it->second > 0) return;
    held().erase(it);
  }
  if (fd_ >= 0) {
    // Remove the file while still holding the lock: a waiter that opened it re-checks the inode.
    ::unlink(path_.c_str());
    ::close(fd_);
  }
}

std::optional<RunLockOwner> RunLock::holder(const std::string& dir) {
  const std::string path = (fs::path(dir) / ".lock").string();
  {
    std::lock_guard<std::mutex> guard(g_mutex);
    if (held().count(canonical_key(dir))) return std::nullopt;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<RunLockOwner> owner;
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
  } else if (errno == EWOULDBLOCK) {
    owner = parse_owner(read_fd(fd));
    if (!owner) owner = RunLockOwner{};
  } else {
    owner = parse_owner(read_fd(fd));
    if (owner && !alive_here(*owner)) owner.reset();
  }
  ::close(fd);
  return owner;
}

}  // namespace dipole
