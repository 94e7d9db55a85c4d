// Damaged plugin files (docs/reliability.md, "Plugins"): a copy cut short by an interrupted copy, a
// file that is not ELF, a library built with a sanitizer the process lacks, and a plugin directory
// that does not exist are PluginErrors naming the path, checked before dlopen (no SIGBUS, no abort).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "dipole/core/registry.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;

std::string plugin_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const PluginError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no PluginError";
  return "";
}

class DamagedPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dipole_damaged_plugin_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::vector<char> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(DamagedPlugin, TruncatedCopiesOfARealPluginAreErrorsNamingThePath) {
  const fs::path real = fs::path(DIPOLE_BINARY_DIR) / "lib" / "dipole" / "plugins" / "libdipole_bandit.so";
  ASSERT_TRUE(fs::exists(real)) << real;
  const std::vector<char> bytes = read_all(real);
  int refused = 0;
  for (const double fraction : {0.0005, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    const auto size = static_cast<std::size_t>(static_cast<double>(bytes.size()) * fraction);
    const fs::path cut = dir_ / ("libcut_" + std::to_string(size) + ".so");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    Registry registry;
    const std::string message = plugin_error_of([&] { registry.load_library(cut.string()); });
    EXPECT_NE(message.find(fs::canonical(cut).string()), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
    refused += message.empty() ? 0 : 1;
  }
  EXPECT_EQ(refused, 6);
  // A file that is not ELF at all.
  std::ofstream(dir_ / "libtext.so") << "not a library\n";
  Registry registry;
  EXPECT_NE(plugin_error_of([&] { registry.load_directory(dir_.string()); }).find("truncated"),
            std::string::npos);  // the first file in name order is a truncated one
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  std::ofstream(dir_ / "libtext.so")
      << "not a library, but long enough to hold an ELF header of 64 bytes....\n";
  EXPECT_NE(plugin_error_of([&] { registry.load_directory(dir_.string()); }).find("not an ELF file"),
            std::string::npos);
}

TEST_F(DamagedPlugin, SanitizedLibraryInAnUnsanitizedProcessIsAnError) {
  if (::dlsym(RTLD_DEFAULT, "__asan_init") != nullptr) GTEST_SKIP() << "this process runs AddressSanitizer";
  const std::string path = std::string(DIPOLE_TEST_PLUGIN_DIR) + "/test_sanitized/libtest_sanitized.so";
  Registry registry;
  const std::string message = plugin_error_of([&] { registry.load_library(path); });
  EXPECT_NE(message.find("libtest_sanitized.so"), std::string::npos) << message;
  EXPECT_NE(message.find("built with AddressSanitizer"), std::string::npos) << message;
  EXPECT_NE(message.find("__asan_"), std::string::npos) << message;
}

TEST_F(DamagedPlugin, NonexistentPluginPathDirectoryIsAnError) {
  ::setenv("DIPOLE_PLUGIN_PATH", "/nonexistent/dipole/plugins", 1);
  const std::string message = plugin_error_of([] { Registry::with_default_plugins(); });
  ::unsetenv("DIPOLE_PLUGIN_PATH");
  EXPECT_NE(
      message.find("plugin directory '/nonexistent/dipole/plugins' (from DIPOLE_PLUGIN_PATH) does not exist"),
      std::string::npos)
      << message;
}

}  // namespace
}  // namespace dipole
