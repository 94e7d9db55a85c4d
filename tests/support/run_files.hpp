// Helpers of the tests that train into run directories and compare what they wrote (tests/trainer,
// tests/online): a fresh directory, quiet TrainOptions, and logs without their wall-clock values.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dipole/core/trainer.hpp"

namespace dipole::test {

/// <tmp>/dipole_<test suite>_<name>_<pid>, empty (removed if it exists).
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::string suite = ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name();
  auto dir = std::filesystem::temp_directory_path() /
             ("dipole_" + suite + "_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

/// Options for training into `dir` without progress output, stopping after `stop_after` steps (< 0:
/// to the end).
inline TrainOptions options(const std::filesystem::path& dir, std::int64_t stop_after = -1) {
  TrainOptions o;
  o.out_dir = dir.string();
  o.progress = false;
  o.stop_after = stop_after;
  return o;
}

/// A metrics or eval log without its wall-clock values, which legitimately differ between runs:
/// .jsonl rows cut before their first "time/" key; .csv rows without the columns from the first
/// "time/" column of the header on.
inline std::string without_time(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line, out;
  std::size_t keep = std::string::npos;
  bool header = true;
  while (std::getline(in, line)) {
    if (file.extension() != ".csv") {
      const auto pos = line.find(", \"time/");
      out += (pos == std::string::npos ? line : line.substr(0, pos)) + "\n";
      continue;
    }
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (header) {
      for (std::size_t c = 0; c < cells.size() && keep == std::string::npos; ++c)
        if (cells[c].rfind("time/", 0) == 0) keep = c;
      header = false;
    }
    for (std::size_t c = 0; c < cells.size() && c < keep; ++c) out += cells[c] + ",";
    out += "\n";
  }
  return out;
}

/// A text file without its comment lines (those starting with '#').
inline std::string without_comments(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind('#', 0) != 0) out += line + "\n";
  return out;
}

}  // namespace dipole::test
