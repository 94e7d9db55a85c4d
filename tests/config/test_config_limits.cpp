// Limits of the pipeline reader against hostile input (docs/reliability.md): the reproducers
// (a key of 20,000 dotted parts, `extends = "/dev/zero"`, deep nesting) give clear errors instead of
// a stack overflow or unbounded reading; non-finite floats are refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "dipole/core/config.hpp"
#include "dipole/params.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;
using config::Pipeline;

std::string config_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return "";
}

std::string dotted(int parts) {
  std::string key = "a";
  for (int i = 1; i < parts; ++i) key += ".a";
  return key;
}

TEST(ConfigLimits, KeyOfTwentyThousandDottedParts) {
  EXPECT_NE(config_error([] {
              Pipeline::parse("[s]\n" + dotted(20000) + " = 1\n", "deep.toml");
            }).find("deep.toml:2: a key of more than 32 dotted parts, the limit"),
            std::string::npos);
  EXPECT_NE(config_error([] {
              Pipeline::parse("[" + dotted(20000) + "]\nx = 1\n", "deep.toml");
            }).find("deep.toml:1: a key of more than 32 dotted parts"),
            std::string::npos);
  EXPECT_NE(config_error([] {
              Pipeline::parse("s = { " + dotted(20000) + " = 1 }\n", "deep.toml");
            }).find("dotted parts"),
            std::string::npos);
  EXPECT_NE(config_error([] {
              Pipeline::parse("[s]\nx = 1\n", "p.toml", {dotted(20000) + "=1"});
            }).find("--set a.a.a"),
            std::string::npos);
  // Dots inside strings, comments, values and quoted keys do not count.
  const std::string ok = "[s]\n\"" + dotted(100) + "\" = '" + dotted(100) + "' # " + dotted(100) +
                         "\nv = [1.5, 2.5, 3.5]\nm = \"\"\"\n" + dotted(100) + "\n[" + dotted(100) +
                         "]\n\"\"\"\n" + dotted(32) + " = 1.0\n";
  EXPECT_NO_THROW(Pipeline::parse(ok, "ok.toml"));
}

TEST(ConfigLimits, DeeplyNestedArraysAndInlineTables) {
  const std::string arrays = "[s]\nx = " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  EXPECT_NE(config_error([&] {
              Pipeline::parse(arrays, "nest.toml");
            }).find("nest.toml:2: arrays or inline tables nested more than 32 deep"),
            std::string::npos);
  std::string tables = "[s]\nx = ";
  for (int i = 0; i < 5000; ++i) tables += "{a = ";
  tables += "1" + std::string(5000, '}') + "\n";
  EXPECT_NE(config_error([&] { Pipeline::parse(tables, "nest.toml"); }).find("nested more than 32 deep"),
            std::string::npos);
}

TEST(ConfigLimits, ExtendsReadsABoundedNumberOfBytes) {
  const std::string message = config_error([] { Pipeline::parse("extends = \"/dev/zero\"\n", "zero.toml"); });
  EXPECT_NE(message.find("cannot open base pipeline '/dev/zero'"), std::string::npos) << message;
  EXPECT_NE(message.find("more than the limit of 1048576 bytes"), std::string::npos) << message;
  const fs::path big = fs::temp_directory_path() / ("dipole_big_" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(big);
    out << "[s]\n";
    for (int i = 0; i < 70000; ++i) out << "# padding padding\n";
  }
  EXPECT_NE(config_error([&] { Pipeline::load(big.string()); }).find("more than the limit of 1048576 bytes"),
            std::string::npos);
  fs::remove(big);
}

TEST(ConfigLimits, NonFiniteFloatsAreRefused) {
  const Schema schema = {param::real("beta", 1.0, "a weight")};
  for (const char* value : {"nan", "inf", "-inf"}) {
    const std::string message = config_error([&] {
      Pipeline::parse(std::string("[w]\ntype = \"x\"\nbeta = ") + value + "\n", "p.toml")
          .validate("w", "x", schema);
    });
    EXPECT_NE(message.find("p.toml:3:1: w.beta = "), std::string::npos) << message;
    EXPECT_NE(message.find("is not a finite number"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace dipole
