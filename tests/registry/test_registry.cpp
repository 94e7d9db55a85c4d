// Plugin registry: loading, API-version refusal, error messages, library lifetime.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <string>

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
