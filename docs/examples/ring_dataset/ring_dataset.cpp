// Dataset `ring`: a toy offline dataset generated in memory. The observation is a point on the
// unit circle (cos θ, sin θ); the behaviour action is (cos θ, sin θ)·radius plus Gaussian noise,
// clipped to [−1, 1]; the reward is 1 − |action − radius·obs|². Every transition is terminal.
// It exists to show a complete plugin in one file (docs/plugin_tutorial.md).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <dipole/dataset.hpp>
#include <dipole/plugin.hpp>
#include <dipole/sdk/batch.hpp>

namespace {

class RingDataset final : public dipole::Dataset {
 public:
  // Each key once: the field it fills (its initializer is the default), name, doc and valid range.
  struct Config {
    std::int64_t size = 4096;
    double radius = 0.5, noise = 0.1;
  };
  static inline const dipole::Keys<Config> keys{
      dipole::key(&Config::size, "size", "number of transitions").at_least(1),
      dipole::key(&Config::radius, "radius", "actions lie around radius·(cos θ, sin θ)").range(0.0, 1.0),
      dipole::key(&Config::noise, "noise", "standard deviation of the behaviour noise").at_least(0.0)};

  RingDataset(const Config& config, const dipole::BuildContext& ctx) {
    const auto [n, radius, noise] = config;
    at::Generator gen = at::detail::createCPUGenerator(ctx.seed);  // seeded by the runtime
    const at::Tensor theta = at::rand({n}, gen) * (2 * M_PI);
    const at::Tensor obs = at::stack({at::cos(theta), at::sin(theta)}, 1);
    const at::Tensor act = (obs * radius + at::randn({n, 2}, gen) * noise).clamp(-1, 1);
    // One-step episodes: s′ = s (unused, mask 0), terminal 1.
    all_ = {obs, act, 1 - (act - obs * radius).pow(2).sum(1), obs, at::zeros({n}), at::ones({n})};
    for (at::Tensor* t : {&all_.observations, &all_.actions, &all_.rewards, &all_.next_observations,
                          &all_.masks, &all_.terminals})
      *t = t->to(ctx.device);
  }

  dipole::Spec spec() const override { return {2, 2, {-1.0, -1.0}, {1.0, 1.0}}; }
  std::int64_t size() const override { return all_.observations.size(0); }
  dipole::Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    return dipole::select_rows(
        all_, at::randint(size(), {batch_size}, generator, at::kLong).to(all_.rewards.device()));
  }

 private:
  dipole::Batch all_;
};

}  // namespace

DIPOLE_PLUGIN(plugin) {
  plugin.add<RingDataset>("ring", "toy ring dataset (out-of-tree example)");
}
