// The online phase (docs/online.md): replay-buffer semantics, the step counter and phase switch,
// exploration acting, and bit-identical resumption inside the phase.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dipole/core/checkpoint.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/files.hpp"
#include "dipole/core/online.hpp"
#include "dipole/core/replay_buffer.hpp"
#include "dipole/core/trainer.hpp"
#include "support/build_run.hpp"
#include "support/run_files.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;
using test::fresh_dir;
using test::options;
using test::without_time;

// ---- Replay buffer ----------------------------------------------------------------------------------

/// n rows whose reward is the row index (so a sampled row names its origin); obs [1], act [1].
Batch numbered_rows(std::int64_t n) {
  Batch b;
  b.observations = at::arange(n, at::kFloat).reshape({n, 1});
  b.actions = at::zeros({n, 1});
  b.rewards = at::arange(n, at::kFloat);
  b.next_observations = b.observations;
  b.masks = at::zeros({n});
  b.terminals = at::ones({n});
  return b;
}

/// Online transition number k (1-based): reward 100 + k.
void add_online(ReplayBuffer& buffer, int k, double mask = 1.0, double terminal = 0.0) {
  buffer.add(at::full({1}, static_cast<float>(k)), at::full({1}, 0.5F), 100.0 + k, at::zeros({1}), mask,
             terminal);
}

float reward_at(const ReplayBuffer& buffer, std::int64_t slot) {
  return buffer.rows(at::full({1}, slot, at::kLong)).rewards[0].item<float>();
}

TEST(ReplayBuffer, SmallBufferSizeGivesCapacityNPlusOne) {  // protocol test 1 (docs/online.md)
  for (const auto rule : {SizeRule::Fql, SizeRule::Count}) {
    ReplayBuffer buffer(ReplayBuffer::fql_capacity(3, 5), rule, 1, 1, at::kCPU);
    buffer.fill(numbered_rows(5));
    EXPECT_EQ(buffer.capacity(), 6);
    EXPECT_EQ(buffer.size(), 5);
    EXPECT_EQ(buffer.pointer(), 5);
    add_online(buffer, 1);
    EXPECT_EQ(buffer.pointer(), 0);
    EXPECT_EQ(buffer.size(), rule == SizeRule::Fql ? 5 : 6);
    EXPECT_EQ(reward_at(buffer, 5), 101.0F);
    add_online(buffer, 2);
    EXPECT_EQ(reward_at(buffer, 0), 102.0F);  // the second online transition overwrote dataset row 0
    EXPECT_EQ(buffer.size(), rule == SizeRule::Fql ? 5 : 6);
  }
}

TEST(ReplayBuffer, RingWrapsAndFqlNeverSamplesTheLastSlot) {  // protocol test 2
  for (const auto rule : {SizeRule::Fql, SizeRule::Count}) {
    ReplayBuffer buffer(ReplayBuffer::fql_capacity(10, 5), rule, 1, 1, at::kCPU);
    buffer.fill(numbered_rows(5));
    EXPECT_EQ(buffer.capacity(), 10);
    for (int k = 1; k <= 4; ++k) {
      add_online(buffer, k);
      EXPECT_EQ(buffer.size(), 5 + k);
    }
    add_online(buffer, 5);
    EXPECT_EQ(reward_at(buffer, 9), 105.0F);
    EXPECT_EQ(buffer.pointer(), 0);
    EXPECT_EQ(buffer.size(), rule == SizeRule::Fql ? 9 : 10);
    add_online(buffer, 6);
    add_online(buffer, 7);
    EXPECT_EQ(reward_at(buffer, 0), 106.0F);
    EXPECT_EQ(reward_at(buffer, 1), 107.0F);
    EXPECT_EQ(reward_at(buffer, 2), 2.0F);
    at::Generator gen = at::detail::createCPUGenerator(1);
    const at::Tensor r = buffer.sample(20000, gen).rewards;
    const bool row9_seen = (r == 105.0F).any().item<bool>();
    EXPECT_EQ(row9_seen, rule == SizeRule::Count) << "row 9 is sampled only under the count rule";
  }
}

