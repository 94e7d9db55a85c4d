// TOML pipelines: validation against schemas, exact error positions, extends chains, --set
// overrides, unused sections, the resolved pipeline and to_toml().
#include <gtest/gtest.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "dipole/core/config.hpp"
#include "dipole/params.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;
using config::Pipeline;

Schema critic_schema() {
  return {
      param::real("discount", 0.99, "discount γ").range(0, 1),
      param::real("expectile", 0.7, "expectile τ").range(0, 1),
      param::integer("num_layers", 2, "hidden layers").at_least(1),
      param::integers("hidden", {256, 256}, "hidden widths").at_least(1),
      param::text("activation", "relu", "nonlinearity").one_of({"relu", "gelu", "tanh"}),
      param::boolean("layer_norm", false, "LayerNorm after each hidden layer"),
      param::reals("weights", {1.0}, "ensemble weights"),
      param::texts("tags", {}, "free-form labels"),
  };
}

Schema sampler_schema() {
  return {
      param::integer("num_candidates", 32, "candidates N_c").at_least(1),
      param::component("inner", "sampler that proposes the candidates"),
  };
}

Schema euler_schema() {
  return {param::real("omega", 1.0, "guidance weight ω"), param::integer("steps", 10, "")};
}

Schema weighting_schema() {
  return {param::real("beta", 3.0, "inverse temperature β").required(), param::real("shift", 1.0, "shift")};
}

/// Runs `fn`, expects a ConfigError and returns its message (empty if nothing was thrown).
std::string config_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)
#define EXPECT_STARTS_WITH(text, prefix) EXPECT_EQ(std::string(text).rfind(prefix, 0), 0u) << "in: " << (text)

std::string validate_error(const std::string& text, const Schema& schema,
                           const std::string& section = "critic", const std::string& type = "iql") {
  return config_error([&] { Pipeline::parse(text, "p.toml").validate(section, type, schema); });
}

/// A fresh directory per test for file-based pipelines.
class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("dipole_test_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

// ---- validation -----------------------------------------------------------------------------------

TEST(ConfigValidate, FillsDefaultsAndRecordsPositions) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\n  expectile = 0.9\n", "p.toml");
  EXPECT_EQ(pipeline.type_of("critic"), "iql");
  const Params p = pipeline.validate("critic", "iql", critic_schema());
  EXPECT_EQ(p.section(), "critic");
  EXPECT_EQ(p.type(), "iql");
  EXPECT_DOUBLE_EQ(p.real("expectile"), 0.9);
  EXPECT_DOUBLE_EQ(p.real("discount"), 0.99);
  EXPECT_EQ(p.integer("num_layers"), 2);
  EXPECT_EQ(p.integers("hidden"), (std::vector<std::int64_t>{256, 256}));
  EXPECT_EQ(p.text("activation"), "relu");
  EXPECT_FALSE(p.boolean("layer_norm"));
  EXPECT_EQ(p.values().size(), critic_schema().size());
  EXPECT_EQ(p.where("expectile"), "p.toml:3:3 (critic.expectile)");
  EXPECT_EQ(p.where("discount"), "critic.discount (default)");
}

