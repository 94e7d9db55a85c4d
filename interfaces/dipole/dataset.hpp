#pragma once

#include <ATen/core/Generator.h>

#include "dipole/component.hpp"

namespace dipole {

/// An offline dataset held in memory. Sampling is uniform over transitions.
class Dataset : public Component {
 public:
  static constexpr Kind kKind = Kind::Dataset;
  ~Dataset() override;  // defined in core: one home for the vtable and type info

  virtual Spec spec() const = 0;
  /// Number of transitions.
  virtual std::int64_t size() const = 0;
  /// Uniform batch of `batch_size` transitions drawn with `generator` (a CPU generator).
  virtual Batch sample(std::int64_t batch_size, at::Generator& generator) const = 0;
  /// Number of stored episodes (0 when the format has no episode structure).
  virtual std::int64_t num_episodes() const { return 0; }
  /// All transitions of episode `index`, in order. Only valid when num_episodes() > 0.
  virtual Batch episode(std::int64_t index) const;
};

inline Batch Dataset::episode(std::int64_t /*index*/) const {
  throw DataError("this dataset has no episode structure");
}

}  // namespace dipole
