// A critic with a known score for sampler tests: score(s, a) = −‖a − a°(s)‖², a°(s) = the first d
// entries of s.
#pragma once

#include <ATen/ATen.h>

#include <dipole/critic.hpp>

namespace dipole::testing {

class NearestCritic : public Critic {
 public:
  explicit NearestCritic(std::int64_t action_dim) : action_dim_(action_dim) {}
  CriticLoss compute_loss(const Batch&, at::Generator&, bool) override { return {}; }
  void step() override {}
  void zero_grad() override {}
  at::Tensor q(const at::Tensor& obs, const at::Tensor& act) const override {
    return score(obs, act).unsqueeze(0);
  }
  at::Tensor score(const at::Tensor& obs, const at::Tensor& act) const override {
    ++calls;
    return -(act - obs.narrow(1, 0, action_dim_)).pow(2).sum(-1);
  }
  at::Tensor advantage(const at::Tensor& obs, const at::Tensor& act) const override {
    return score(obs, act);
  }
  mutable int calls = 0;

 private:
  std::int64_t action_dim_;
};

}  // namespace dipole::testing