TEST(ConfigValidate, AllValueKinds) {
  auto pipeline = Pipeline::parse(
      "[critic]\ntype = \"iql\"\nnum_layers = 3\nhidden = [64, 32]\nactivation = \"gelu\"\nlayer_norm = "
      "true\n"
      "weights = [0.5, 2]\ntags = [\"a\", \"b\"]\n",
      "p.toml");
  const Params p = pipeline.validate("critic", "iql", critic_schema());
  EXPECT_EQ(p.integer("num_layers"), 3);
  EXPECT_EQ(p.integers("hidden"), (std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(p.text("activation"), "gelu");
  EXPECT_TRUE(p.boolean("layer_norm"));
  EXPECT_EQ(p.reals("weights"), (std::vector<double>{0.5, 2.0}));
  EXPECT_EQ(p.get<std::vector<std::string>>("tags"), (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigValidate, IntAcceptedWhereFloatExpected) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\nexpectile = 1\n", "p.toml");
  const Params p = pipeline.validate("critic", "iql", critic_schema());
  ASSERT_TRUE(std::holds_alternative<double>(p.values().at("expectile")));
  EXPECT_DOUBLE_EQ(p.real("expectile"), 1.0);
}

TEST(ConfigValidate, IntegralFloatRejectedForInt) {
  const auto msg = validate_error("[critic]\ntype = \"iql\"\nnum_layers = 2.0\n", critic_schema());
  EXPECT_STARTS_WITH(msg, "p.toml:3:1: critic.num_layers: expected int, got float");
  EXPECT_CONTAINS(msg, "write 2");
}

TEST(ConfigValidate, WrongTypeNamesKeyAndPosition) {
  const auto msg = validate_error("[critic]\ntype = \"iql\"\n\n    expectile = \"high\"\n", critic_schema());
  EXPECT_STARTS_WITH(msg, "p.toml:4:5: critic.expectile: expected float, got string");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nlayer_norm = 1\n", critic_schema()),
                     "p.toml:3:1: critic.layer_norm: expected bool, got int");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nhidden = 5\n", critic_schema()),
                     "p.toml:3:1: critic.hidden: expected int list, got int");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\n[critic.discount]\nx = 1\n", critic_schema()),
                     "p.toml:3:1: critic.discount: expected float, got table");
}

TEST(ConfigValidate, OutOfRange) {
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nexpectile = 1.5\n", critic_schema()),
                     "p.toml:3:1: critic.expectile = 1.5 is out of range [0, 1]");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nnum_layers = 0\n", critic_schema()),
                     "p.toml:3:1: critic.num_layers = 0 is out of range [1, inf)");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nexpectile = nan\n", critic_schema()),
                     "p.toml:3:1: critic.expectile = nan is not a finite number");
}

TEST(ConfigValidate, UnknownKeyListsKnownKeysAndSuggests) {
  const auto msg =
      validate_error("[critic]\ntype = \"iql\"\ndiscount = 0.9\n  expectle = 0.9\n", critic_schema());
  EXPECT_STARTS_WITH(
      msg,
      "p.toml:4:3: unknown key 'expectle' in [critic] (type iql); known keys: activation, discount, "
      "expectile, hidden, layer_norm, num_layers, tags, weights");
  EXPECT_CONTAINS(msg, "did you mean 'expectile'?");

  const auto far = validate_error("[critic]\ntype = \"iql\"\nlearning_rate = 1\n", critic_schema());
  EXPECT_STARTS_WITH(far, "p.toml:3:1: unknown key 'learning_rate' in [critic] (type iql)");
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(ConfigValidate, NotOneOfTheChoices) {
  const auto msg = validate_error("[critic]\ntype = \"iql\"\nactivation = \"relu6\"\n", critic_schema());
  EXPECT_STARTS_WITH(msg,
                     "p.toml:3:1: critic.activation = \"relu6\" is not one of \"relu\", \"gelu\", \"tanh\"");
  EXPECT_CONTAINS(msg, "did you mean \"relu\"?");
}

TEST(ConfigValidate, MissingRequiredKeyPointsAtTableHeader) {
  const auto msg = validate_error("# weighting\n\n[weighting]\ntype = \"sigmoid\"\nshift = 2.0\n",
                                  weighting_schema(), "weighting", "sigmoid");
  EXPECT_STARTS_WITH(msg, "p.toml:3:1: [weighting] (type sigmoid) is missing required key 'beta'");
  EXPECT_CONTAINS(msg, "inverse temperature");
}

TEST(ConfigValidate, ListElementErrorsPointAtTheElement) {
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nhidden = [256, 1.5]\n", critic_schema()),
                     "p.toml:3:16: critic.hidden[1]: expected int, got float");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nhidden = [256, 0]\n", critic_schema()),
                     "p.toml:3:16: critic.hidden[1] = 0 is out of range [1, inf)");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\nweights = [1.0, \"x\"]\n", critic_schema()),
                     "p.toml:3:17: critic.weights[1]: expected float, got string");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = \"iql\"\ntags = [true]\n", critic_schema()),
                     "p.toml:3:9: critic.tags[0]: expected string, got bool");
}

