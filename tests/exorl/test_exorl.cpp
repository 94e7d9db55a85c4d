// The exorl dataset and recorder with the dmc walker, through `dipole collect` and the registry:
// round trip, relabelled = recorded rewards, episode boundaries, the reward cache, corrupt files,
// determinism, extending and interrupting a collection, and collect → train → eval through the CLI.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "dipole/core/config.hpp"
#include "dipole/core/registry.hpp"
#include "dipole/dataset.hpp"
#include "dipole/sdk/npz.hpp"
#include "support/run_command.hpp"

#ifdef DIPOLE_HAVE_MUJOCO

namespace dipole {
namespace {

namespace fs = std::filesystem;

using Result = dipole::test::CommandResult;
using dipole::test::dipole_cli;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

at::Tensor member(const fs::path& file, const std::string& key) {
  return npz::to_tensor(npz::read_npz_member(file.string(), key));
}

class Exorl : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_exorl_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "collect.toml")
        << "[collect]\nepisodes = 3\nseed = 5\nparallel = 2\nmax_steps = 40\n"
           "[environment]\ntype = \"dmc\"\ndomain = \"walker\"\ntask = \"stand\"\n"
           "[recorder]\ntype = \"exorl\"\ndomain = \"walker\"\n"
           "algorithm = \"random\"\n";
    registry_.load_library(std::string(DIPOLE_BINARY_DIR) + "/lib/dipole/plugins/libdipole_exorl.so");
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// `dipole collect` into <dir>/<root>; `extra` holds more flags (--set ..., --episodes N).
  void collect(const std::string& root, const std::string& extra = "") {
    const Result r = dipole_cli("collect " + (dir_ / "collect.toml").string() +
                                " --set recorder.root=" + (dir_ / root).string() + " " + extra);
    ASSERT_EQ(r.code, 0) << r.output;
  }
  fs::path buffer(const std::string& root) const { return dir_ / root / "walker" / "random" / "buffer"; }

  std::shared_ptr<Dataset> load(const std::string& root, const std::string& keys = "task = \"stand\"\n") {
    auto pipeline =
        config::Pipeline::parse("[dataset]\ntype = \"exorl\"\nroot = \"" + (dir_ / root).string() +
                                    "\"\ndomain = \"walker\"\nalgorithm = \"random\"\n" + keys,
                                "test.toml");
    const auto params = pipeline.validate("dataset", "exorl", registry_.info(Kind::Dataset, "exorl").schema);
    BuildContext ctx;
    ctx.section = "dataset";
    return std::dynamic_pointer_cast<Dataset>(registry_.create(Kind::Dataset, "exorl", params, ctx));
  }

