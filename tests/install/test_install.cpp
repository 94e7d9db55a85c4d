// Install the build tree, build docs/examples/ring_dataset against the installed package with
// find_package(Dipole), and train a pipeline that uses it through the installed CLI.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dipole/api_version.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;

using Result = dipole::test::CommandResult;
Result run(const std::string& command) {
  return dipole::test::run_command(command);
}

TEST(Install, OutOfTreePluginBuildsAgainstInstalledPackageAndRuns) {
  const fs::path root = fs::temp_directory_path() / ("dipole_install_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path prefix = root / "prefix", build = root / "ring";
  const std::string cmake = DIPOLE_CMAKE_COMMAND;

  Result r = run(cmake + " --install " + DIPOLE_BINARY_DIR + " --prefix " + prefix.string());
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(fs::exists(prefix / "include" / "dipole" / "plugin.hpp"));
  ASSERT_TRUE(fs::exists(prefix / "bin" / "dipole"));

  r = run(cmake + " -S " + DIPOLE_SOURCE_DIR + "/docs/examples/ring_dataset -B " + build.string() +
          " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + prefix.string());
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(cmake + " --build " + build.string());
  ASSERT_EQ(r.code, 0) << r.output;

  const std::string env = "DIPOLE_PLUGIN_PATH=" + build.string() + " ";
  const std::string cli = (prefix / "bin" / "dipole").string();
  // The benchmarks: `dipole bench` runs the installed dipole-bench, which finds the installed pipelines.
  ASSERT_TRUE(fs::exists(prefix / "bin" / "dipole-bench"));
  ASSERT_TRUE(fs::exists(prefix / "share" / "dipole" / "configs" / "bench" / "dipole.toml"));
  r = run(cli + " bench --help");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find((prefix / "bin" / "dipole-bench").string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n  " + (prefix / "share" / "dipole" / "configs" / "bench").string() + "\n"),
            std::string::npos)
      << r.output;

  r = run(env + cli + " plugins ring");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("toy ring dataset"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("radius"), std::string::npos) << r.output;
  // Name and version from dipole_add_plugin(dipole_ring_dataset VERSION 1.0.0 ...), the SDK version.
  EXPECT_NE(
      r.output.find("from dipole_ring_dataset 1.0.0 (SDK " + std::to_string(dipole::kPluginApiVersion) + ")"),
      std::string::npos)
      << r.output;

  const fs::path pipeline = root / "ring.toml";
  std::ofstream(pipeline) << "[trainer]\nsteps = 30\nbatch_size = 64\nlog_interval = 10\n"
                             "[dataset]\ntype = \"ring\"\nsize = 512\n"
                             "[algorithm]\ntype = \"flow_bc\"\n"
                             "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [32, 32]\n"
                             "[sampler]\ntype = \"euler\"\n";
  r = run(env + cli + " train " + pipeline.string() + " --quiet --out " + (root / "run").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("trained after 30 steps"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(root / "run" / "checkpoints" / "latest.npz"));
  std::stringstream builds;
  builds << std::ifstream(root / "run" / "plugins.toml").rdbuf();
  EXPECT_NE(builds.str().find("type = \"ring\"\nlibrary = \"" + fs::canonical(build).string() +
                              "/libdipole_ring_dataset.so\"\nlibrary_name = \"dipole_ring_dataset\"\n"
                              "library_version = \"1.0.0\""),
            std::string::npos)
      << builds.str();

  // Without the plugin path the type is unknown, and the error says which dataset types exist.
  r = run(cli + " train " + pipeline.string() + " --quiet --out " + (root / "run2").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("unknown dataset type 'ring'"), std::string::npos) << r.output;
  fs::remove_all(root);
}

}  // namespace
