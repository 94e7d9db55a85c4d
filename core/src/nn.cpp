// The ensemble MLP (EnsembleMlp), label embeddings and Q-values of nn.hpp. Its configuration
// (presets, schema) is in nn_config.cpp, the float32 kernels it runs on (LayerNorm, fused
// activations, small-rows products) in nn_kernels.cpp.
#include "dipole/sdk/nn.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "dipole/core/fused_mlp.hpp"
#include "dipole/errors.hpp"
#include "nn_kernels.hpp"
#include "state_util.hpp"

namespace dipole {

using detail::gelu_tanh;
using detail::layer_norm_affine;
using detail::mish_fused;
using detail::small_rows_forward;
using detail::small_rows_path;

namespace {

bool layer_has_norm(NormPlacement placement, std::size_t hidden_index, std::size_t hidden_count) {
  switch (placement) {
    case NormPlacement::None:
      return false;
    case NormPlacement::All:
      return true;
    case NormPlacement::AllButLast:
      return hidden_index + 1 < hidden_count;
  }
  return false;
}

// Flax variance_scaling(scale, fan_avg, uniform): limit √(3·scale/fan_avg) = √(6·scale/(fan_in+fan_out)).
at::Tensor xavier_uniform(std::int64_t members, std::int64_t in, std::int64_t out, double scale,
                          at::Generator& generator) {
  const double limit = std::sqrt(6.0 * scale / static_cast<double>(in + out));
  return at::empty({members, in, out}, at::kFloat).uniform_(-limit, limit, generator);
}

// Flax lecun_normal: truncated normal on [−2, 2] (in std units) with std √(scale/fan_in)/0.8796…,
// drawn by inverting the normal CDF on a uniform draw restricted to [Φ(−2), Φ(2)].
at::Tensor lecun_normal(std::int64_t members, std::int64_t in, std::int64_t out, double scale,
                        at::Generator& generator) {
  const double stddev = std::sqrt(scale / static_cast<double>(in)) / 0.87962566103423978;
  const double lo = 0.5 * std::erfc(2.0 / std::sqrt(2.0));  // Φ(−2)
  const double hi = 1.0 - lo;
  auto u = at::empty({members, in, out}, at::kDouble).uniform_(lo, hi, generator);
  auto standard = at::erfinv(u.mul(2.0).sub_(1.0)).mul_(std::sqrt(2.0));
  return standard.mul_(stddev).to(at::kFloat);
}

at::Tensor leaf(at::Tensor value, const at::TensorOptions& options) {
  return value.to(options.device(), options.dtype()).detach().requires_grad_(true);
}

}  // namespace

at::Tensor activate(const at::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::GeluTanh:
      return gelu_tanh(x);
    case Activation::Mish:
      return mish_fused(x);
    case Activation::Relu:
      return at::relu(x);
  }
  return x;
}

// ---- EnsembleMlp ----------------------------------------------------------------------------------

EnsembleMlp::EnsembleMlp(std::int64_t members, std::int64_t input_dim, std::int64_t output_dim,
                         const MlpConfig& config, at::Generator& generator, const at::TensorOptions& options)
    : members_(members), input_dim_(input_dim), output_dim_(output_dim), config_(config) {
  if (members < 1 || input_dim < 1 || output_dim < 1)
    throw ConfigError("EnsembleMlp: members, input and output sizes must be positive (got " +
                      std::to_string(members) + ", " + std::to_string(input_dim) + ", " +
                      std::to_string(output_dim) + ")");
  // Checked products: the parameter count must fit (a width of 2^63 - 1 overflows a signed product).
  {
    std::int64_t total = 0, in = input_dim;
    for (std::size_t l = 0; l <= config.hidden_dims.size(); ++l) {
      const std::int64_t out = l == config.hidden_dims.size() ? output_dim : config.hidden_dims[l];
      std::int64_t layer = 0;
      if (out < 1 || __builtin_mul_overflow(in + 1, out, &layer) ||
          __builtin_mul_overflow(layer, members, &layer) || __builtin_add_overflow(total, layer, &total) ||
          total > (std::int64_t{1} << 36))
        throw ConfigError("EnsembleMlp: layer widths " + std::to_string(in) + " -> " + std::to_string(out) +
                          " x " + std::to_string(members) +
                          " members exceed the limit of 2^36 parameters (or a width is not positive)");
      in = out;
    }
  }
  at::NoGradGuard no_grad;
  const std::size_t hidden_count = config.hidden_dims.size();
  std::int64_t in = input_dim;
  for (std::size_t l = 0; l <= hidden_count; ++l) {
    const bool is_output = l == hidden_count;
    const std::int64_t out = is_output ? output_dim : config.hidden_dims[l];
    Layer layer;
    at::Tensor weight;
    if (is_output && config.output_init == Init::LecunNormal)
      weight = lecun_normal(members, in, out, config.output_scale, generator);
    else
      weight = xavier_uniform(members, in, out, is_output ? config.output_scale : 1.0, generator);
    layer.weight = leaf(weight, options);
    layer.bias = leaf(at::zeros({members, 1, out}, at::kFloat), options);
    const bool norm = is_output ? (config.activate_final && config.layer_norm == NormPlacement::All)
                                : layer_has_norm(config.layer_norm, l, hidden_count);
    if (norm) {
      layer.ln_scale = leaf(at::ones({members, 1, out}, at::kFloat), options);
      layer.ln_bias = leaf(at::zeros({members, 1, out}, at::kFloat), options);
    }
    layers_.push_back(std::move(layer));
    in = out;
  }
}

