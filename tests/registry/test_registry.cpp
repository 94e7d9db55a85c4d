// Plugin registry: loading, API-version refusal, error messages, library lifetime.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "dipole/core/registry.hpp"
#include "dipole/weighting.hpp"

namespace dipole {
namespace {

std::string test_plugin(const std::string& name) {
  return std::string(DIPOLE_TEST_PLUGIN_DIR) + "/" + name + "/lib" + name + ".so";
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Params probe_params(double scale) {
  Params p("weighting", "probe");
  p.set("scale", scale);
  return p;
}

TEST(Registry, DefaultPluginsProvideTheBuiltInTypes) {
  const Registry registry = Registry::with_default_plugins();
  const auto datasets = registry.types(Kind::Dataset);
  EXPECT_NE(std::find(datasets.begin(), datasets.end(), "npz_transitions"), datasets.end());
  const auto& info = registry.info(Kind::Dataset, "npz_transitions");
  ASSERT_FALSE(info.schema.empty());
  EXPECT_EQ(info.schema.front().key, "path");
  EXPECT_FALSE(info.schema.front().doc.empty());
}

TEST(Registry, UnknownTypeListsTheKnownTypesOfThatKind) {
  const Registry registry = Registry::with_default_plugins();
  const std::string msg = error_of([&] { registry.info(Kind::Dataset, "exrol"); });
  EXPECT_NE(msg.find("unknown dataset type 'exrol'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("npz_transitions"), std::string::npos) << msg;
}

TEST(Registry, WrongApiVersionIsRefusedNamingBothVersions) {
  Registry registry;
  const std::string msg = error_of([&] { registry.load_library(test_plugin("test_wrong_version")); });
  EXPECT_NE(msg.find("API version 999"), std::string::npos) << msg;
  EXPECT_NE(msg.find("provides version " + std::to_string(kPluginApiVersion)), std::string::npos) << msg;
  EXPECT_TRUE(registry.types(Kind::Weighting).empty());
}

TEST(Registry, LibraryNameVersionAndSdkVersionAreRecorded) {
  Registry registry;
  registry.load_library(test_plugin("test_probe"));
  ASSERT_EQ(registry.plugins().size(), 1u);
  const LoadedPlugin& library = *registry.plugins().front();
  EXPECT_EQ(library.name, "probe_library");
  EXPECT_EQ(library.version, "2.5.1");
  EXPECT_EQ(library.api_version, kPluginApiVersion);
  EXPECT_EQ(&registry.provider(Kind::Weighting, "probe"), &library);
  EXPECT_NE(
      error_of([&] { registry.provider(Kind::Weighting, "nope"); }).find("unknown weighting type 'nope'"),
      std::string::npos);
}

TEST(Registry, LibraryWithoutNameIsNamedByItsFile) {
  Registry registry;
  registry.load_library(test_plugin("test_duplicate"));
  EXPECT_EQ(registry.plugins().front()->name, "test_duplicate");
  EXPECT_EQ(registry.plugins().front()->version, "unversioned");
}

TEST(Registry, PluginsBuiltByDipoleAddPluginCarryTheirNameAndProjectVersion) {
  const Registry registry = Registry::with_default_plugins();
  const LoadedPlugin& library = registry.provider(Kind::Dataset, "npz_transitions");
  EXPECT_EQ(library.name, "dipole_npz_transitions");
  EXPECT_TRUE(std::regex_match(library.version, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+"))) << library.version;
  EXPECT_EQ(library.api_version, kPluginApiVersion);
  for (const auto& loaded : registry.plugins()) {
    EXPECT_EQ(loaded->path.find("/lib" + loaded->name + ".so"), loaded->path.size() - loaded->name.size() - 7)
        << loaded->path << " is named " << loaded->name;
    EXPECT_EQ(loaded->version, library.version) << loaded->name;
  }
}

// Plugins build with hidden visibility: the only symbols of Dipole's namespace or of the plugin a
// library exports are the two DIPOLE_PLUGIN entry points (`nm -D --defined-only`).
TEST(Registry, PluginsExportOnlyTheirEntryPoints) {
  const Registry registry = Registry::with_default_plugins();
  ASSERT_FALSE(registry.plugins().empty());
  for (const auto& loaded : registry.plugins()) {
    FILE* pipe = ::popen(("nm -D --defined-only --demangle '" + loaded->path + "' 2>&1").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    ASSERT_EQ(::pclose(pipe), 0) << output;
    std::istringstream lines(output);
    std::string line;
    std::vector<std::string> entry_points, leaked;
    while (std::getline(lines, line)) {
      if (line.find("dipole_plugin_api_version") != std::string::npos ||
          line.find("dipole_plugin_describe") != std::string::npos)
        entry_points.push_back(line);
      else if (line.find("dipole") != std::string::npos ||
               line.find("(anonymous namespace)") != std::string::npos)
        leaked.push_back(line);
    }
    EXPECT_EQ(entry_points.size(), 2u) << loaded->path << "\n" << output;
    EXPECT_TRUE(leaked.empty()) << loaded->path << " exports " << leaked.size() << " symbols, e.g. "
                                << (leaked.empty() ? "" : leaked.front());
  }
}

TEST(Registry, LibraryWithoutEntryPointIsNotAPlugin) {
  Registry registry;
  const std::string msg = error_of([&] { registry.load_library(test_plugin("test_not_a_plugin")); });
  EXPECT_NE(msg.find("is not a Dipole plugin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dipole_plugin_api_version"), std::string::npos) << msg;
}

TEST(Registry, MissingLibraryAndDirectoryAreNamed) {
  Registry registry;
  EXPECT_NE(error_of([&] {
              registry.load_library("/nonexistent/libx.so");
            }).find("'/nonexistent/libx.so' does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              registry.load_directory("/nonexistent/dir");
            }).find("'/nonexistent/dir' does not exist"),
            std::string::npos);
}

TEST(Registry, DuplicateTypeNamesAcrossLibrariesAreRefused) {
  Registry registry = Registry::with_default_plugins();
  const std::string msg = error_of([&] { registry.load_library(test_plugin("test_duplicate")); });
  EXPECT_NE(msg.find("weighting type 'uniform' is provided by both"), std::string::npos) << msg;
  EXPECT_NE(msg.find("test_duplicate"), std::string::npos) << msg;
}

TEST(Registry, LoadingTheSameFileTwiceIsHarmless) {
  Registry registry;
  registry.load_library(test_plugin("test_probe"));
  registry.load_library(test_plugin("test_probe"));
  EXPECT_EQ(registry.plugins().size(), 1u);
}

TEST(Registry, CreatedObjectKeepsItsLibraryLoaded) {
  std::shared_ptr<WeightingFunction> probe;
  std::weak_ptr<LoadedPlugin> library;
  {
    Registry registry;
    registry.load_library(test_plugin("test_probe"));
    library = registry.plugins().front();
    probe = std::dynamic_pointer_cast<WeightingFunction>(
        registry.create(Kind::Weighting, "probe", probe_params(3.0), BuildContext{}));
    ASSERT_TRUE(probe);
  }
  // The registry is gone; the object's deleter still owns the library.
  EXPECT_FALSE(library.expired());
  at::Generator gen = at::detail::createCPUGenerator(0);
  const auto w = probe->weights(at::tensor({1.0f, -2.0f}), gen, false);  // code inside the library
  EXPECT_FLOAT_EQ(w.rows[0][0].item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(w.rows[0][1].item<float>(), -6.0f);
  probe.reset();
  EXPECT_TRUE(library.expired());  // unloaded only after its last object
}

TEST(Registry, CopiesShareLoadedLibraries) {
  Registry a;
  a.load_library(test_plugin("test_probe"));
  const Registry b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(b.types(Kind::Weighting), std::vector<std::string>{"probe"});
}

}  // namespace
}  // namespace dipole