TEST(ReplayBuffer, SamplingIsUniformOverDatasetAndOnlineRows) {
  ReplayBuffer buffer(ReplayBuffer::fql_capacity(2000, 300), SizeRule::Fql, 1, 1, at::kCPU);
  buffer.fill(numbered_rows(300));
  for (int k = 1; k <= 100; ++k) add_online(buffer, k);
  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor a = buffer.sample(200000, gen).actions;  // dataset rows have action 0, online rows 0.5
  const double online_fraction = (a > 0.25F).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(online_fraction, 100.0 / 400.0, 0.005);  // k / (N + k); binomial sd ≈ 0.001
}

TEST(ReplayBuffer, StateRoundTripRestoresEverySlot) {
  ReplayBuffer a(ReplayBuffer::fql_capacity(7, 5), SizeRule::Fql, 1, 1, at::kCPU);
  a.fill(numbered_rows(5));
  for (int k = 1; k <= 9; ++k) add_online(a, k, k % 2, 1.0);  // wraps: overwrites dataset rows
  ReplayBuffer b(ReplayBuffer::fql_capacity(7, 5), SizeRule::Fql, 1, 1, at::kCPU);
  b.fill(numbered_rows(5));
  b.load_state(a.state());
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.pointer(), b.pointer());
  EXPECT_EQ(a.added(), b.added());
  const at::Tensor all = at::arange(a.capacity(), at::kLong);
  const Batch x = a.rows(all), y = b.rows(all);
  EXPECT_TRUE(at::equal(x.observations, y.observations));
  EXPECT_TRUE(at::equal(x.rewards, y.rewards));
  EXPECT_TRUE(at::equal(x.masks, y.masks));
  EXPECT_TRUE(at::equal(x.terminals, y.terminals));
  ReplayBuffer other(ReplayBuffer::fql_capacity(20, 5), SizeRule::Fql, 1, 1, at::kCPU);
  other.fill(numbered_rows(5));
  EXPECT_THROW(other.load_state(a.state()), DataError);
}

// ---- A deterministic multi-step environment ---------------------------------------------------------

/// x ← x + a/2 from x₀ = (seed mod 5)/10; reward −|x − 0.5|; terminated (success) when |x − 0.5| < 0.05;
/// truncated after 4 steps. Deterministic, so the online phase can replay it on resume.
class WalkEnvironment final : public Environment {
 public:
  Spec spec() const override {
    Spec s;
    s.obs_dim = 1;
    s.action_dim = 1;
    s.action_low = {-1.0};
    s.action_high = {1.0};
    return s;
  }
  std::int64_t max_episode_steps() const override { return 4; }
  at::Tensor reset(std::uint64_t seed) override {
    x_ = static_cast<float>(seed % 5) / 10.0F;
    t_ = 0;
    return at::full({1}, x_);
  }
  StepResult step(const at::Tensor& action) override {
    x_ += 0.5F * action.reshape({-1})[0].item<float>();
    ++t_;
    StepResult r;
    r.observation = at::full({1}, x_);
    r.reward = -std::abs(x_ - 0.5);
    r.terminated = std::abs(x_ - 0.5) < 0.05;
    r.success = r.terminated;
    r.truncated = !r.terminated && t_ >= 4;
    return r;
  }

 private:
  float x_ = 0;
  int t_ = 0;
};

const char* kPipeline = R"(
[trainer]
steps = 6
batch_size = 16
seed = 5
log_interval = 1
checkpoint_interval = 5

[online]
steps = 14
buffer_size = 20
envs = 2

[dataset]
type = "finetune_bandit"
size = 12

[environment]
type = "finetune_bandit"

[eval]
episodes = 4
parallel = 2

[algorithm]
type = "flow_bc"

[denoiser]
type = "flow_mlp"
hidden_dims = [16, 16]

[sampler]
type = "euler"
steps = 3
)";

dipole::Run make_run(const std::vector<std::string>& overrides = {}, bool walk = true) {
  dipole::Run run = test::build_run(Registry::with_default_plugins(),
                                    config::Pipeline::parse(kPipeline, "online.toml", overrides));
  if (walk) run.make_environment = [] { return std::make_shared<WalkEnvironment>(); };
  return run;
}

std::vector<std::string> lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// The value of `key` in a jsonl row (as text).
std::string field(const std::string& row, const std::string& key) {
  const auto pos = row.find("\"" + key + "\": ");
  if (pos == std::string::npos) return "";
  const auto start = pos + key.size() + 4;
  const auto end = row.find_first_of(",}", start);
  return row.substr(start, end - start);
}

