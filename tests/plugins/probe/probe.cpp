// A weighting that doubles the advantage; its code lives only in this library, so calling it after
// the registry is gone proves the object kept the library loaded.
#include <ATen/ATen.h>

#include "dipole/plugin.hpp"
#include "dipole/weighting.hpp"

#ifndef DIPOLE_PROBE_TYPE
#define DIPOLE_PROBE_TYPE "probe"
#endif

namespace {

class Probe final : public dipole::WeightingFunction {
 public:
  struct Config {
    double scale = 2.0;
  };
  static const dipole::Keys<Config>& keys() {
    static const dipole::Keys<Config> keys{dipole::key(&Config::scale, "scale", "multiplies the advantage")};
    return keys;
  }
  Probe(const Config& config, const dipole::BuildContext&) : scale_(config.scale) {}
  dipole::Weights weights(const at::Tensor& advantage, at::Generator&, bool) const override {
    return {(advantage * scale_).unsqueeze(0), {}, {}};
  }
  std::int64_t rows() const override { return 1; }

 private:
  double scale_;
};

}  // namespace

DIPOLE_PLUGIN(plugin) {
  plugin.add<Probe>(DIPOLE_PROBE_TYPE, "test probe");
}
