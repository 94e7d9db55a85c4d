#include <gtest/gtest.h>
#include <cstdlib>
#include "learning/learning_util.hpp"

using namespace dipole;
using namespace dipole::learning;

TEST(Explore, Dipole) {
  const char* hd = std::getenv("HD"); const char* lr = std::getenv("LR"); const char* st = std::getenv("STEPS");
  const char* bs = std::getenv("BS");
  std::string toml = std::string(R"(
[trainer]
batch_size = )") + (bs ? bs : "256") + R"(
seed = 1
threads = 1
[dataset]
type = "bandit"
[algorithm]
type = "dipole"
[critic]
type = "bandit_oracle"
expectile = 0.5
[denoiser]
type = "flow_mlp"
hidden_dims = )" + (hd ? hd : "[128, 128, 128]") + R"(
lr = )" + (lr ? lr : "1e-3") + R"(
activation = ")" + (std::getenv("ACT") ? std::getenv("ACT") : "preset") + R"("
[weighting]
type = "dipole_sigmoid"
beta = 3.0
[sampler]
type = "guided_euler"
steps = 32
)";
  auto run = make_run(toml, "explore.toml");
  Stopwatch sw;
  int steps = st ? std::atoi(st) : 3000;
  train(run, steps);
  printf("train %d steps: %.1fs\n", steps, sw.seconds());
  auto grid = bandit::make_grid(1000);
  auto starts = bandit::normal_quantiles(1000);
  auto contexts = bandit::make_contexts("mixed", 2);
  for (int c = 0; c < 2; ++c) {
    for (double omega : {0.0, 0.5, 1.0}) {
      Stopwatch s2;
      auto T = bandit::dipole_targets(contexts[c], grid, 0.5, 3.0, 0.0, omega);
      auto a = sample_context(*run.algorithm, c, 2, 10000, act_options(omega, 32), 7);
      double ts = s2.seconds();
      auto oracle = bandit::oracle_guided_samples(T.positive, T.negative, grid, omega, 32, starts);
      auto h = bandit::histogram(a, 20);
      if (std::getenv("HIST")) { auto q = bandit::density_histogram(T.optimal, grid, 20); auto o = bandit::histogram(oracle, 20);
        for (int b = 0; b < 20; ++b) printf("   bin %2d  learned %.3f  oracle %.3f  pi* %.3f\n", b, h[b], o[b], q[b]); }
      printf("ctx %d omega %.1f TV(learned,pi*)=%.3f TV(learned,oracle)=%.3f TV(oracle,pi*)=%.3f R=%.3f Roracle=%.3f (sample %.2fs, total %.2fs)\n", c, omega,
        bandit::total_variation(h, bandit::density_histogram(T.optimal, grid, 20)),
        bandit::total_variation(h, bandit::histogram(oracle, 20)),
        bandit::total_variation(bandit::histogram(oracle, 20), bandit::density_histogram(T.optimal, grid, 20)),
        reward_stats(contexts[c], a).mean, bandit::mean_reward(contexts[c], oracle), ts, s2.seconds());
    }
  }
}