// ---- Flags of online rows ---------------------------------------------------------------------------

TEST(OnlinePhase, StoresTerminalAndMaskOfOnlineRows) {  // protocol test 3
  dipole::Run run = make_run({"online.envs=1"});
  OnlinePhase phase(run);
  at::Generator gen = at::detail::createCPUGenerator(0);
  const std::int64_t n = phase.buffer().initial_rows();
  EXPECT_EQ(n, 12);
  EXPECT_EQ(phase.buffer().capacity(), 20);
  for (int i = 0; i < 8; ++i) phase.next_batch(i, gen);
  EXPECT_EQ(phase.buffer().added(), 8);
  const Batch rows = phase.buffer().rows(at::arange(n, n + 8, at::kLong));
  // Replay the episodes: every row's flags follow from its own outcome.
  int truncations = 0, successes = 0, inner = 0, t = 0;
  for (int i = 0; i < 8; ++i) {
    const float next = rows.next_observations[i][0].item<float>();
    const bool success = std::abs(next - 0.5F) < 0.05F;
    ++t;
    const float mask = rows.masks[i].item<float>(), terminal = rows.terminals[i].item<float>();
    if (success) {
      EXPECT_EQ(mask, 0.0F);
      EXPECT_EQ(terminal, 1.0F);
      ++successes;
      t = 0;
    } else if (t == 4) {
      EXPECT_EQ(mask, 1.0F) << "a time-limit end keeps mask 1";
      EXPECT_EQ(terminal, 1.0F);
      ++truncations;
      t = 0;
    } else {
      EXPECT_EQ(mask, 1.0F);
      EXPECT_EQ(terminal, 0.0F);
      ++inner;
    }
  }
  EXPECT_GT(truncations + successes, 0);
  EXPECT_GT(inner, 0);
}

TEST(OnlinePhase, BalancedSamplingTakesHalfFromEachSourceInOrder) {  // protocol test 7
  dipole::Run run = make_run({"online.balanced_sampling=true", "online.envs=1", "trainer.batch_size=8"});
  OnlinePhase phase(run);
  EXPECT_EQ(phase.buffer().initial_rows(), 0);
  at::Generator gen = at::detail::createCPUGenerator(0);
  const Batch b = phase.next_batch(0, gen);
  ASSERT_EQ(b.actions.size(0), 8);
  // First half: dataset rows (observation 1, terminal 1); second half: copies of the one online row.
  const Batch online_row = phase.buffer().rows(at::zeros({1}, at::kLong));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(b.observations[i][0].item<float>(), 1.0F);
    EXPECT_EQ(b.masks[i].item<float>(), 0.0F);
  }
  for (int i = 4; i < 8; ++i) {
    EXPECT_TRUE(at::equal(b.observations[i], online_row.observations[0]));
    EXPECT_TRUE(at::equal(b.actions[i], online_row.actions[0]));
  }
}

TEST(OnlinePhase, DatasetWithoutEpisodesIsAClearError) {
  const std::string text = R"(
[trainer]
steps = 1
[online]
steps = 1
[dataset]
type = "npz_transitions"
path = "/nonexistent.npz"
[environment]
type = "finetune_bandit"
[algorithm]
type = "flow_bc"
[denoiser]
type = "flow_mlp"
[sampler]
type = "euler"
)";
  // The online section needs an environment; without one the pipeline is rejected at the key.
  const std::string no_env = R"(
[trainer]
steps = 1
[online]
steps = 3
[dataset]
type = "finetune_bandit"
[algorithm]
type = "flow_bc"
[denoiser]
type = "flow_mlp"
[sampler]
type = "euler"
)";
  try {
    test::build_run(Registry::with_default_plugins(), config::Pipeline::parse(no_env, "noenv.toml"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("online.steps"), std::string::npos) << e.what();
  }
  try {
    test::build_run(
        Registry::with_default_plugins(),
        config::Pipeline::parse(std::string(kPipeline) + "\n", "x.toml", {"online.size_rule=ring"}));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("size_rule"), std::string::npos) << e.what();
  }
  (void)text;
}

// ---- Counter, phases, logs --------------------------------------------------------------------------