at::Tensor EnsembleMlp::hidden(const at::Tensor& h, std::size_t layer, const at::Tensor& scale,
                               const at::Tensor& bias) const {
  (void)layer;
  const bool norm = scale.defined();
  if (config_.order == LayerOrder::ActThenNorm) {
    auto a = activate(h, config_.activation);
    return norm ? layer_norm_affine(a, scale, bias, config_.layer_norm_eps) : a;
  }
  auto n = norm ? layer_norm_affine(h, scale, bias, config_.layer_norm_eps) : h;
  return activate(n, config_.activation);
}

namespace {
std::atomic<bool> fused_mlp_on{true};

/// Whether forward() records the network as one autograd node (detail::fused_mlp_forward): autograd on
/// and needed, CPU float32, an activation with fused kernels, contiguous parameters.
bool fused_path(const EnsembleMlp& net, const at::Tensor& x, bool detach_parameters) {
  if (!fused_mlp_on.load() || !at::GradMode::is_enabled() ||
      !detail::fused_mlp_supports(net.config().activation))
    return false;
  auto plain = [](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided &&
           !t.is_mkldnn();
  };
  if (!plain(x) || x.numel() == 0) return false;
  bool any_grad = x.requires_grad();
  for (const auto& t : net.parameters()) {
    if (!plain(t) || !t.is_contiguous()) return false;
    any_grad = any_grad || (!detach_parameters && t.requires_grad());
  }
  return any_grad;
}
}  // namespace

void set_fused_mlp(bool enabled) {
  fused_mlp_on.store(enabled);
}
bool fused_mlp_enabled() {
  return fused_mlp_on.load();
}

at::Tensor EnsembleMlp::forward(const at::Tensor& x, bool detach_parameters) const {
  auto p = [detach_parameters](const at::Tensor& t) {
    return detach_parameters && t.defined() ? t.detach() : t;
  };
  at::Tensor h;
  if (x.dim() == 2) {
    h = x.unsqueeze(0).expand({members_, x.size(0), x.size(1)});
  } else if (x.dim() == 3 && x.size(0) == members_) {
    h = x;
  } else {
    throw ConfigError("EnsembleMlp::forward: expected input [B, " + std::to_string(input_dim_) + "] or [" +
                      std::to_string(members_) + ", B, " + std::to_string(input_dim_) + "], got " +
                      std::to_string(x.dim()) + "-d input");
  }
  const std::size_t last = layers_.size() - 1;
  if (fused_path(*this, x, detach_parameters)) {
    std::vector<at::Tensor> params;
    std::vector<std::int64_t> flags;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const auto& layer = layers_[l];
      std::int64_t f = (l < last || config_.activate_final) ? detail::kTreated : 0;
      params.push_back(p(layer.weight));
      params.push_back(p(layer.bias));
      if (layer.ln_scale.defined()) {
        f |= detail::kNormed;
        params.push_back(p(layer.ln_scale));
        params.push_back(p(layer.ln_bias));
      }
      flags.push_back(f);
    }
    return detail::fused_mlp_forward(x, params, std::move(flags), members_, config_.activation, config_.order,
                                     config_.layer_norm_eps);
  }
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const auto& layer = layers_[l];
    const auto bias = p(layer.bias), weight = p(layer.weight);
    h = small_rows_path(h, weight, bias) ? small_rows_forward(h, weight, bias) : at::baddbmm(bias, h, weight);
    if (l < last || config_.activate_final) h = hidden(h, l, p(layer.ln_scale), p(layer.ln_bias));
  }
  return h;
}

at::Tensor EnsembleMlp::forward_member(std::int64_t member, const at::Tensor& x,
                                       bool detach_parameters) const {
  if (member < 0 || member >= members_)
    throw ConfigError("EnsembleMlp::forward_member: member " + std::to_string(member) + " out of range [0, " +
                      std::to_string(members_) + ")");
  // One member: squeeze, whose backward is a view, instead of select, whose backward writes the
  // gradient into a zero-filled [1, ...] tensor (a fill and a copy per parameter and update).
  auto p = [this, detach_parameters, member](const at::Tensor& t) {
    if (!t.defined()) return t;
    auto slice = members_ == 1 ? t.squeeze(0) : t.select(0, member);
    return detach_parameters ? slice.detach() : slice;
  };
  at::Tensor h = x;
  const std::size_t last = layers_.size() - 1;
  auto one = [member](const at::Tensor& t) { return t.narrow(0, member, 1); };  // for the small-rows path
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const auto& layer = layers_[l];
    if (x.dim() == 2 && small_rows_path(h, layer.weight, layer.bias))
      h = small_rows_forward(h.unsqueeze(0), one(layer.weight), one(layer.bias)).squeeze(0);
    else
      h = at::addmm(p(layer.bias), h, p(layer.weight));
    if (l < last || config_.activate_final) h = hidden(h, l, p(layer.ln_scale), p(layer.ln_bias));
  }
  return h;
}