TEST(ConfigValidate, AbsentSectionValidatesToDefaults) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\n", "p.toml");
  const Params p = pipeline.validate("trainer", "trainer", euler_schema());
  EXPECT_EQ(p.integer("steps"), 10);
  EXPECT_STARTS_WITH(config_error([&] { pipeline.validate("weighting", "sigmoid", weighting_schema()); }),
                     "p.toml: [weighting] (type sigmoid) is missing required key 'beta'");
}

TEST(ConfigValidate, ComponentKeysMustBeTablesAndTypeIsAlwaysAllowed) {
  auto pipeline = Pipeline::parse(
      "[sampler]\ntype = \"best_of_n\"\nnum_candidates = 4\n\n[sampler.inner]\ntype = "
      "\"guided_euler\"\nomega = 2\n",
      "p.toml");
  const Params sampler = pipeline.validate("sampler", "best_of_n", sampler_schema());
  EXPECT_EQ(sampler.integer("num_candidates"), 4);
  EXPECT_FALSE(sampler.has("inner"));
  EXPECT_TRUE(pipeline.has_section("sampler.inner"));
  EXPECT_EQ(pipeline.type_of("sampler.inner"), "guided_euler");
  EXPECT_DOUBLE_EQ(pipeline.validate("sampler.inner", "guided_euler", euler_schema()).real("omega"), 2.0);

  EXPECT_STARTS_WITH(validate_error("[sampler]\ntype = \"best_of_n\"\ninner = \"euler\"\n", sampler_schema(),
                                    "sampler", "best_of_n"),
                     "p.toml:3:1: sampler.inner: expected table");
  EXPECT_STARTS_WITH(validate_error("[critic]\ntype = 3\n", critic_schema()),
                     "p.toml:2:1: critic.type: expected string, got int");
}

TEST(ConfigSections, TypeOfAndSectionQueries) {
  auto pipeline = Pipeline::parse(
      "[trainer]\nsteps = 5\n[critic]\ntype = \"iql\"\n[sampler]\ntype = "
      "\"best_of_n\"\n\n[sampler.inner]\nomega = 1.0\n",
      "p.toml");
  EXPECT_EQ(pipeline.top_level_sections(), (std::vector<std::string>{"critic", "sampler", "trainer"}));
  EXPECT_TRUE(pipeline.has_section("sampler.inner"));
  EXPECT_FALSE(pipeline.has_section("sampler.outer"));
  EXPECT_FALSE(pipeline.has_section("critic.type"));  // a key, not a table
  EXPECT_EQ(pipeline.source(), "p.toml");
  EXPECT_STARTS_WITH(config_error([&] { (void)pipeline.type_of("sampler.inner"); }),
                     "p.toml:8:1: [sampler.inner] has no 'type' key");
  EXPECT_STARTS_WITH(config_error([&] { (void)pipeline.type_of("trainer"); }),
                     "p.toml:1:1: [trainer] has no 'type' key");
  EXPECT_CONTAINS(config_error([&] { (void)pipeline.type_of("weighting"); }), "no [weighting] section");
}

TEST(ConfigParse, TomlSyntaxErrorHasPosition) {
  const auto msg = config_error([] { Pipeline::parse("[critic]\nexpectile = = 0.9\n", "bad.toml"); });
  EXPECT_STARTS_WITH(msg, "bad.toml:2:13: ");
  const auto redefined = config_error([] { Pipeline::parse("[critic]\na = 1\n\na = 2\n", "bad.toml"); });
  EXPECT_STARTS_WITH(redefined, "bad.toml:4:");
}

// ---- files and extends -----------------------------------------------------------------------------

TEST_F(ConfigFiles, MissingFileNamesPath) {
  const std::string path = (dir_ / "nope.toml").string();
  const auto msg = config_error([&] { Pipeline::load(path); });
  EXPECT_CONTAINS(msg, path);
}

TEST_F(ConfigFiles, SyntaxErrorInFileNamesFile) {
  const std::string path = write("broken.toml", "[critic]\ntype = \"iql\"\nexpectile = 0.9.1\n");
  EXPECT_STARTS_WITH(config_error([&] { Pipeline::load(path); }), path + ":3:");
}

