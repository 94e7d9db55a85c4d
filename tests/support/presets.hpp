// Checks shared by the baseline suites: every configs/presets/<method>/*.toml resolves (extends), every
// component section validates against its plugin's schema (no data is loaded), and the header names
// its source (a published line, or NOT FOUND with the documented decision).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dipole/core/config.hpp"
#include "dipole/core/registry.hpp"

namespace dipole::testing {

/// Resolves `file` and validates its component sections against the plugins' schemas.
inline void check_pipeline_file(const std::string& file, const std::string& method) {
  static const Registry registry = Registry::with_default_plugins();
  auto pipeline = config::Pipeline::load(file);
  const std::vector<std::pair<std::string, Kind>> sections = {{"dataset", Kind::Dataset},
                                                              {"environment", Kind::Environment},
                                                              {"algorithm", Kind::Algorithm},
                                                              {"critic", Kind::Critic},
                                                              {"denoiser", Kind::Denoiser},
                                                              {"sampler", Kind::Sampler},
                                                              {"sampler.inner", Kind::Sampler},
                                                              {"explore_sampler", Kind::Sampler},
                                                              {"explore_sampler.inner", Kind::Sampler}};
  for (const auto& [section, kind] : sections) {
    if (!pipeline.has_section(section)) continue;
    const std::string type = pipeline.type_of(section);
    EXPECT_NO_THROW(pipeline.validate(section, type, registry.info(kind, type).schema))
        << file << " [" << section << "]";
  }
  EXPECT_EQ(pipeline.type_of("algorithm"), method) << file;
}

/// Validates the presets of `method`; returns their task names (file stems).
inline std::set<std::string> check_presets(const std::string& method) {
  const auto dir = std::filesystem::path(DIPOLE_SOURCE_DIR) / "configs" / "presets" / method;
  std::set<std::string> tasks;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    const std::string file = entry.path().string();
    tasks.insert(entry.path().stem().string());
    check_pipeline_file(file, method);
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string header = text.str().substr(0, text.str().find("extends"));
    EXPECT_NE(header.find("Source:"), std::string::npos) << file << ": no 'Source:' line";
    EXPECT_TRUE(header.find("NOT FOUND") != std::string::npos ||
                header.find("README.md") != std::string::npos)
        << file << ": the source is neither a published line nor NOT FOUND";
  }
  return tasks;
}

}  // namespace dipole::testing