  /// The message of the exception loading `root` throws ("" if it loads).
  std::string load_error(const std::string& root, const std::string& keys = "task = \"stand\"\n") {
    try {
      load(root, keys);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  Registry registry_;
};

TEST_F(Exorl, RoundTripOfACollectedDirectory) {
  collect("data");
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(fs::exists(buffer("data") / ("episode_" + std::to_string(i) + "_40.npz")));
  const fs::path file = buffer("data") / "episode_1_40.npz";
  EXPECT_EQ(npz::list_npz(file.string()),
            (std::vector<std::string>{"action", "discount", "observation", "physics", "reward"}));
  const at::Tensor obs = member(file, "observation"), act = member(file, "action"),
                   rew = member(file, "reward"), discount = member(file, "discount"),
                   physics = member(file, "physics");
  EXPECT_EQ(obs.sizes(), (at::IntArrayRef{41, 24}));
  EXPECT_EQ(physics.scalar_type(), at::kDouble);
  EXPECT_EQ(physics.sizes(), (at::IntArrayRef{41, 18}));
  EXPECT_TRUE(act[0].eq(0).all().item<bool>());  // reset row: zero action, reward 0, discount 1
  EXPECT_EQ(rew[0][0].item<float>(), 0.0F);
  EXPECT_TRUE(discount.eq(1).all().item<bool>());
  // rootz = rootx = 0 at reset (plugins/benchmarks/dmc/README.md, "walker")
  EXPECT_EQ(physics[0][0].item<double>(), 0.0);
  EXPECT_EQ(physics[0][1].item<double>(), 0.0);
  EXPECT_TRUE(physics[0].slice(0, 9).eq(0).all().item<bool>());  // velocities 0
  EXPECT_EQ(obs[0][14].item<float>(), 1.3F);                     // torso height 1.3 at reset
  EXPECT_TRUE(act.abs().le(1).all().item<bool>());
  EXPECT_GT(act.slice(0, 1).std().item<float>(), 0.4F);  // uniform on [-1, 1]: std 0.577

  const auto data = load("data");
  EXPECT_EQ(data->size(), 3 * 40);
  EXPECT_EQ(data->num_episodes(), 3);
  EXPECT_EQ(data->spec().obs_dim, 24);
  EXPECT_EQ(data->spec().action_dim, 6);
  const Batch e = data->episode(1);
  EXPECT_TRUE(e.observations.equal(obs.slice(0, 0, 40)));
  EXPECT_TRUE(e.next_observations.equal(obs.slice(0, 1, 41)));
  EXPECT_TRUE(e.actions.equal(act.slice(0, 1, 41)));
  EXPECT_TRUE(e.masks.eq(1).all().item<bool>());
  EXPECT_EQ(e.terminals.sum().item<float>(), 1.0F);
  EXPECT_EQ(e.terminals[39].item<float>(), 1.0F);
}

TEST_F(Exorl, RelabelledRewardsEqualTheRecordedOnes) {
  // Two full 1000-step walker stand episodes (the walker falls: varied states and rewards).
  collect("data", "--set collect.max_steps=1000 --episodes 2");  // the time limit
  const auto data = load("data");
  ASSERT_EQ(data->size(), 2000);
  for (int k = 0; k < 2; ++k) {
    const at::Tensor recorded =
        member(buffer("data") / ("episode_" + std::to_string(k) + "_1000.npz"), "reward")
            .slice(0, 1)
            .reshape({-1});
    const at::Tensor relabelled = data->episode(k).rewards;
    EXPECT_TRUE(relabelled.equal(recorded))
        << "max |diff| " << (relabelled - recorded).abs().max().item<float>();
    EXPECT_GT(recorded.max().item<float>() - recorded.min().item<float>(), 0.05F);  // not a constant
    EXPECT_TRUE(recorded.ge(0).all().item<bool>() && recorded.le(1).all().item<bool>());
  }
  // Another task from the same states gives other rewards: walk ≤ stand · (5·move + 1)/6 < stand.
  const auto walk = load("data", "task = \"walk\"\ncache = false\n");
  EXPECT_FALSE(walk->episode(0).rewards.equal(data->episode(0).rewards));
  EXPECT_TRUE(walk->episode(0).rewards.le(data->episode(0).rewards).all().item<bool>());
}

TEST_F(Exorl, RelabellingReproducesEveryDomainsCollectionReward) {
  // docs/exorl.md, "Reward relabelling": the rewards depend on position and velocity quantities only, so
  // recomputing them from the stored states gives the online rewards (walker, cheetah: bit-identical;
  // quadruped within 1e-15).
  for (const auto& [domain, task] : std::vector<std::pair<std::string, std::string>>{
           {"cheetah", "run"}, {"quadruped", "walk"}, {"jaco", "reach_top_left"}}) {
    const Result r = dipole_cli(
        "collect " + (dir_ / "collect.toml").string() + " --episodes 2 --set collect.max_steps=200" +
        " --set environment.domain=" + domain + " --set environment.task=" + task +
        " --set recorder.domain=" + domain + " --set recorder.root=" + (dir_ / "d").string());
    ASSERT_EQ(r.code, 0) << r.output;
    auto pipeline = config::Pipeline::parse("[dataset]\ntype = \"exorl\"\nroot = \"" + (dir_ / "d").string() +
                                                "\"\ndomain = \"" + domain +
                                                "\"\nalgorithm = \"random\"\ntask = \"" + task + "\"\n",
                                            "test.toml");
    BuildContext ctx;
    const auto data = std::dynamic_pointer_cast<Dataset>(registry_.create(
        Kind::Dataset, "exorl",
        pipeline.validate("dataset", "exorl", registry_.info(Kind::Dataset, "exorl").schema), ctx));
    ASSERT_EQ(data->size(), 400) << domain;
    for (int k = 0; k < 2; ++k) {
      const fs::path file =
          dir_ / "d" / domain / "random" / "buffer" / ("episode_" + std::to_string(k) + "_200.npz");
      const at::Tensor recorded = member(file, "reward").slice(0, 1).reshape({-1});
      const at::Tensor relabelled = data->episode(k).rewards;
      EXPECT_TRUE(relabelled.equal(recorded)) << domain << " episode " << k << ": max |diff| "
                                              << (relabelled - recorded).abs().max().item<float>();
    }
  }
}

TEST_F(Exorl, NoTransitionCrossesTwoEpisodes) {
  collect("data");
  const auto data = load("data");
  std::vector<at::Tensor> obs, act;
  for (int k = 0; k < 3; ++k) {
    obs.push_back(member(buffer("data") / ("episode_" + std::to_string(k) + "_40.npz"), "observation"));
    act.push_back(member(buffer("data") / ("episode_" + std::to_string(k) + "_40.npz"), "action"));
  }
  for (int k = 0; k < 2; ++k) {
    const Batch e = data->episode(k);
    EXPECT_TRUE(e.next_observations[39].equal(obs[k][40]));      // episode k's last row ...
    EXPECT_FALSE(e.next_observations[39].equal(obs[k + 1][0]));  // ... not episode k+1's reset row
    EXPECT_TRUE(data->episode(k + 1).observations[0].equal(obs[k + 1][0]));
  }
  // Every sampled transition is (row i, row i + 1) of one file, with the action and terminal flag of
  // row i + 1.
  const at::Tensor all_obs =
      at::cat({obs[0].slice(0, 0, 40), obs[1].slice(0, 0, 40), obs[2].slice(0, 0, 40)});
  const at::Tensor all_next = at::cat({obs[0].slice(0, 1), obs[1].slice(0, 1), obs[2].slice(0, 1)});
  const at::Tensor all_act = at::cat({act[0].slice(0, 1), act[1].slice(0, 1), act[2].slice(0, 1)});
  at::Generator gen = at::detail::createCPUGenerator(3);
  const Batch b = data->sample(500, gen);
  for (std::int64_t i = 0; i < 500; ++i) {
    const at::Tensor match = all_obs.eq(b.observations[i]).all(1).nonzero();
    ASSERT_EQ(match.size(0), 1);
    const std::int64_t j = match[0][0].item<std::int64_t>();
    ASSERT_TRUE(b.next_observations[i].equal(all_next[j])) << "transition " << j;
    ASSERT_TRUE(b.actions[i].equal(all_act[j]));
    ASSERT_EQ(b.terminals[i].item<float>(), j % 40 == 39 ? 1.0F : 0.0F);
  }
}

TEST_F(Exorl, CacheIsUsedWhileTheFilesAreUnchanged) {
  collect("data");
  const fs::path cache = dir_ / "data" / "walker" / "random" / "stand.rewards.npz";
  const at::Tensor fresh = load("data")->episode(2).rewards;
  ASSERT_TRUE(fs::exists(cache));
  const auto arrays = npz::read_npz(cache.string());
  const auto& f = arrays.at("fingerprint");
  const std::string key(f.data.begin(), f.data.end());
  EXPECT_NE(key.find("walker stand files=3"), std::string::npos) << key;
  EXPECT_EQ(arrays.at("rewards").shape, (std::vector<std::int64_t>{3 * 41}));
  EXPECT_TRUE(load("data")->episode(2).rewards.equal(fresh));  // a hit gives the same rewards

  // Doctor the cached values under the same fingerprint: a load now returns them, so it used the cache.
  const at::Tensor doctored = npz::to_tensor(arrays.at("rewards")) + 1.0F;
  npz::write_npz(cache.string(), {{"rewards", npz::from_tensor(doctored)}, {"fingerprint", f}}, false);
  EXPECT_TRUE(load("data")->episode(2).rewards.equal(fresh + 1.0F));
  EXPECT_TRUE(load("data", "task = \"stand\"\ncache = false\n")->episode(2).rewards.equal(fresh));
  // Another file list (max_episodes) or a touched file invalidates it; the rebuilt cache is correct.
  EXPECT_TRUE(load("data", "task = \"stand\"\nmax_episodes = 2\n")
                  ->episode(1)
                  .rewards.equal(load("data", "task = \"stand\"\ncache = false\n")->episode(1).rewards));
  npz::write_npz(cache.string(), {{"rewards", npz::from_tensor(doctored)}, {"fingerprint", f}}, false);
  const fs::path touched = buffer("data") / "episode_0_40.npz";
  fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(5));
  EXPECT_TRUE(load("data")->episode(2).rewards.equal(fresh));
  EXPECT_TRUE(load("data")->episode(2).rewards.equal(fresh));
}

TEST_F(Exorl, ProblemsNameTheFileAndWhatWasExpected) {
  // Missing directory: where the official data comes from and how to generate local data.
  const std::string missing = load_error("nowhere", "task = \"stand\"\n");
  EXPECT_NE(missing.find("https://dl.fbaipublicfiles.com/exorl/walker/random.zip"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find("dipole collect"), std::string::npos) << missing;
  EXPECT_NE(missing.find("test.toml"), std::string::npos) << missing;  // the key's position

  collect("data");
  const std::string task = load_error("data", "task = \"fly\"\n");
  EXPECT_NE(task.find("walker/stand"), std::string::npos) << task;  // the valid names

  // A file of another domain (cheetah: 17 observation columns) among walker files; threads = 2 still
  // reports the lowest-index bad file.
  const fs::path bad = buffer("data") / "episode_1_40.npz";
  auto arrays = npz::read_npz(bad.string());
  arrays["observation"] = npz::from_tensor(at::zeros({41, 17}, at::kFloat));
  npz::write_npz(bad.string(), arrays, true);
  const fs::path also_bad = buffer("data") / "episode_2_40.npz";
  auto more = npz::read_npz(also_bad.string());
  more.erase("physics");
  npz::write_npz(also_bad.string(), more, true);
  const std::string width = load_error("data");
  EXPECT_NE(width.find("episode_1_40.npz: 'observation' has shape (41, 17), expected (41, 24)"),
            std::string::npos)
      << width;
  EXPECT_NE(width.find("walker"), std::string::npos) << width;

  // The recorder refuses to extend a directory whose files have another domain's shapes.
  fs::remove(also_bad);
  const Result extend = dipole_cli("collect " + (dir_ / "collect.toml").string() +
                                   " --set recorder.root=" + (dir_ / "data").string() + " --episodes 4");
  EXPECT_EQ(extend.code, 1);
  EXPECT_NE(extend.output.find("episode_1_40.npz: 'observation' has shape (41, 17)"), std::string::npos)
      << extend.output;
}

TEST_F(Exorl, CollectionIsDeterministicWhateverParallel) {
  collect("one", "--set collect.parallel=1");
  collect("four", "--set collect.parallel=4");
  collect("again", "--set collect.parallel=1");
  collect("other_seed", "--seed 6");
  for (int i = 0; i < 3; ++i) {
    const std::string name = "episode_" + std::to_string(i) + "_40.npz";
    const std::string bytes = read_bytes(buffer("one") / name);
    ASSERT_GT(bytes.size(), 1000U);
    EXPECT_EQ(bytes, read_bytes(buffer("four") / name)) << name;
    EXPECT_EQ(bytes, read_bytes(buffer("again") / name)) << name;
    EXPECT_NE(bytes, read_bytes(buffer("other_seed") / name)) << name;
  }
  // Episodes differ from each other (per-episode seeds).
  EXPECT_FALSE(member(buffer("one") / "episode_0_40.npz", "action")
                   .equal(member(buffer("one") / "episode_1_40.npz", "action")));
}

TEST_F(Exorl, ExtendingContinuesTheIndices) {
  collect("split", "--episodes 2");
  ASSERT_FALSE(fs::exists(buffer("split") / "episode_2_40.npz"));
  collect("split", "--episodes 4");
  collect("whole", "--episodes 4");
  for (int i = 0; i < 4; ++i) {
    const std::string name = "episode_" + std::to_string(i) + "_40.npz";
    ASSERT_TRUE(fs::exists(buffer("split") / name)) << name;
    EXPECT_EQ(read_bytes(buffer("split") / name), read_bytes(buffer("whole") / name)) << name;
  }
  const Result again = dipole_cli("collect " + (dir_ / "collect.toml").string() +
                                  " --set recorder.root=" + (dir_ / "split").string() + " --episodes 4");
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.output.find("already holds 4 episodes"), std::string::npos) << again.output;
  // A gap in the indices is refused rather than overwritten or skipped.
  fs::remove(buffer("split") / "episode_1_40.npz");
  const Result gap = dipole_cli("collect " + (dir_ / "collect.toml").string() +
                                " --set recorder.root=" + (dir_ / "split").string() + " --episodes 5");
  EXPECT_EQ(gap.code, 1);
  EXPECT_NE(gap.output.find("episode index 1 is missing"), std::string::npos) << gap.output;
}

TEST_F(Exorl, InterruptedCollectionKeepsWholeEpisodesAndResumes) {
  const std::string config = (dir_ / "collect.toml").string(),
                    root = "recorder.root=" + (dir_ / "cut").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr)) ::_exit(126);
    ::execl(DIPOLE_CLI, DIPOLE_CLI, "collect", config.c_str(), "--set", root.c_str(), "--episodes", "40",
            "--set", "collect.max_steps=100", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  // Ctrl-C once the first episode is on disk (however late that is, the checks below hold).
  for (int i = 0; i < 3000 && !fs::exists(buffer("cut") / "episode_0_100.npz"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_TRUE(WEXITSTATUS(status) == 130 || WEXITSTATUS(status) == 0) << WEXITSTATUS(status);
  std::int64_t kept = 0;
  for (const auto& entry : fs::directory_iterator(buffer("cut"))) {
    EXPECT_EQ(entry.path().extension(), ".npz") << entry.path();  // no temporary files left
    ++kept;
  }
  for (std::int64_t i = 0; i < kept; ++i)  // whole episodes 0 … kept−1, no gap
    EXPECT_TRUE(fs::exists(buffer("cut") / ("episode_" + std::to_string(i) + "_100.npz"))) << i;
  // Rerunning completes the collection: the result equals an uninterrupted one.
  collect("cut", "--episodes 40 --set collect.max_steps=100");
  collect("whole", "--episodes 40 --set collect.max_steps=100");
  for (int i = 0; i < 40; ++i) {
    const std::string name = "episode_" + std::to_string(i) + "_100.npz";
    EXPECT_EQ(read_bytes(buffer("cut") / name), read_bytes(buffer("whole") / name)) << name;
  }
  std::cout << "[ info ] the interrupted run had written " << kept << " of 40 episodes\n";
}

TEST_F(Exorl, CollectConfigurationErrors) {
  const Result help = dipole_cli("collect --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.output.find("usage: dipole collect"), std::string::npos) << help.output;
  std::ofstream(dir_ / "typo.toml")
      << "[collect]\nepisodes = 1\n[environment]\ntype = \"dmc\"\n"
         "[recorder]\ntype = \"exorl\"\ndomain = \"walker\"\n[recoder]\nroot = \"x\"\n";
  const Result typo = dipole_cli("collect " + (dir_ / "typo.toml").string());
  EXPECT_EQ(typo.code, 1);
  EXPECT_NE(typo.output.find("typo.toml:8:1: [recoder]: `dipole collect` reads only"), std::string::npos)
      << typo.output;
  // A cheetah environment with a walker recorder: refused before anything is written.
  const Result mismatch = dipole_cli(
      "collect " + (dir_ / "collect.toml").string() + " --set environment.domain=cheetah" +
      " --set environment.task=run --set collect.max_steps=5 --set recorder.root=" + (dir_ / "m").string());
  EXPECT_EQ(mismatch.code, 1);
  EXPECT_NE(mismatch.output.find("observations of size 17, but domain 'walker' files hold 24"),
            std::string::npos)
      << mismatch.output;
  EXPECT_FALSE(fs::exists(buffer("m") / "episode_0_5.npz"));
}

TEST_F(Exorl, CollectTrainEvalThroughTheCli) {
  collect("data", "--episodes 4 --set collect.max_steps=100");
  std::ofstream(dir_ / "train.toml")
      << "[trainer]\nsteps = 200\nbatch_size = 64\nlog_interval = 100\n"
         "[dataset]\ntype = \"exorl\"\nroot = \""
      << (dir_ / "data").string()
      << "\"\ndomain = \"walker\"\nalgorithm = \"random\"\ntask = \"stand\"\n"
         "[environment]\ntype = \"dmc\"\ndomain = \"walker\"\ntask = \"stand\"\n"
         "[eval]\nepisodes = 2\nparallel = 2\n"
         "[algorithm]\ntype = \"dipole\"\n"
         "[critic]\ntype = \"iql\"\nhidden_dims = [32, 32]\n"
         "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [32, 32]\n"
         "[weighting]\ntype = \"dipole_sigmoid\"\n"
         "[sampler]\ntype = \"guided_euler\"\nsteps = 4\n";
  const fs::path run = dir_ / "run";
  const Result train = dipole_cli("train " + (dir_ / "train.toml").string() + " --out " + run.string());
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_NE(train.output.find("4 episodes, 400 transitions"), std::string::npos) << train.output;
  ASSERT_TRUE(fs::exists(run / "checkpoints" / "latest.npz"));
  const Result eval = dipole_cli("eval " + run.string() + " --omega 0,1 --episodes 2");
  ASSERT_EQ(eval.code, 0) << eval.output;
  std::ifstream csv(run / "eval_sweep.csv");
  std::string header, line;
  std::getline(csv, header);
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    // step,omega,num_candidates,episodes,return_mean,...: walker returns lie in [0, 1000]
    std::vector<std::string> fields;
    for (std::size_t start = 0, end; start <= line.size(); start = end + 1) {
      end = line.find(',', start);
      if (end == std::string::npos) end = line.size();
      fields.push_back(line.substr(start, end - start));
    }
    ASSERT_GE(fields.size(), 5U) << line;
    EXPECT_EQ(fields[0], "200");
    const double ret = std::stod(fields[4]);
    EXPECT_GE(ret, 0.0);
    EXPECT_LE(ret, 1000.0);
  }
  EXPECT_EQ(rows, 2);

  // The trained checkpoint as a collection policy (with noise) writes valid files too.
  collect("from_policy", "--episodes 2 --set collect.policy=" + run.string() +
                             " --set collect.noise_std=0.1 --set recorder.algorithm=dipole");
  const fs::path policy_file = dir_ / "from_policy" / "walker" / "dipole" / "buffer" / "episode_1_40.npz";
  ASSERT_TRUE(fs::exists(policy_file));
  EXPECT_TRUE(member(policy_file, "action").abs().le(1).all().item<bool>());
}

/// Every entry under `root` with its size and modification time, sorted.
std::vector<std::string> listing(const fs::path& root) {
  std::vector<std::string> entries;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto mtime = entry.last_write_time().time_since_epoch().count();
    entries.push_back(fs::relative(entry.path(), root).string() + " " +
                      (entry.is_regular_file() ? std::to_string(entry.file_size()) : "dir") + " " +
                      std::to_string(mtime));
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

TEST_F(Exorl, ConfigResolvesWithoutTouchingTheDataDirectory) {
  // `dipole config` resolves and prints; building the dataset would relabel the rewards and write
  // walker/random/stand.rewards.npz into the data directory (the reward cache, on by default).
  collect("data");
  const std::string pipeline =
      "[trainer]\nsteps = 10\n"
      "[dataset]\ntype = \"exorl\"\nroot = \"" +
      (dir_ / "data").string() +
      "\"\ndomain = \"walker\"\nalgorithm = \"random\"\ntask = \"stand\"\n"
      "[environment]\ntype = \"dmc\"\ndomain = \"walker\"\ntask = \"stand\"\n"
      "[algorithm]\ntype = \"dipole\"\n"
      "[critic]\ntype = \"iql\"\nhidden_dims = [32, 32]\n"
      "[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [32, 32]\n"
      "[weighting]\ntype = \"dipole_sigmoid\"\n"
      "[sampler]\ntype = \"best_of_n\"\n"
      "[sampler.inner]\ntype = \"guided_euler\"\nsteps = 4\n";
  std::ofstream(dir_ / "config.toml") << pipeline;
  const auto before = listing(dir_ / "data");
  ASSERT_FALSE(before.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a rewrite would show in the mtimes

  const Result r = dipole_cli("config " + (dir_ / "config.toml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(listing(dir_ / "data"), before);
  EXPECT_FALSE(fs::exists(dir_ / "data" / "walker" / "random" / "stand.rewards.npz"));
  // Defaults of every section are filled in, nested ones included, without building anything.
  for (const char* s : {"[sampler.inner]", "type = \"guided_euler\"", "steps = 4", "[weighting]", "[critic]",
                        "expectile = ", "batch_size = 256", "num_candidates = "})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;

  // A misspelt key in any section is still an error at its file:line:col.
  std::ofstream(dir_ / "typo.toml") << pipeline << "stepz = 3\n";  // line 28, in [sampler.inner]
  const Result typo = dipole_cli("config " + (dir_ / "typo.toml").string());
  EXPECT_EQ(typo.code, 1) << typo.output;
  EXPECT_NE(typo.output.find("typo.toml:28:1"), std::string::npos) << typo.output;
  EXPECT_NE(typo.output.find("unknown key 'stepz'"), std::string::npos) << typo.output;
  EXPECT_EQ(listing(dir_ / "data"), before);

  // The same directory is one a build writes into: loading the dataset creates the cache.
  load("data");
  EXPECT_TRUE(fs::exists(dir_ / "data" / "walker" / "random" / "stand.rewards.npz"));
}

}  // namespace
}  // namespace dipole

#endif  // DIPOLE_HAVE_MUJOCO