TEST_F(ConfigFiles, ExtendsMergesAndKeepsPositions) {
  write("base.toml",
        "[critic]\ntype = \"iql\"\ndiscount = 0.95\nexpectile = 0.5\n"
        "[sampler]\ntype = \"best_of_n\"\nnum_candidates = 8\n"
        "[sampler.inner]\ntype = \"guided_euler\"\nomega = 1.0\nsteps = 20\n");
  const std::string child = write(
      "child.toml", "extends = \"base.toml\"\n[critic]\nexpectile = 0.9\n\n[sampler.inner]\nomega = 2.0\n");
  auto pipeline = Pipeline::load(child);
  EXPECT_EQ(pipeline.source(), child);

  const Params critic = pipeline.validate("critic", pipeline.type_of("critic"), critic_schema());
  EXPECT_DOUBLE_EQ(critic.real("expectile"), 0.9);  // overridden by the child
  EXPECT_CONTAINS(critic.where("expectile"), "child.toml:3:1");
  EXPECT_DOUBLE_EQ(critic.real("discount"), 0.95);  // only in the base
  EXPECT_CONTAINS(critic.where("discount"), "base.toml:3:1");
  EXPECT_EQ(critic.where("discount").find("child.toml"), std::string::npos);

  EXPECT_EQ(pipeline.type_of("sampler.inner"), "guided_euler");  // nested table merged, not replaced
  const Params inner = pipeline.validate("sampler.inner", "guided_euler", euler_schema());
  EXPECT_DOUBLE_EQ(inner.real("omega"), 2.0);
  EXPECT_CONTAINS(inner.where("omega"), "child.toml:6:1");
  EXPECT_EQ(inner.integer("steps"), 20);
  EXPECT_CONTAINS(inner.where("steps"), "base.toml:11:1");
  EXPECT_EQ(pipeline.validate("sampler", "best_of_n", sampler_schema()).integer("num_candidates"), 8);

  // Errors in keys that came from the base name the base file.
  write("bad_base.toml", "[critic]\ntype = \"iql\"\n\nexpectile = 7.0\n");
  const std::string bad_child =
      write("bad_child.toml", "extends = \"bad_base.toml\"\n[critic]\ndiscount = 0.9\n");
  auto bad = Pipeline::load(bad_child);
  EXPECT_STARTS_WITH(
      config_error([&] { bad.validate("critic", "iql", critic_schema()); }),
      (dir_ / "bad_base.toml").string() + ":4:1: critic.expectile = 7.0 is out of range [0, 1]");
}

TEST_F(ConfigFiles, TwoLevelChainWithRelativePaths) {
  write("root.toml", "[critic]\ntype = \"iql\"\ndiscount = 0.9\nexpectile = 0.6\nnum_layers = 4\n");
  write("sub/mid.toml", "extends = \"../root.toml\"\n[critic]\nexpectile = 0.7\nnum_layers = 3\n");
  const std::string top = write("top.toml", "extends = \"sub/mid.toml\"\n[critic]\nnum_layers = 5\n");
  auto pipeline = Pipeline::load(top);
  const Params critic = pipeline.validate("critic", "iql", critic_schema());
  EXPECT_DOUBLE_EQ(critic.real("discount"), 0.9);
  EXPECT_CONTAINS(critic.where("discount"), "root.toml:3:1");
  EXPECT_DOUBLE_EQ(critic.real("expectile"), 0.7);
  EXPECT_CONTAINS(critic.where("expectile"), "mid.toml:3:1");
  EXPECT_EQ(critic.integer("num_layers"), 5);
  EXPECT_CONTAINS(critic.where("num_layers"), "top.toml:3:1");

  const std::string resolved = pipeline.resolved_toml();
  EXPECT_CONTAINS(resolved, "# source: " + top);
  EXPECT_CONTAINS(resolved, "mid.toml");
  EXPECT_CONTAINS(resolved, "root.toml");
  EXPECT_EQ(resolved.find("extends ="), std::string::npos) << resolved;
}

TEST_F(ConfigFiles, ExtendsCycleIsAnError) {
  write("a.toml", "extends = \"b.toml\"\n[critic]\ntype = \"iql\"\n");
  write("b.toml", "extends = \"a.toml\"\n");
  const auto msg = config_error([&] { Pipeline::load((dir_ / "a.toml").string()); });
  EXPECT_CONTAINS(msg, "b.toml:1:1: extends cycle: ");
  EXPECT_CONTAINS(msg, "a.toml -> ");

  const std::string self = write("self.toml", "\nextends = \"self.toml\"\n");
  EXPECT_CONTAINS(config_error([&] { Pipeline::load(self); }), "self.toml:2:1: extends cycle");
}

