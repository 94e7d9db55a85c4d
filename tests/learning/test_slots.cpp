// Slots (docs/architecture.md, "Slots"): every sub-component section is resolved and checked against
// the slots its owner declares before any constructor runs. Each error names file:line:col.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "learning/learning_util.hpp"

namespace dipole::learning {
namespace {

// Line numbers matter: the assertions name positions in this text ("slots.toml").
const std::string kPipeline =
    "[dataset]\n"                    // 1
    "type = \"bandit\"\n"            // 2
    "size = 500\n"                   // 3
    "[algorithm]\n"                  // 4
    "type = \"dipole\"\n"            // 5
    "[critic]\n"                     // 6
    "type = \"iql\"\n"               // 7
    "hidden_dims = [8]\n"            // 8
    "[denoiser]\n"                   // 9
    "type = \"flow_mlp\"\n"          // 10
    "hidden_dims = [8]\n"            // 11
    "[weighting]\n"                  // 12
    "  type = \"dipole_sigmoid\"\n"  // 13 (indented: the column is checked too)
    "[sampler]\n"                    // 14
    "type = \"best_of_n\"\n"         // 15
    "[sampler.inner]\n"              // 16
    "type = \"guided_euler\"\n";     // 17

/// The ConfigError message of check_pipeline on kPipeline with `edit` applied (empty if none).
std::string slot_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto pipeline = config::Pipeline::parse(text, "slots.toml", overrides);
  try {
    check_pipeline(registry(), pipeline);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

std::string without(const std::string& text, const std::string& lines) {
  std::string out = text;
  out.replace(out.find(lines), lines.size(), std::string());
  return out;
}

TEST(Slots, TheShippedCompositionResolves) {
  EXPECT_EQ(slot_error(kPipeline), "");
}

TEST(Slots, MissingSectionNamesTheOwnerPosition) {
  // Remove [weighting] but keep line numbers of what precedes it.
  const std::string msg = slot_error(without(kPipeline, "[weighting]\n  type = \"dipole_sigmoid\"\n"));
  EXPECT_EQ(
      msg.rfind("slots.toml:5:1: the pipeline has no [weighting] table, but a weighting is needed there", 0),
      0u)
      << msg;
  EXPECT_NE(msg.find("slot 'weighting' of algorithm 'dipole'"), std::string::npos) << msg;
}

TEST(Slots, MissingNestedSectionNamesItsParent) {
  const std::string msg = slot_error(without(kPipeline, "[sampler.inner]\ntype = \"guided_euler\"\n"));
  EXPECT_EQ(
      msg.rfind("slots.toml:15:1: the pipeline has no [sampler.inner] table, but a sampler is needed", 0), 0u)
      << msg;
  EXPECT_NE(msg.find("sampler 'best_of_n'"), std::string::npos) << msg;
}

TEST(Slots, WrongKindNamesTheTypeKey) {
  std::string text = kPipeline;
  text.replace(text.find("\"dipole_sigmoid\""), 16, "\"iql\"");
  const std::string msg = slot_error(text);
  EXPECT_EQ(
      msg.rfind("slots.toml:13:3: [weighting] type 'iql' is a critic, but a weighting is needed there", 0),
      0u)
      << msg;
}

TEST(Slots, UnmetRequirementNamesTheTypeKey) {
  // A one-row weighting where DIPOLE needs (w⁺, w⁻).
  std::string msg = slot_error(kPipeline, {"weighting.type=\"exponential\"", "weighting.neg=\"none\""});
  EXPECT_EQ(
      msg.rfind("--set weighting.type=\"exponential\": [weighting] type 'exponential' provides rows = 1, "
                "but algorithm 'dipole'",
                0),
      0u)
      << msg;
  EXPECT_NE(msg.find("needs rows = 2"), std::string::npos) << msg;
  // A critic without a value function gives no advantage.
  std::string text = kPipeline;
  text.replace(text.find("\"iql\""), 5, "\"td\"");
  msg = slot_error(text);
  EXPECT_EQ(msg.rfind("slots.toml:7:1: [critic] type 'td' does not provide 'advantage'", 0), 0u) << msg;
  // One ε-network where DIPOLE needs two members.
  text = kPipeline;
  const std::string flow = "type = \"flow_mlp\"\nhidden_dims = [8]";
  text.replace(text.find(flow), flow.size(), "type = \"ddpm_mlp\"\nwidth = 8");
  msg = slot_error(text);
  EXPECT_EQ(msg.rfind("slots.toml:10:1: [denoiser] type 'ddpm_mlp' provides members = 1", 0), 0u) << msg;
  EXPECT_NE(msg.find("needs members = 2"), std::string::npos) << msg;
  // The requirement follows the owner's keys: the shared-network ablation needs one member, two labels.
  EXPECT_EQ(slot_error(kPipeline, {"algorithm.shared_network=true"}), "");
}

TEST(Slots, CheckedBeforeAnyConstructorRuns) {
  // The dataset file does not exist: constructing it would fail with a DataError, but the slot error
  // comes first.
  std::string text = kPipeline;
  const std::string bandit = "type = \"bandit\"\nsize = 500\n";
  text.replace(text.find(bandit), bandit.size(), "type = \"npz_transitions\"\npath = \"/nonexistent.npz\"\n");
  text.replace(text.find("\"dipole_sigmoid\""), 16, "\"iql\"");
  try {
    build_run(registry(), config::Pipeline::parse(text, "slots.toml"));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("slots.toml:13:3: [weighting] type 'iql' is a critic"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dipole::learning