std::vector<at::Tensor> EnsembleMlp::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& layer : layers_) {
    out.push_back(layer.weight);
    out.push_back(layer.bias);
    if (layer.ln_scale.defined()) {
      out.push_back(layer.ln_scale);
      out.push_back(layer.ln_bias);
    }
  }
  return out;
}

namespace {
std::vector<std::pair<std::string, at::Tensor>> named(const std::vector<EnsembleMlp::Layer>& layers,
                                                      const std::string& prefix) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::string base = prefix + "layers." + std::to_string(l) + ".";
    out.emplace_back(base + "weight", layers[l].weight);
    out.emplace_back(base + "bias", layers[l].bias);
    if (layers[l].ln_scale.defined()) {
      out.emplace_back(base + "ln_scale", layers[l].ln_scale);
      out.emplace_back(base + "ln_bias", layers[l].ln_bias);
    }
  }
  return out;
}

}  // namespace

StateDict EnsembleMlp::state(const std::string& prefix) const {
  StateDict out;
  for (auto& [key, tensor] : named(layers_, prefix)) out[key] = tensor.detach().clone();
  return out;
}

void EnsembleMlp::load_state(const StateDict& state, const std::string& prefix) {
  at::NoGradGuard no_grad;
  for (auto& [key, tensor] : named(layers_, prefix)) {
    tensor.copy_(detail::state_entry(state, key, tensor.sizes()));
  }
}

void EnsembleMlp::copy_from(const EnsembleMlp& other) {
  at::NoGradGuard no_grad;
  auto mine = parameters();
  auto theirs = other.parameters();
  if (mine.size() != theirs.size())
    throw ConfigError("EnsembleMlp::copy_from: networks have different layouts");
  for (std::size_t i = 0; i < mine.size(); ++i) {
    if (mine[i].sizes() != theirs[i].sizes())
      throw ConfigError("EnsembleMlp::copy_from: parameter " + std::to_string(i) + " differs in shape");
    mine[i].copy_(theirs[i]);
  }
}

EnsembleMlp EnsembleMlp::clone(bool requires_grad) const {
  at::NoGradGuard no_grad;
  EnsembleMlp copy;
  copy.members_ = members_;
  copy.input_dim_ = input_dim_;
  copy.output_dim_ = output_dim_;
  copy.config_ = config_;
  auto dup = [requires_grad](const at::Tensor& t) {
    return t.defined() ? t.detach().clone().requires_grad_(requires_grad) : t;
  };
  for (const auto& layer : layers_)
    copy.layers_.push_back({dup(layer.weight), dup(layer.bias), dup(layer.ln_scale), dup(layer.ln_bias)});
  return copy;
}

void EnsembleMlp::set_requires_grad(bool requires_grad) {
  for (auto& p : parameters()) p.requires_grad_(requires_grad);
}

// ---- embeddings ------------------------------------------------------------------------------------

at::Tensor sin16(const at::Tensor& t) {
  std::vector<double> freqs(8);
  for (int i = 0; i < 8; ++i) freqs[i] = std::pow(10000.0, 1.0 - i / 8.0);
  auto c = at::tensor(freqs, at::TensorOptions().dtype(at::kDouble)).to(t.options());
  auto arg = t * c;  // [..., 1] * [8] → [..., 8]
  return at::cat({at::cos(arg), at::sin(arg)}, -1);
}

LabelEmbedding::LabelEmbedding(std::int64_t members, std::int64_t n_labels, std::int64_t dim,
                               at::Generator& generator, const at::TensorOptions& options) {
  if (members < 1 || n_labels < 1 || dim < 1)
    throw ConfigError("LabelEmbedding: members, n_labels and dim must be positive");
  at::NoGradGuard no_grad;
  auto table = at::randn({members, n_labels, dim}, generator, at::kFloat).mul_(1.0 / std::sqrt(double(dim)));
  table_ = leaf(table, options);
}

at::Tensor LabelEmbedding::forward(const at::Tensor& labels) const {
  return table_.index_select(1, labels);
}

at::Tensor LabelEmbedding::forward_member(std::int64_t member, const at::Tensor& labels) const {
  return table_.select(0, member).index_select(0, labels);
}

at::Tensor q_values(const EnsembleMlp& q, const at::Tensor& observations, const at::Tensor& actions,
                    bool detach_parameters) {
  auto input = at::cat({observations, actions}, -1);
  return q.forward(input, detach_parameters).squeeze(-1);
}

}  // namespace dipole