TEST_F(ConfigFiles, MissingBaseNamesReferringPosition) {
  const std::string child =
      write("child.toml", "# comment\nextends = \"missing_base.toml\"\n[critic]\ntype = \"iql\"\n");
  const auto msg = config_error([&] { Pipeline::load(child); });
  EXPECT_STARTS_WITH(msg, child + ":2:1: ");
  EXPECT_CONTAINS(msg, (dir_ / "missing_base.toml").string());

  EXPECT_STARTS_WITH(config_error([] { Pipeline::parse("extends = 3\n", "p.toml"); }),
                     "p.toml:1:1: extends: expected string");
}

TEST_F(ConfigFiles, ParseResolvesExtendsRelativeToBaseDir) {
  write("base.toml", "[critic]\ntype = \"iql\"\ndiscount = 0.5\n");
  auto pipeline = Pipeline::parse("extends = \"base.toml\"\n", "inline.toml", {}, dir_.string());
  EXPECT_DOUBLE_EQ(pipeline.validate("critic", "iql", critic_schema()).real("discount"), 0.5);
}

// ---- overrides --------------------------------------------------------------------------------------

TEST(ConfigOverrides, ValuesOfEveryKind) {
  auto pipeline =
      Pipeline::parse("[critic]\ntype = \"iql\"\nexpectile = 0.9\n", "p.toml",
                      {"critic.expectile=0.8", "critic.layer_norm=true", "critic.activation=\"gelu\"",
                       "critic.hidden = [64, 64]", "critic.num_layers=10", "dataset.type=npz_transitions",
                       "dataset.path=data/walker_stand.npz"});
  const Params p = pipeline.validate("critic", "iql", critic_schema());
  EXPECT_DOUBLE_EQ(p.real("expectile"), 0.8);
  EXPECT_EQ(p.where("expectile"), "--set critic.expectile=0.8 (critic.expectile)");
  EXPECT_TRUE(p.boolean("layer_norm"));
  EXPECT_EQ(p.text("activation"), "gelu");
  EXPECT_EQ(p.integers("hidden"), (std::vector<std::int64_t>{64, 64}));
  EXPECT_EQ(p.integer("num_layers"), 10);
  EXPECT_EQ(pipeline.type_of("dataset"), "npz_transitions");  // bare word, section created
  EXPECT_CONTAINS(pipeline.resolved_toml(), "path = \"data/walker_stand.npz\"");
}

TEST(ConfigOverrides, ApplyInOrderAndMergeOverExtends) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\n", "p.toml",
                                  {"critic.expectile=0.2", "critic.expectile=0.3"});
  EXPECT_DOUBLE_EQ(pipeline.validate("critic", "iql", critic_schema()).real("expectile"), 0.3);
}

TEST(ConfigOverrides, WrongTypeReportsOverride) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\n", "p.toml", {"critic.hidden=wide"});
  EXPECT_STARTS_WITH(config_error([&] { pipeline.validate("critic", "iql", critic_schema()); }),
                     "--set critic.hidden=wide: critic.hidden: expected int list, got string");
}

TEST(ConfigOverrides, CreatedUnknownKeyIsCaughtByValidate) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\n", "p.toml", {"critic.expectle=0.8"});
  const auto msg = config_error([&] { pipeline.validate("critic", "iql", critic_schema()); });
  EXPECT_STARTS_WITH(msg, "--set critic.expectle=0.8: unknown key 'expectle' in [critic] (type iql)");
  EXPECT_CONTAINS(msg, "did you mean 'expectile'?");
}

