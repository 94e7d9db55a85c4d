// One declaration per key (docs/architecture.md, "One declaration per key"): a Keys<Config> list gives
// both the schema (defaults from the struct's initializers) and the Config read from validated Params;
// choices map to enums, std::optional fields are optional keys.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dipole/core/config.hpp"
#include "dipole/params.hpp"

namespace dipole {
namespace {

using config::Pipeline;

enum class Mode { Fast, Slow, Exact };

struct Sub {
  double rate = 0.5;
  std::string name = "sub";
};

struct Config {
  bool flag = true;
  std::int64_t count = 7;
  int small = 3;
  double scale = 0.25;
  std::string label = "plain";
  std::vector<double> weights{1.0, 2.0};
  std::vector<std::int64_t> widths{64, 32};
  std::vector<std::string> tags{"a"};
  Mode mode = Mode::Slow;
  bool target = false;  // a bool chosen by name
  std::optional<double> omega;
  std::optional<std::vector<std::int64_t>> dims;
  std::optional<Mode> override_mode;
  Sub sub{0.75, "outer"};  // the nested keys' defaults come from this initializer
};

const Keys<Config>& config_keys() {
  using C = Config;
  static const Keys<C> keys{
      key(&C::flag, "flag", "a bool"),
      key(&C::count, "count", "an int").range(0, 100),
      key(&C::small, "small", "an int field").at_least(1),
      key(&C::scale, "scale", "a float").range(0.0, 1.0),
      key(&C::label, "label", "a string").one_of({"plain", "fancy"}),
      key(&C::weights, "weights", "floats"),
      key(&C::widths, "widths", "ints").at_least(1),
      key(&C::tags, "tags", "strings"),
      key(&C::mode, "mode", "an enum")
          .choices({{"fast", Mode::Fast}, {"slow", Mode::Slow}, {"exact", Mode::Exact}}),
      key(&C::target, "critic", "a bool by name").choices({{"online", false}, {"target", true}}),
      key(&C::omega, "omega", "guidance (absent: the sampler's)").range(0.0, 10.0),
      key(&C::dims, "dims", "widths (absent: the preset's)").at_least(1),
      key(&C::override_mode, "override_mode", "an optional enum")
          .choices({{"fast", Mode::Fast}, {"slow", Mode::Slow}}),
      nested(&C::sub, Keys<Sub>{key(&Sub::rate, "rate", "nested float").range(0.0, 1.0),
                                key(&Sub::name, "name", "nested string")}),
  };
  return keys;
}

const ParamSpec& spec_of(const Schema& schema, const std::string& name) {
  for (const auto& spec : schema)
    if (spec.key == name) return spec;
  throw std::logic_error("no key " + name);
}

Params validate(const std::string& body) {
  return Pipeline::parse("[thing]\ntype = \"t\"\n" + body, "p.toml")
      .validate("thing", "t", config_keys().schema());
}

std::string validate_error(const std::string& body) {
  try {
    validate(body);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

#define EXPECT_STARTS_WITH(text, prefix) EXPECT_EQ(std::string(text).rfind(prefix, 0), 0u) << "in: " << (text)

TEST(ConfigKeys, SchemaTakesDefaultsFromTheStruct) {
  const Schema schema = config_keys().schema();
  ASSERT_EQ(schema.size(), 15u);
  EXPECT_EQ(*spec_of(schema, "flag").default_value, ParamValue(true));
  EXPECT_EQ(*spec_of(schema, "count").default_value, ParamValue(std::int64_t{7}));
  EXPECT_EQ(spec_of(schema, "count").type, ParamType::Int);
  EXPECT_EQ(*spec_of(schema, "small").default_value, ParamValue(std::int64_t{3}));
  EXPECT_EQ(*spec_of(schema, "scale").default_value, ParamValue(0.25));
  EXPECT_EQ(*spec_of(schema, "label").default_value, ParamValue(std::string("plain")));
  EXPECT_EQ(spec_of(schema, "label").choices, (std::vector<std::string>{"plain", "fancy"}));
  EXPECT_EQ(*spec_of(schema, "weights").default_value, ParamValue(std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(*spec_of(schema, "widths").default_value, ParamValue(std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(*spec_of(schema, "tags").default_value, ParamValue(std::vector<std::string>{"a"}));
  // An enum is a string key whose choices are the names; its default is the name of the initializer.
  EXPECT_EQ(spec_of(schema, "mode").type, ParamType::String);
  EXPECT_EQ(spec_of(schema, "mode").choices, (std::vector<std::string>{"fast", "slow", "exact"}));
  EXPECT_EQ(*spec_of(schema, "mode").default_value, ParamValue(std::string("slow")));
  EXPECT_EQ(*spec_of(schema, "critic").default_value, ParamValue(std::string("online")));
  // Optional keys: no default, not required.
  for (const char* name : {"omega", "dims", "override_mode"}) {
    EXPECT_TRUE(spec_of(schema, name).optional) << name;
    EXPECT_FALSE(spec_of(schema, name).default_value) << name;
  }
  EXPECT_EQ(spec_of(schema, "dims").type, ParamType::IntList);
  EXPECT_FALSE(spec_of(schema, "flag").optional);
  // Nested keys: defaults from the outer struct's member initializer, not Sub's.
  EXPECT_EQ(*spec_of(schema, "rate").default_value, ParamValue(0.75));
  EXPECT_EQ(*spec_of(schema, "name").default_value, ParamValue(std::string("outer")));
  // Other defaults from a given Config.
  Config other;
  other.count = 9;
  other.mode = Mode::Exact;
  const Schema changed = config_keys().schema(other);
  EXPECT_EQ(*spec_of(changed, "count").default_value, ParamValue(std::int64_t{9}));
  EXPECT_EQ(*spec_of(changed, "mode").default_value, ParamValue(std::string("exact")));
}

TEST(ConfigKeys, AbsentKeysReadAsTheStructDefaults) {
  const Params params = validate("");
  const Config c = config_keys().read(params);
  EXPECT_TRUE(c.flag);
  EXPECT_EQ(c.count, 7);
  EXPECT_EQ(c.small, 3);
  EXPECT_EQ(c.scale, 0.25);
  EXPECT_EQ(c.label, "plain");
  EXPECT_EQ(c.weights, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(c.widths, (std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(c.tags, (std::vector<std::string>{"a"}));
  EXPECT_EQ(c.mode, Mode::Slow);
  EXPECT_FALSE(c.target);
  EXPECT_EQ(c.sub.rate, 0.75);
  EXPECT_EQ(c.sub.name, "outer");
  // Optional keys the pipeline does not set stay absent.
  EXPECT_FALSE(params.has("omega"));
  EXPECT_FALSE(params.has("dims"));
  EXPECT_FALSE(c.omega);
  EXPECT_FALSE(c.dims);
  EXPECT_FALSE(c.override_mode);
}

TEST(ConfigKeys, FillsEveryFieldType) {
  const Params params = validate(
      "flag = false\ncount = 42\nsmall = 5\nscale = 0.5\nlabel = \"fancy\"\nweights = [0.5]\n"
      "widths = [8, 4, 2]\ntags = [\"x\", \"y\"]\nmode = \"exact\"\ncritic = \"target\"\nomega = 1.5\n"
      "dims = [16]\noverride_mode = \"fast\"\nrate = 0.125\nname = \"inner\"\n");
  const Config c = config_keys().read(params);
  EXPECT_FALSE(c.flag);
  EXPECT_EQ(c.count, 42);
  EXPECT_EQ(c.small, 5);
  EXPECT_EQ(c.scale, 0.5);
  EXPECT_EQ(c.label, "fancy");
  EXPECT_EQ(c.weights, (std::vector<double>{0.5}));
  EXPECT_EQ(c.widths, (std::vector<std::int64_t>{8, 4, 2}));
  EXPECT_EQ(c.tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c.mode, Mode::Exact);
  EXPECT_TRUE(c.target);
  ASSERT_TRUE(c.omega);
  EXPECT_EQ(*c.omega, 1.5);
  ASSERT_TRUE(c.dims);
  EXPECT_EQ(*c.dims, (std::vector<std::int64_t>{16}));
  ASSERT_TRUE(c.override_mode);
  EXPECT_EQ(*c.override_mode, Mode::Fast);
  EXPECT_EQ(c.sub.rate, 0.125);
  EXPECT_EQ(c.sub.name, "inner");
  EXPECT_TRUE(params.has("omega"));
}

TEST(ConfigKeys, BadChoiceNamesPositionAndAllowedValues) {
  EXPECT_STARTS_WITH(validate_error("mode = \"fsat\"\n"),
                     "p.toml:3:1: thing.mode = \"fsat\" is not one of \"fast\", \"slow\", \"exact\"");
  EXPECT_STARTS_WITH(validate_error("\noverride_mode = \"exact\"\n"),
                     "p.toml:4:1: thing.override_mode = \"exact\" is not one of \"fast\", \"slow\"");
}

TEST(ConfigKeys, OptionalKeysKeepTypeAndRangeErrors) {
  EXPECT_STARTS_WITH(validate_error("omega = \"high\"\n"),
                     "p.toml:3:1: thing.omega: expected float, got string");
  EXPECT_STARTS_WITH(validate_error("omega = 11.0\n"),
                     "p.toml:3:1: thing.omega = 11.0 is out of range [0, 10]");
  EXPECT_STARTS_WITH(validate_error("dims = [4, 0]\n"),
                     "p.toml:3:12: thing.dims[1] = 0 is out of range [1, inf)");
}

TEST(ConfigKeys, ResolvedPipelineOmitsAbsentOptionalKeys) {
  auto pipeline = Pipeline::parse("[thing]\ntype = \"t\"\ndims = [3]\n", "p.toml");
  pipeline.validate("thing", "t", config_keys().schema());
  const std::string resolved = pipeline.resolved_toml();
  EXPECT_NE(resolved.find("dims = [3]"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("count = 7"), std::string::npos) << resolved;
  EXPECT_EQ(resolved.find("omega"), std::string::npos) << resolved;
  EXPECT_EQ(resolved.find("override_mode"), std::string::npos) << resolved;
}

TEST(ConfigKeys, RequiredKeyHasNoDefault) {
  struct Path {
    std::string path;
  };
  const Keys<Path> keys{key(&Path::path, "path", "the file").required()};
  const Schema schema = keys.schema();
  EXPECT_FALSE(schema.at(0).default_value);
  EXPECT_FALSE(schema.at(0).optional);
  try {
    Pipeline::parse("[data]\ntype = \"d\"\n", "p.toml").validate("data", "d", schema);
    ADD_FAILURE() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STARTS_WITH(e.what(), "p.toml:1:1: [data] (type d) is missing required key 'path'");
  }
}

}  // namespace
}  // namespace dipole
