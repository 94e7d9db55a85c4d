#include "ddpm_mlp.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace dipole::plugins {

namespace {

/// One Linear layer (one member, no hidden layer) with the given init of its weight.
EnsembleMlp linear(std::int64_t in, std::int64_t out, Init init, at::Generator& generator,
                   const at::TensorOptions& options) {
  MlpConfig config;
  config.hidden_dims = {};
  config.output_init = init;
  return EnsembleMlp(1, in, out, config, generator, options);
}

at::Tensor leaf(const at::Tensor& value, const at::TensorOptions& options) {
  return value.to(options).detach().requires_grad_(true);
}

}  // namespace

const Keys<DdpmMlp::Config>& DdpmMlp::keys() {
  using C = Config;
  static const Keys<C> keys{
      key(&C::fourier_features, "fourier_features",
          "F: learnable Fourier frequencies of the step index (2F features)")
          .range(1, 4096),
      key(&C::fourier_std, "fourier_std", "standard deviation of the Fourier frequencies' N(0, σ²) init")
          .range(0.0, 1e3),
      key(&C::time_hidden, "time_hidden", "H_t: width of the time MLP 2F → H_t → mish → H_t").range(1, 65536),
      key(&C::width, "width", "W: width of the LN-ResNet").range(1, 65536),
      key(&C::blocks, "blocks", "number of residual blocks").range(0, 64),
      key(&C::block_expansion, "block_expansion", "inner width of a block = expansion × W").range(1, 64),
      key(&C::dropout, "dropout", "dropout rate at the start of each block (training forwards only)")
          .range(0.0, 0.99),
      key(&C::layer_norm, "layer_norm", "LayerNorm (ε 1e-6, learnable) in each block"),
      key(&C::lr, "lr", "peak learning rate of AdamW (β1 0.9, β2 0.999, ε 1e-8)").range(0.0, 1.0),
      key(&C::weight_decay, "weight_decay", "AdamW decoupled weight decay, on every parameter")
          .range(0.0, 1.0),
      key(&C::cosine, "lr_schedule", "cosine: lr·½(1 + cos(π·min(k, D)/D)); constant: lr")
          .choices({{"cosine", true}, {"constant", false}}),
      key(&C::decay_steps, "decay_steps", "D of the cosine decay (set it to the run's steps)")
          .range(1, 1000000000000),
  };
  return keys;
}

DdpmMlp::Config DdpmMlp::read_config(const Params& params) {
  return keys().read(params);
}

