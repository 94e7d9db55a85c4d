// The offline-to-online known-answer test (docs/online.md, "Known-answer test"): the `finetune_bandit`
// data covers only the bad mode a ≈ −0.5 (r ≈ −0.2 on the connected landscape r = 1 − |a − 0.7|).
// After the offline phase no algorithm succeeds; online fine-tuning must move DIPOLE to the good mode
// (median over three seeds; one seed takes longer), while flow BC, which only clones the
// buffer it fills itself, must stay where it is. FQL does not get there within this CPU budget
// (docs/online.md, "Known-answer test"), so it has no assertion here. DIPOLE: three seeds, assertions on
// the median.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dipole/core/config.hpp"
#include "dipole/core/trainer.hpp"

namespace dipole {
namespace {

namespace fs = std::filesystem;

struct PhaseScores {
  double offline_return = 0, offline_success = 0, online_return = 0, online_success = 0;
};

double number(const std::string& row, const std::string& key) {
  const auto pos = row.find("\"" + key + "\": ");
  if (pos == std::string::npos) return NAN;
  return std::stod(row.substr(pos + key.size() + 4));
}

PhaseScores run_finetune(const std::string& config, std::uint64_t seed,
                         const std::vector<std::string>& extra) {
  // Evaluations only after the offline phase and at the end (the pair the test compares).
  std::vector<std::string> overrides{"trainer.seed=" + std::to_string(seed), "trainer.threads=1",
                                     "trainer.eval_interval=0", "online.eval_interval=0"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  dipole::Run run =
      build_run(Registry::with_default_plugins(),
                config::Pipeline::load(std::string(DIPOLE_SOURCE_DIR) + "/configs/" + config, overrides));
  const fs::path dir = fs::temp_directory_path() /
                       ("dipole_finetune_" + std::to_string(::getpid()) + "_" + std::to_string(seed));
  fs::remove_all(dir);
  TrainOptions options;
  options.out_dir = dir.string();
  options.progress = false;
  train(run, options);
  PhaseScores s;
  std::ifstream in(dir / "eval.jsonl");
  for (std::string row; std::getline(in, row);) {
    const auto step = static_cast<std::int64_t>(number(row, "step"));
    if (step == run.trainer.steps) {
      s.offline_return = number(row, "eval/return_mean");
      s.offline_success = number(row, "eval/success_rate");
    }
    if (step == run.total_steps()) {
      s.online_return = number(row, "eval/return_mean");
      s.online_success = number(row, "eval/success_rate");
    }
  }
  fs::remove_all(dir);
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Medians {
  double offline_return, offline_success, online_return, online_success;
};

Medians medians(const std::string& config, const std::vector<std::string>& extra, int seeds,
                std::vector<double>* online_returns = nullptr) {
  std::vector<double> a, b, c, d;
  for (int seed = 0; seed < seeds; ++seed) {
    const PhaseScores s = run_finetune(config, static_cast<std::uint64_t>(seed), extra);
    std::printf("[finetune] %s seed %d: offline r %.3f success %.2f -> online r %.3f success %.2f\n",
                config.c_str(), seed, s.offline_return, s.offline_success, s.online_return, s.online_success);
    a.push_back(s.offline_return);
    b.push_back(s.offline_success);
    c.push_back(s.online_return);
    d.push_back(s.online_success);
  }
  if (online_returns) *online_returns = c;
  return {median(a), median(b), median(c), median(d)};
}

TEST(Finetune, DipoleFindsTheGoodModeOnline) {
  // Measured after 3000 online updates (seeds 0, 1, 2): r 0.898, 0.027, 0.744 (seed 1 moves later:
  // 0.111 after 2000). Calibrated: median ≥ 0.5 and the best seed ≥ 0.8 (docs/online.md).
  std::vector<double> online;
  const Medians m = medians("finetune_bandit_dipole.toml", {}, 3, &online);
  EXPECT_EQ(m.offline_success, 0.0);
  EXPECT_LT(m.offline_return, 0.1);
  EXPECT_GE(m.online_return, 0.5);
  EXPECT_GE(*std::max_element(online.begin(), online.end()), 0.8);
}

TEST(Finetune, FlowBcStaysInTheDataMode) {
  // The same protocol with flow BC: it clones the buffer, whose online rows are its own samples.
  const Medians m = medians("finetune_bandit_flow_bc.toml", {}, 1);
  EXPECT_EQ(m.online_success, 0.0);
  EXPECT_LT(m.online_return, 0.1);
}

}  // namespace
}  // namespace dipole
