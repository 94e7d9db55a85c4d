// Every per-task preset under configs/presets/<method>/<task>.toml (any method: the file tree is
// walked) resolves its `extends` chain and every component section in it (nested `.inner` samplers too)
// validates against its plugin's schema, without building datasets or networks. The header names its
// source: a published line or the documented NOT FOUND decision (docs/algorithms.md, "Baseline presets").
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "learning/learning_util.hpp"

namespace dipole::learning {
namespace {

/// The kind of a section: by its name where the name says it (a type name such as "iql" or "ogbench" may
/// be registered for two kinds), else the kind whose registered types include `type`.
Kind kind_of(const std::string& section, const std::string& type, const std::string& where) {
  const std::string head = section.substr(0, section.find('.'));
  if (head == "dataset") return Kind::Dataset;
  if (head == "environment") return Kind::Environment;
  if (head == "algorithm") return Kind::Algorithm;
  if (head == "critic") return Kind::Critic;
  if (head == "weighting") return Kind::Weighting;
  if (head == "recorder") return Kind::Recorder;
  if (head.find("sampler") != std::string::npos) return Kind::Sampler;
  for (Kind kind : {Kind::Denoiser, Kind::Critic, Kind::Sampler, Kind::Weighting}) {
    const auto types = registry().types(kind);
    if (std::find(types.begin(), types.end(), type) != types.end()) return kind;
  }
  throw ConfigError(where + ": no plugin provides type '" + type + "'");
}

void validate_section(config::Pipeline& pipeline, const std::string& section, const std::string& file) {
  if (!pipeline.has_section(section)) return;
  std::string type;
  try {
    type = pipeline.type_of(section);
  } catch (const std::exception&) {
    return;  // a runtime table ([trainer], [eval], ...): no component type
  }
  if (type.empty()) return;
  const Kind kind = kind_of(section, type, file + " [" + section + "]");
  EXPECT_NO_THROW(pipeline.validate(section, type, registry().info(kind, type).schema))
      << file << " [" << section << "]";
  validate_section(pipeline, section + ".inner", file);
}

TEST(Presets, EveryPresetResolvesAndValidatesAndNamesItsSource) {
  const auto root = std::filesystem::path(DIPOLE_SOURCE_DIR) / "configs" / "presets";
  ASSERT_TRUE(std::filesystem::is_directory(root));
  int files = 0;
  for (const auto& method_dir : std::filesystem::directory_iterator(root)) {
    if (!method_dir.is_directory()) continue;
    const std::string method = method_dir.path().filename().string();
    for (const auto& entry : std::filesystem::directory_iterator(method_dir.path())) {
      if (entry.path().extension() != ".toml") continue;
      const std::string file = entry.path().string();
      SCOPED_TRACE(file);
      ++files;
      config::Pipeline pipeline = config::Pipeline::load(file);
      for (const auto& section : pipeline.top_level_sections()) validate_section(pipeline, section, file);
      EXPECT_EQ(pipeline.type_of("algorithm"), method) << "a preset lives in the folder of its algorithm";
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      const std::string header = text.str().substr(0, text.str().find("extends"));
      EXPECT_NE(header.find("Source:"), std::string::npos) << "no 'Source:' line before extends";
      EXPECT_TRUE(header.find("NOT FOUND") != std::string::npos ||
                  header.find("README.md") != std::string::npos)
          << "the source is neither a published line nor NOT FOUND";
    }
  }
  std::printf("%d preset files validated\n", files);
  EXPECT_GE(files, 60);
}

}  // namespace
}  // namespace dipole::learning