TEST(ConfigOverrides, MalformedOverridesNameTheText) {
  auto parse_with = [](const std::string& override_text) {
    return config_error(
        [&] { Pipeline::parse("[critic]\ntype = \"iql\"\nexpectile = 0.9\n", "p.toml", {override_text}); });
  };
  EXPECT_CONTAINS(parse_with("critic.expectile"), "--set critic.expectile: expected section.key=value");
  EXPECT_CONTAINS(parse_with("expectile=0.3"), "--set expectile=0.3: expected section.key=value");
  EXPECT_CONTAINS(parse_with("critic..x=1"), "--set critic..x=1: invalid key");
  EXPECT_CONTAINS(parse_with("critic.hidden=[1, 2"), "--set critic.hidden=[1, 2: invalid value '[1, 2'");
  EXPECT_CONTAINS(parse_with("critic.expectile="), "--set critic.expectile=: missing value");
  EXPECT_CONTAINS(parse_with("critic.expectile.x=1"), "critic.expectile is a value");
  EXPECT_CONTAINS(parse_with("critic=3"), "--set critic=3: expected section.key=value");
}

TEST(ConfigOverrides, CannotReplaceSectionWithValue) {
  const auto msg = config_error(
      [] { Pipeline::parse("[sampler.inner]\ntype = \"x\"\n", "p.toml", {"sampler.inner=guided_euler"}); });
  EXPECT_CONTAINS(msg, "--set sampler.inner=guided_euler: [sampler.inner] is a section");
}

// ---- unused sections ----------------------------------------------------------------------------------

TEST(ConfigUnused, ReportsTyposAndUnbuiltSubComponents) {
  auto pipeline = Pipeline::parse(
      "[critic]\ntype = \"iql\"\n\n[critc]\ntype = \"iql\"\n\n[sampler]\ntype = "
      "\"best_of_n\"\n[sampler.inner]\n"
      "type = \"guided_euler\"\n",
      "p.toml", {"evl.episodes=3"});
  pipeline.validate("critic", "iql", critic_schema());
  pipeline.validate("sampler", "best_of_n", sampler_schema());
  EXPECT_EQ(pipeline.unused_sections(),
            (std::vector<std::string>{"p.toml:4:1: [critc]", "--set evl.episodes=3: [evl]",
                                      "p.toml:9:1: [sampler.inner]"}));

  pipeline.validate("sampler.inner", "guided_euler", euler_schema());
  EXPECT_EQ(pipeline.unused_sections(),
            (std::vector<std::string>{"p.toml:4:1: [critc]", "--set evl.episodes=3: [evl]"}));
}

TEST(ConfigUnused, TopLevelKeysAndImplicitParents) {
  auto pipeline = Pipeline::parse("seed = 3\n[algo.critic]\ntype = \"iql\"\n", "p.toml");
  pipeline.validate("algo.critic", "iql", critic_schema());
  // [algo] only holds the validated [algo.critic]: not reported; the stray top-level key is.
  EXPECT_EQ(pipeline.unused_sections(),
            (std::vector<std::string>{"p.toml:1:1: top-level key 'seed' outside any section"}));
}

// ---- resolved pipeline -------------------------------------------------------------------------------

TEST_F(ConfigFiles, ResolvedTomlRoundTrips) {
  write("base.toml",
        "[critic]\ntype = \"iql\"\ndiscount = 0.95\nweights = [1, 0.1]\n"
        "[sampler]\ntype = \"best_of_n\"\n[sampler.inner]\ntype = \"guided_euler\"\nomega = 1\n"
        "[dataset]\ntype = \"npz\"\npath = \"a \\\"quoted\\\" path\"\nwhen = 2024-01-02\n");
  const std::string child = write("child.toml", "extends = \"base.toml\"\n[critic]\nexpectile = 0.25\n");
  const std::vector<std::string> overrides = {"critic.hidden=[8, 16]", "sampler.num_candidates=4"};

  auto validate_all = [](Pipeline& p) {
    std::vector<Params> all;
    all.push_back(p.validate("critic", p.type_of("critic"), critic_schema()));
    all.push_back(p.validate("sampler", p.type_of("sampler"), sampler_schema()));
    all.push_back(p.validate("sampler.inner", p.type_of("sampler.inner"), euler_schema()));
    all.push_back(p.validate("trainer", "trainer", euler_schema()));  // absent: all defaults
    return all;
  };

  auto first = Pipeline::load(child, overrides);
  const auto original = validate_all(first);
  const std::string resolved = first.resolved_toml();
  EXPECT_EQ(resolved, first.resolved_toml());
  EXPECT_EQ(resolved.find("extends ="), std::string::npos) << resolved;
  EXPECT_CONTAINS(resolved, "# extends: " + (dir_ / "base.toml").string() + "\n");
  EXPECT_CONTAINS(resolved, "# --set critic.hidden=[8, 16]\n");
  EXPECT_CONTAINS(resolved,
                  "\n[critic]\ntype = \"iql\"\nactivation = \"relu\"\n");  // type first, defaults filled
  EXPECT_CONTAINS(resolved, "omega = 1.0\n");                              // int given for a float
  EXPECT_CONTAINS(resolved, "[trainer]\nomega = 1.0\nsteps = 10\n");
  EXPECT_CONTAINS(resolved, "when = 2024-01-02\n");  // unvalidated keys kept

  auto second = Pipeline::parse(resolved, "resolved.toml");
  const auto again = validate_all(second);
  ASSERT_EQ(original.size(), again.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(original[i].values(), again[i].values()) << original[i].section();
  }
  EXPECT_EQ(second.type_of("dataset"), "npz");
  EXPECT_EQ(resolved.substr(resolved.find("\n[")),
            second.resolved_toml().substr(second.resolved_toml().find("\n[")));

  // Same inputs, same text (deterministic).
  auto third = Pipeline::load(child, overrides);
  validate_all(third);
  EXPECT_EQ(third.resolved_toml(), resolved);
}

