// Dataset `ring`: a toy offline dataset generated in memory. The observation is a point on the
// unit circle (cos θ, sin θ); the behaviour action is (cos θ, sin θ)·radius plus Gaussian noise,
// clipped to [−1, 1]; the reward is 1 − |action − radius·obs|². Every transition is terminal.
// It exists to show a complete plugin in one file (docs/plugin_tutorial.md).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <dipole/dataset.hpp>
#include <dipole/plugin.hpp>

namespace {

class RingDataset final : public dipole::Dataset {
 public:
  // Every key: name, default, doc and valid range. The runtime validates pipelines against it.
  static dipole::Schema schema() {
    using namespace dipole::param;
    return {
        integer("size", 4096, "number of transitions").at_least(1),
        real("radius", 0.5, "behaviour actions lie around radius·(cos θ, sin θ)").range(0.0, 1.0),
        real("noise", 0.1, "standard deviation of the behaviour noise").at_least(0.0),
    };
  }

  RingDataset(const dipole::Params& params, const dipole::BuildContext& ctx) {
    const std::int64_t n = params.integer("size");
    const double radius = params.real("radius"), noise = params.real("noise");
    at::Generator gen = at::detail::createCPUGenerator(ctx.seed);  // seeded by the runtime
    const at::Tensor theta = at::rand({n}, gen) * (2 * M_PI);
    obs_ = at::stack({at::cos(theta), at::sin(theta)}, 1);
    act_ = (obs_ * radius + at::randn({n, 2}, gen) * noise).clamp(-1, 1);
    rew_ = 1 - (act_ - obs_ * radius).pow(2).sum(1);
    ones_ = at::ones({n});
    obs_ = obs_.to(ctx.device);
    act_ = act_.to(ctx.device);
    rew_ = rew_.to(ctx.device);
    ones_ = ones_.to(ctx.device);
  }

  dipole::Spec spec() const override { return {2, 2, {-1.0, -1.0}, {1.0, 1.0}}; }
  std::int64_t size() const override { return obs_.size(0); }

  dipole::Batch sample(std::int64_t batch_size, at::Generator& generator) const override {
    const at::Tensor i = at::randint(size(), {batch_size}, generator, at::kLong).to(obs_.device());
    const at::Tensor o = obs_.index_select(0, i);
    // One-step episodes: s′ = s (unused, mask 0), terminal 1.
    return {o, act_.index_select(0, i),      rew_.index_select(0, i),
            o, ones_.index_select(0, i) * 0, ones_.index_select(0, i)};
  }

 private:
  at::Tensor obs_, act_, rew_, ones_;
};

}  // namespace

DIPOLE_PLUGIN(plugin) {
  plugin.add<RingDataset>("ring", "toy ring dataset (out-of-tree example)", RingDataset::schema());
}