TEST(OnlineTrainer, CounterPhaseSwitchAndEvaluationSchedule) {  // protocol test 4
  const fs::path dir = fresh_dir("counter");
  dipole::Run run = make_run({"trainer.steps=3", "online.steps=3", "trainer.eval_interval=2", "online.envs=1",
                              "trainer.checkpoint_interval=0"});
  const TrainResult r = train(run, options(dir));
  EXPECT_EQ(r.steps_done, 6);
  const auto rows = lines(dir / "metrics.jsonl");
  ASSERT_EQ(rows.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(field(rows[i], "step"), std::to_string(i + 1));
    EXPECT_EQ(field(rows[i], "phase"), i < 3 ? "\"offline\"" : "\"online\"") << rows[i];
  }
  // One exploration step precedes each online update, starting with the first.
  EXPECT_EQ(field(rows[3], "online/env_steps"), "1");
  EXPECT_EQ(field(rows[5], "online/env_steps"), "3");
  EXPECT_EQ(field(rows[5], "online/buffer_size"), "15");
  EXPECT_EQ(field(rows[2], "online/env_steps"), "");
  // Evaluations: every 2 steps, after the last offline update, and after the last update.
  const auto evals = lines(dir / "eval.jsonl");
  ASSERT_EQ(evals.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"2", "\"offline\""}, {"3", "\"offline\""}, {"4", "\"online\""}, {"6", "\"online\""}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(field(evals[i], "step"), expected[i].first);
    EXPECT_EQ(field(evals[i], "phase"), expected[i].second);
  }
  // The csv has the phase column after step and the online columns reserved in its header.
  const auto csv = lines(dir / "metrics.csv");
  EXPECT_EQ(csv[0].rfind("step,phase,", 0), 0u) << csv[0];
  EXPECT_NE(csv[0].find("online/env_steps"), std::string::npos);
  EXPECT_EQ(csv[1].rfind("1,offline,", 0), 0u) << csv[1];
  EXPECT_EQ(csv[6].rfind("6,online,", 0), 0u) << csv[6];
  fs::remove_all(dir);
}

TEST(OnlineTrainer, UpdatesPerStepSpacesTheExplorationSteps) {
  const fs::path dir = fresh_dir("utd");
  dipole::Run run = make_run({"trainer.steps=2", "online.steps=5", "online.updates_per_step=2",
                              "online.envs=3", "trainer.checkpoint_interval=0"});
  train(run, options(dir));
  const auto rows = lines(dir / "metrics.jsonl");
  ASSERT_EQ(rows.size(), 7u);
  // Online updates 0..4: exploration before updates 0, 2, 4, three instances each.
  EXPECT_EQ(field(rows[2], "online/env_steps"), "3");
  EXPECT_EQ(field(rows[3], "online/env_steps"), "3");
  EXPECT_EQ(field(rows[4], "online/env_steps"), "6");
  EXPECT_EQ(field(rows[6], "online/env_steps"), "9");
  fs::remove_all(dir);
}

TEST(OnlineTrainer, OfflineRunsKeepTheirLogsWithoutPhase) {
  const fs::path dir = fresh_dir("offline");
  dipole::Run run = make_run({"online.steps=0"});
  EXPECT_FALSE(run.online.enabled());
  train(run, options(dir));
  const auto rows = lines(dir / "metrics.jsonl");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(field(rows[0], "phase"), "");
  fs::remove_all(dir);
}

// ---- Resumption -------------------------------------------------------------------------------------

void expect_same(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, tensor] : a) {
    ASSERT_TRUE(b.count(key)) << key;
    const at::Tensor x = tensor.contiguous(), y = b.at(key).contiguous();
    ASSERT_EQ(x.sizes(), y.sizes()) << key;
    ASSERT_EQ(x.scalar_type(), y.scalar_type()) << key;
    EXPECT_EQ(std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()), 0) << "differs: " << key;
  }
}

