// Asset lookup (core/assets): search order and the error a user sees when nothing is found.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dipole/errors.hpp"
#include "dipole/sdk/assets.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;

/// Sets (or unsets) an environment variable and restores the old value on destruction.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = std::string(old);
    if (value != nullptr)
      ::setenv(name_.c_str(), value, 1);
    else
      ::unsetenv(name_.c_str());
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() { fs::current_path(old_); }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  fs::path old_;
};

std::string error_of(const std::string& relative, const std::vector<std::string>& roots) {
  try {
    find_asset(relative, roots);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Assets, ExplicitRootsReturnTheFirstRootHoldingTheFile) {
  const fs::path base = fs::temp_directory_path() / ("dipole_assets_test_" + std::to_string(::getpid()));
  fs::create_directories(base / "b" / "dm_control");
  fs::create_directories(base / "c" / "dm_control");
  { std::ofstream(base / "b" / "dm_control" / "x.xml") << "<mujoco/>"; }
  { std::ofstream(base / "c" / "dm_control" / "x.xml") << "<mujoco/>"; }
  const std::string found =
      find_asset("dm_control/x.xml", {(base / "a").string(), (base / "b").string(), (base / "c").string()});
  EXPECT_EQ(found, (base / "b" / "dm_control" / "x.xml").string());
  fs::remove_all(base);
}

TEST(Assets, ErrorListsEverySearchedPlaceAndPointsToTheDocs) {
  const ScopedEnv env("DIPOLE_ASSETS", nullptr);
  const std::string msg = error_of("dm_control/suite/walker.xml", {"/nonexistent/one", "/nonexistent/two"});
  EXPECT_NE(msg.find("asset 'dm_control/suite/walker.xml' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent/one/dm_control/suite/walker.xml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent/two/dm_control/suite/walker.xml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("DIPOLE_ASSETS is not set"), std::string::npos) << msg;
  EXPECT_NE(msg.find("docs/assets.md"), std::string::npos) << msg;
}

TEST(Assets, DefaultSearchPathStartsWithTheEnvironmentVariableThenWalksUp) {
  const ScopedEnv env("DIPOLE_ASSETS", "/nonexistent/dipole_assets");
  const ScopedCwd cwd("/tmp");
  const auto roots = asset_search_path();
  ASSERT_GE(roots.size(), 4U);
  EXPECT_EQ(roots[0], "/nonexistent/dipole_assets");
  EXPECT_EQ(roots[1], "/shared/assets");    // ../shared/assets from /tmp
  const fs::path tmp = fs::current_path();  // /tmp may be a symlink
  EXPECT_EQ(roots[2], (tmp / "shared" / "assets").string());
  EXPECT_EQ(roots.back(), "/shared/assets");  // the filesystem root's shared/assets, last
}

TEST(Assets, BogusEnvironmentVariableOutsideTheTreeNamesTheVariable) {
  const ScopedEnv env("DIPOLE_ASSETS", "/nonexistent/dipole_assets");
  const ScopedCwd cwd("/");  // no shared/assets above the root (a checkout may sit in /tmp)
  std::string msg = "(no error)";
  try {
    find_asset("dm_control/suite/walker.xml");
  } catch (const DataError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("DIPOLE_ASSETS is set to '/nonexistent/dipole_assets'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent/dipole_assets/dm_control/suite/walker.xml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Set DIPOLE_ASSETS"), std::string::npos) << msg;
  EXPECT_NE(msg.find("docs/assets.md"), std::string::npos) << msg;
}

TEST(Assets, TheSharedAssetsAreFoundFromTheBuildTree) {
  // The test runs inside the build tree of the checkout; the shared assets sit beside the checkout.
  const ScopedEnv env("DIPOLE_ASSETS", nullptr);
  const ScopedCwd cwd(DIPOLE_BINARY_DIR);
  const fs::path expected = fs::path(DIPOLE_SOURCE_DIR).parent_path() / "shared" / "assets";
  if (!fs::exists(expected / "dm_control" / "suite" / "walker.xml"))
    GTEST_SKIP() << "no shared assets beside the checkout at " << expected;
  const std::string found = find_asset("dm_control/suite/walker.xml");
  EXPECT_TRUE(fs::equivalent(found, expected / "dm_control" / "suite" / "walker.xml")) << found;
}

}  // namespace
}  // namespace dipole