DdpmMlp::DdpmMlp(const Params& params, const BuildContext& ctx)
    : config_(read_config(params)), section_(ctx.section) {
  const auto obs_dim = ctx.spec.obs_dim, action_dim = ctx.spec.action_dim;
  if (obs_dim < 1 || action_dim < 1)
    throw ConfigError(section_ + ": ddpm_mlp needs a spec with obs_dim and action_dim");
  const DenoiserShape shape = denoiser_shape(ctx.requirements, action_dim);
  if (shape.members != 1 || shape.n_labels != 0 || !shape.time_input)
    throw ConfigError(section_ + ": ddpm_mlp is one ε-network with a time input; the algorithm asked for " +
                      std::to_string(shape.members) + " members, " + std::to_string(shape.n_labels) +
                      " labels, time input " + (shape.time_input ? "on" : "off"));
  auto generator = at::detail::createCPUGenerator(ctx.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(ctx.device);
  // Draw order: Fourier frequencies, time MLP, input layer, blocks (inner, outer), output layer.
  fourier_ = leaf(at::randn({config_.fourier_features, 1}, generator, at::kFloat).mul_(config_.fourier_std),
                  options);
  MlpConfig time;
  time.hidden_dims = {config_.time_hidden};
  time.activation = Activation::Mish;
  time_mlp_ = EnsembleMlp(1, 2 * config_.fourier_features, config_.time_hidden, time, generator, options);
  input_ = linear(action_dim + obs_dim + config_.time_hidden, config_.width, Init::XavierUniform, generator,
                  options);
  for (std::int64_t b = 0; b < config_.blocks; ++b) {
    Block block;
    if (config_.layer_norm) {
      block.ln_scale = leaf(at::ones({config_.width}, at::kFloat), options);
      block.ln_bias = leaf(at::zeros({config_.width}, at::kFloat), options);
    }
    const auto inner = config_.block_expansion * config_.width;
    block.inner = linear(config_.width, inner, Init::LecunNormal, generator, options);
    block.outer = linear(inner, config_.width, Init::LecunNormal, generator, options);
    blocks_.push_back(std::move(block));
  }
  output_ = linear(config_.width, action_dim, Init::XavierUniform, generator, options);
  dropout_generator_ = at::detail::createCPUGenerator(ctx.seed ^ 0x5DEECE66DULL);
  AdamConfig adam;
  adam.lr = config_.lr;
  adam_ = Adam(parameters(), adam);
}

at::Tensor DdpmMlp::forward_member(std::int64_t member, const at::Tensor& observations, const at::Tensor& x,
                                   const at::Tensor& t, const at::Tensor& labels) const {
  if (member != 0)
    throw ConfigError(section_ + ": ddpm_mlp has one member (asked for member " + std::to_string(member) +
                      ")");
  if (labels.defined()) throw ConfigError(section_ + ": ddpm_mlp takes no labels");
  if (!t.defined()) throw ConfigError(section_ + ": ddpm_mlp needs the step index t [B, 1]");
  const auto f = at::mm(t, fourier_.t()).mul(2.0 * M_PI);                                // [B, F]
  const auto code = time_mlp_.forward_member(0, at::cat({at::cos(f), at::sin(f)}, -1));  // [B, H_t]
  auto h = input_.forward_member(0, at::cat({x, observations, code}, -1));               // [B, W]
  const bool train = at::GradMode::is_enabled() && config_.dropout > 0.0;
  for (const auto& block : blocks_) {
    auto u = h;
    if (train) {
      const auto keep = 1.0 - config_.dropout;
      auto mask =
          at::empty(u.sizes(), at::TensorOptions().dtype(at::kFloat)).bernoulli_(keep, dropout_generator_);
      u = u * mask.to(u.device()).div_(keep);
    }
    if (config_.layer_norm) u = at::layer_norm(u, {config_.width}, block.ln_scale, block.ln_bias, 1e-6);
    u = block.outer.forward_member(0, activate(block.inner.forward_member(0, u), Activation::Mish));
    h = h + u;
  }
  return output_.forward_member(0, activate(h, Activation::Mish));
}

at::Tensor DdpmMlp::forward(const at::Tensor& observations, const at::Tensor& x, const at::Tensor& t,
                            const at::Tensor& labels) const {
  if (observations.dim() == 3 || x.dim() == 3) {
    // [1, B, ·] inputs of the one member.
    return forward_member(0, observations.dim() == 3 ? observations[0] : observations,
                          x.dim() == 3 ? x[0] : x, t, labels)
        .unsqueeze(0);
  }
  return forward_member(0, observations, x, t, labels).unsqueeze(0);
}

std::vector<at::Tensor> DdpmMlp::parameters() const {
  std::vector<at::Tensor> out{fourier_};
  for (const auto* net : {&time_mlp_, &input_}) {
    const auto p = net->parameters();
    out.insert(out.end(), p.begin(), p.end());
  }
  for (const auto& block : blocks_) {
    if (block.ln_scale.defined()) {
      out.push_back(block.ln_scale);
      out.push_back(block.ln_bias);
    }
    for (const auto* net : {&block.inner, &block.outer}) {
      const auto p = net->parameters();
      out.insert(out.end(), p.begin(), p.end());
    }
  }
  const auto p = output_.parameters();
  out.insert(out.end(), p.begin(), p.end());
  return out;
}

double DdpmMlp::current_lr() const {
  if (!config_.cosine) return config_.lr;
  const double k = static_cast<double>(std::min<std::int64_t>(adam_.steps(), config_.decay_steps));
  return config_.lr * 0.5 * (1.0 + std::cos(M_PI * k / static_cast<double>(config_.decay_steps)));
}

void DdpmMlp::step() {
  const double lr = current_lr();
  adam_.set_lr(lr);
  if (config_.weight_decay > 0.0) {
    // Decoupled decay θ ← θ − lr·λ·θ on the pre-step θ (optax adamw: the Adam update does not depend
    // on θ, so decaying before the Adam step equals decaying inside it).
    at::NoGradGuard no_grad;
    const double factor = 1.0 - lr * config_.weight_decay;
    for (auto& p : adam_.parameters()) p.mul_(factor);
  }
  adam_.step();
}

StateDict DdpmMlp::state() const {
  StateDict out;
  auto add = [&out](const StateDict& part) { out.insert(part.begin(), part.end()); };
  out["fourier"] = fourier_.detach().clone();
  add(time_mlp_.state("time."));
  add(input_.state("input."));
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const std::string prefix = "blocks." + std::to_string(b) + ".";
    if (blocks_[b].ln_scale.defined()) {
      out[prefix + "ln_scale"] = blocks_[b].ln_scale.detach().clone();
      out[prefix + "ln_bias"] = blocks_[b].ln_bias.detach().clone();
    }
    add(blocks_[b].inner.state(prefix + "inner."));
    add(blocks_[b].outer.state(prefix + "outer."));
  }
  add(output_.state("output."));
  add(adam_.state("adam."));
  out["dropout_generator"] = dropout_generator_.get_state();
  return out;
}

void DdpmMlp::load_state(const StateDict& state) {
  auto entry = [&](const std::string& key, const at::Tensor& like) -> const at::Tensor& {
    const auto it = state.find(key);
    if (it == state.end()) throw DataError(section_ + ": state has no entry '" + key + "'");
    if (like.defined() && it->second.sizes() != like.sizes())
      throw DataError(section_ + ": state entry '" + key + "' has the wrong shape");
    return it->second;
  };
  at::NoGradGuard no_grad;
  fourier_.copy_(entry("fourier", fourier_));
  time_mlp_.load_state(state, "time.");
  input_.load_state(state, "input.");
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const std::string prefix = "blocks." + std::to_string(b) + ".";
    if (blocks_[b].ln_scale.defined()) {
      blocks_[b].ln_scale.copy_(entry(prefix + "ln_scale", blocks_[b].ln_scale));
      blocks_[b].ln_bias.copy_(entry(prefix + "ln_bias", blocks_[b].ln_bias));
    }
    blocks_[b].inner.load_state(state, prefix + "inner.");
    blocks_[b].outer.load_state(state, prefix + "outer.");
  }
  output_.load_state(state, "output.");
  adam_.load_state(state, "adam.");
  dropout_generator_.set_state(entry("dropout_generator", at::Tensor()));
}

}  // namespace dipole::plugins