void expect_same_runs(const fs::path& a, const fs::path& b) {
  const auto x = load_checkpoint((a / "checkpoints" / "latest.npz").string());
  const auto y = load_checkpoint((b / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(x.step, y.step);
  expect_same(x.algorithm, y.algorithm);
  expect_same(x.online, y.online);
  EXPECT_TRUE(at::equal(x.data_generator, y.data_generator));
  EXPECT_TRUE(at::equal(x.algorithm_generator, y.algorithm_generator));
  EXPECT_EQ(without_time(a / "metrics.jsonl"), without_time(b / "metrics.jsonl"));
  EXPECT_EQ(read_text((a / "eval.jsonl").string()), read_text((b / "eval.jsonl").string()));
}

TEST(OnlineTrainer, ResumedRunEqualsUninterruptedRunInsideTheOnlinePhase) {
  const fs::path whole = fresh_dir("whole");
  {
    dipole::Run run = make_run();
    EXPECT_EQ(train(run, options(whole)).steps_done, 20);
  }
  // Stops inside the offline phase, exactly at the switch, and twice inside the online phase
  // (mid-episode, between checkpoints); each stop is resumed by a fresh run as a new process would.
  for (const std::vector<std::int64_t>& stops :
       {std::vector<std::int64_t>{4, 9, 17}, std::vector<std::int64_t>{6, 13}}) {
    const fs::path split = fresh_dir("split");
    for (const auto stop : stops) {
      dipole::Run run = make_run();
      EXPECT_EQ(train(run, options(split, stop)).steps_done, stop);
    }
    dipole::Run last = make_run();
    const TrainResult r = train(last, options(split));
    EXPECT_EQ(r.resumed_from, stops.back());
    EXPECT_EQ(r.steps_done, 20);
    expect_same_runs(whole, split);
    fs::remove_all(split);
  }
  const auto saved = load_checkpoint((whole / "checkpoints" / "latest.npz").string());
  EXPECT_EQ(saved.online.at("env_steps").item<std::int64_t>(), 28);  // 14 online updates × 2 instances
  fs::remove_all(whole);
}

TEST(OnlineTrainer, ResumeDetectsANonDeterministicEnvironment) {
  const fs::path dir = fresh_dir("nondet");
  {
    dipole::Run run = make_run();
    train(run, options(dir, 9));
  }
  // Another environment law: the replayed episode cannot reach the saved observation.
  struct Shifted final : public Environment {
    WalkEnvironment inner;
    Spec spec() const override { return inner.spec(); }
    std::int64_t max_episode_steps() const override { return 4; }
    at::Tensor reset(std::uint64_t seed) override { return inner.reset(seed + 1); }
    StepResult step(const at::Tensor& a) override { return inner.step(a); }
  };
  dipole::Run run = make_run();
  run.make_environment = [] { return std::make_shared<Shifted>(); };
  try {
    train(run, options(dir));
    FAIL() << "resumed with a different environment";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("not deterministic"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// ---- Exploration versus evaluation acting -----------------------------------------------------------

TEST(Acting, ExistingAlgorithmsExploreWithTheirEvaluationRule) {
  // docs/algorithms.md: dipole, cfgrl, fql and flow_bc sample stochastically at evaluation already, and
  // explore with the same rule (for DIPOLE at the online phase's ω / N_c, passed as options).
  for (const char* name :
       {"bandit_dipole.toml", "bandit_cfgrl.toml", "bandit_fql.toml", "bandit_flow_bc.toml"}) {
    SCOPED_TRACE(name);
    dipole::Run run =
        test::build_run(Registry::with_default_plugins(),
                        config::Pipeline::load(std::string(DIPOLE_SOURCE_DIR) + "/configs/" + name,
                                               {"trainer.steps=2", "trainer.threads=1"}));
    at::Generator g0 = at::detail::createCPUGenerator(11);
    Batch batch = run.dataset->sample(64, g0);
    run.algorithm->update(batch, g0, false);
    const at::Tensor obs = run.dataset->sample(64, g0).observations;
    ActOptions evaluate, explore;
    explore.mode = ActMode::Explore;
    at::Generator a = at::detail::createCPUGenerator(5), b = at::detail::createCPUGenerator(5);
    const at::Tensor x = run.algorithm->act(obs, evaluate, a), y = run.algorithm->act(obs, explore, b);
    EXPECT_TRUE(at::equal(x, y));
    EXPECT_LE(y.abs().max().item<float>(), 1.0F);
    // Stochastic: fresh noise gives other actions.
    const at::Tensor z = run.algorithm->act(obs, explore, b);
    EXPECT_FALSE(at::equal(y, z));
  }
}

}  // namespace
}  // namespace dipole
