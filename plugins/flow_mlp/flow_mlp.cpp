#include "flow_mlp.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <dipole/sdk/nn.hpp>

namespace dipole::plugins {

const Keys<FlowMlp::Config>& FlowMlp::keys() {
  using C = Config;
  static const Keys<C> keys{
      nested(&C::network, network_keys()),
      key(&C::time_features_choice, "time_features",
          "time input: raw = t as one feature, sin16 = 16-dim sinusoidal embedding "
          "(pair with t_sampling = grid); absent: the preset's (fql → raw, cfgrl_exorl → sin16)")
          .choices({{"raw", TimeFeatures::Raw}, {"sin16", TimeFeatures::Sin16}}),
      key(&C::input_order_choice, "input_order",
          "input concatenation order: fql = [s, label_emb, x_t, t], cfgrl_exorl = "
          "[s, x_t, t_emb, label_emb]; absent: the preset's")
          .choices({{"fql", InputOrder::Fql}, {"cfgrl_exorl", InputOrder::CfgrlExorl}}),
      key(&C::label_dim, "label_dim",
          "width of the learned label embedding (used when the algorithm asks for labels)")
          .range(1, 4096),
      key(&C::lr, "lr", "Adam learning rate (β1 0.9, β2 0.999, ε 1e-8)").range(0.0, 1.0),
  };
  return keys;
}

FlowMlp::Config FlowMlp::read_config(const Params& params) {
  Config config = keys().read(params);
  config.mlp = mlp_config(config.network, NetworkRole::Actor);
  const bool cfgrl = config.network.preset == "cfgrl_exorl";
  config.time_features =
      config.time_features_choice.value_or(cfgrl ? TimeFeatures::Sin16 : TimeFeatures::Raw);
  config.input_order = config.input_order_choice.value_or(cfgrl ? InputOrder::CfgrlExorl : InputOrder::Fql);
  return config;
}

FlowMlp::FlowMlp(const Params& params, const BuildContext& ctx)
    : config_(read_config(params)),
      shape_(denoiser_shape(ctx.requirements, ctx.spec.action_dim)),
      action_dim_(ctx.spec.action_dim),
      section_(ctx.section) {
  if (ctx.spec.obs_dim < 1 || action_dim_ < 1)
    throw ConfigError(section_ + ": flow_mlp needs a spec with obs_dim and action_dim (got " +
                      std::to_string(ctx.spec.obs_dim) + ", " + std::to_string(action_dim_) + ")");
  std::int64_t in = ctx.spec.obs_dim;
  if (shape_.n_labels > 0) in += config_.label_dim;
  if (shape_.time_input)
    in += action_dim_ + (config_.time_features == TimeFeatures::Sin16 ? kSin16Dim : 1);
  else
    in += shape_.noise_dim;
  auto generator = at::detail::createCPUGenerator(ctx.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(ctx.device);
  net_ = EnsembleMlp(shape_.members, in, action_dim_, config_.mlp, generator, options);
  if (shape_.n_labels > 0)
    labels_ = LabelEmbedding(shape_.members, shape_.n_labels, config_.label_dim, generator, options);
  AdamConfig adam;
  adam.lr = config_.lr;
  adam_ = Adam(parameters(), adam);
}

at::Tensor FlowMlp::input(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                          const at::Tensor& t, const at::Tensor& labels) const {
  auto for_member = [member](const at::Tensor& v) {
    return member >= 0 && v.dim() == 3 ? v.select(0, member) : v;
  };
  at::Tensor label_emb;
  if (shape_.n_labels > 0) {
    if (!labels.defined())
      throw ConfigError(section_ + ": this flow_mlp was built with " + std::to_string(shape_.n_labels) +
                        " labels; forward() needs a label tensor [B]");
    label_emb = member >= 0 ? labels_.forward_member(member, labels) : labels_.forward(labels);
  }
  at::Tensor time_feature;
  if (shape_.time_input) {
    if (!t.defined()) throw ConfigError(section_ + ": forward() of a flow denoiser needs t [B, 1]");
    time_feature = config_.time_features == TimeFeatures::Sin16 ? sin16(t) : t;
  }
  std::vector<at::Tensor> pieces{for_member(observations)};
  if (!shape_.time_input) {
    if (label_emb.defined()) pieces.push_back(label_emb);
    if (shape_.noise_dim > 0) pieces.push_back(for_member(x));
  } else if (config_.input_order == InputOrder::Fql) {
    if (label_emb.defined()) pieces.push_back(label_emb);
    pieces.push_back(for_member(x));
    pieces.push_back(for_member(time_feature));
  } else {
    pieces.push_back(for_member(x));
    pieces.push_back(for_member(time_feature));
    if (label_emb.defined()) pieces.push_back(label_emb);
  }
  bool any_3d = false;
  for (const auto& p : pieces) any_3d = any_3d || p.dim() == 3;
  if (any_3d) {
    const auto batch = pieces.front().size(-2);
    for (auto& p : pieces)
      if (p.dim() == 2) p = p.unsqueeze(0).expand({shape_.members, batch, p.size(-1)});
  }
  return at::cat(pieces, -1);
}

at::Tensor FlowMlp::forward(const at::Tensor& observations, const at::Tensor& x, const at::Tensor& t,
                            const at::Tensor& labels) const {
  return net_.forward(input(-1, observations, x, t, labels));
}

at::Tensor FlowMlp::forward_member(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                                   const at::Tensor& t, const at::Tensor& labels) const {
  return net_.forward_member(member, input(member, observations, x, t, labels));
}

std::vector<at::Tensor> FlowMlp::parameters() const {
  auto params = net_.parameters();
  if (labels_.defined()) params.push_back(labels_.table());
  return params;
}

StateDict FlowMlp::state() const {
  StateDict out = net_.state("net.");
  if (labels_.defined()) out["label_table"] = labels_.table().detach().clone();
  for (auto& [key, value] : adam_.state("adam.")) out[key] = value;
  return out;
}

void FlowMlp::load_state(const StateDict& state) {
  net_.load_state(state, "net.");
  if (labels_.defined()) {
    auto it = state.find("label_table");
    if (it == state.end()) throw DataError(section_ + ": state has no entry 'label_table'");
    if (it->second.sizes() != labels_.table().sizes())
      throw DataError(section_ + ": state entry 'label_table' has the wrong shape");
    at::NoGradGuard no_grad;
    labels_.table().copy_(it->second);
  }
  adam_.load_state(state, "adam.");
}

}  // namespace dipole::plugins