TEST_F(ConfigFiles, WriteResolvedIsAtomicFile) {
  auto pipeline = Pipeline::parse("[critic]\ntype = \"iql\"\n", "p.toml");
  pipeline.validate("critic", "iql", critic_schema());
  const fs::path out = dir_ / "pipeline.resolved.toml";
  std::ofstream(out) << "old contents";
  pipeline.write_resolved(out.string());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), pipeline.resolved_toml());
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1);  // no temporary left behind
  EXPECT_THROW(pipeline.write_resolved((dir_ / "no_such_dir" / "x.toml").string()), ConfigError);
}

// ---- to_toml ------------------------------------------------------------------------------------------

double parse_float(const std::string& text) {
  const toml::table table = toml::parse(std::string_view("v = " + text));
  EXPECT_TRUE(table["v"].is_floating_point()) << text;
  return table["v"].value_or(-12345.0);
}

TEST(ToToml, Scalars) {
  EXPECT_EQ(to_toml(ParamValue(true)), "true");
  EXPECT_EQ(to_toml(ParamValue(false)), "false");
  EXPECT_EQ(to_toml(ParamValue(std::int64_t{-42})), "-42");
  EXPECT_EQ(to_toml(ParamValue(3.0)), "3.0");
  EXPECT_EQ(to_toml(ParamValue(0.1)), "0.1");
  EXPECT_EQ(to_toml(ParamValue(-2.5)), "-2.5");
  EXPECT_EQ(to_toml(ParamValue(std::string("a\"b\\c\nd\te"))), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(to_toml(ParamValue(std::string("\x01"))), "\"\\u0001\"");
}

TEST(ToToml, FloatsRoundTripAsFloats) {
  for (double v : {0.1, 1.0 / 3.0, 1e-5, 1e300, -2.5e-300, 123456789.0, 1e22, 5e-324, 0.0}) {
    const std::string text = to_toml(ParamValue(v));
    EXPECT_EQ(parse_float(text), v) << text;
  }
  EXPECT_EQ(to_toml(ParamValue(std::numeric_limits<double>::infinity())), "inf");
  EXPECT_EQ(to_toml(ParamValue(-std::numeric_limits<double>::infinity())), "-inf");
  EXPECT_EQ(to_toml(ParamValue(std::nan(""))), "nan");
}

TEST(ToToml, Lists) {
  EXPECT_EQ(to_toml(ParamValue(std::vector<double>{1.5, 2.0})), "[1.5, 2.0]");
  EXPECT_EQ(to_toml(ParamValue(std::vector<std::int64_t>{1, -2})), "[1, -2]");
  EXPECT_EQ(to_toml(ParamValue(std::vector<std::string>{"a", "b c"})), "[\"a\", \"b c\"]");
  EXPECT_EQ(to_toml(ParamValue(std::vector<double>{})), "[]");
}

}  // namespace
}  // namespace dipole
