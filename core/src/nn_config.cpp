// The network configuration: presets, the schema of a network section and its reading
// (docs/algorithms.md, "Networks and presets"). The networks themselves are in nn.cpp.
#include <string>

#include "dipole/errors.hpp"
#include "dipole/sdk/nn.hpp"

namespace dipole {

const char* to_string(Activation activation) {
  switch (activation) {
    case Activation::GeluTanh:
      return "gelu_tanh";
    case Activation::Mish:
      return "mish";
    case Activation::Relu:
      return "relu";
  }
  return "?";
}

MlpConfig mlp_preset(const std::string& name, NetworkRole role) {
  MlpConfig config;
  if (name == "fql") {
    config.hidden_dims = {512, 512, 512, 512};
    config.activation = Activation::GeluTanh;
    config.order = LayerOrder::ActThenNorm;
    config.layer_norm = role == NetworkRole::Critic ? NormPlacement::All : NormPlacement::None;
    config.output_init = Init::XavierUniform;
  } else if (name == "cfgrl_exorl") {
    config.hidden_dims = {512, 512, 512};
    config.activation = Activation::Mish;
    config.order = LayerOrder::NormThenAct;
    config.layer_norm = role == NetworkRole::Critic ? NormPlacement::All : NormPlacement::AllButLast;
    config.output_init = role == NetworkRole::Critic ? Init::XavierUniform : Init::LecunNormal;
  } else {
    throw ConfigError("unknown network preset '" + name + "' (expected \"fql\" or \"cfgrl_exorl\")");
  }
  return config;
}

const Keys<NetworkSettings>& network_keys() {
  using C = NetworkSettings;
  static const Keys<C> keys{
      key(&C::preset, "preset",
          "network preset (docs/algorithms.md, \"Networks and presets\"): fql = 4×512 GELU(tanh), "
          "Linear→act→LN, LN on critics "
          "only; cfgrl_exorl = 3×512 mish, Linear→LN→act, LN on critics and actors (actor: not on "
          "the last hidden layer), actor output LeCun-normal")
          .one_of({"fql", "cfgrl_exorl"}),
      key(&C::hidden_dims, "hidden_dims", "hidden layer widths (absent: the preset's)").range(1, 1 << 20),
      key(&C::activation, "activation", "hidden activation (absent: the preset's)")
          .choices(
              {{"gelu_tanh", Activation::GeluTanh}, {"mish", Activation::Mish}, {"relu", Activation::Relu}}),
      key(&C::layer_norm, "layer_norm",
          "LayerNorm (ε 1e-6) on hidden layers: none, all, all_but_last (no LN on the last hidden "
          "layer); absent: the preset's for this network's role")
          .choices({{"none", NormPlacement::None},
                    {"all", NormPlacement::All},
                    {"all_but_last", NormPlacement::AllButLast}}),
      key(&C::layer_order, "layer_order",
          "hidden layer order: act_norm = Linear→act→LN, norm_act = Linear→LN→act (absent: the preset's)")
          .choices({{"act_norm", LayerOrder::ActThenNorm}, {"norm_act", LayerOrder::NormThenAct}}),
      key(&C::output_init, "output_init",
          "output layer init (hidden layers are always Xavier-uniform, zero bias; absent: the preset's)")
          .choices({{"xavier", Init::XavierUniform}, {"lecun_normal", Init::LecunNormal}}),
      key(&C::output_scale, "output_scale",
          "variance multiplier of the output layer init (0.01 for actor mean heads)")
          .range(1e-12, 1e6),
      key(&C::activate_final, "activate_final",
          "apply the activation (and LN with layer_norm = all) after the output layer"),
  };
  return keys;
}

MlpConfig mlp_config(const NetworkSettings& settings, NetworkRole role) {
  MlpConfig config = mlp_preset(settings.preset, role);
  if (settings.hidden_dims) config.hidden_dims = *settings.hidden_dims;
  if (settings.activation) config.activation = *settings.activation;
  if (settings.layer_norm) config.layer_norm = *settings.layer_norm;
  if (settings.layer_order) config.order = *settings.layer_order;
  if (settings.output_init) config.output_init = *settings.output_init;
  config.output_scale = settings.output_scale;
  config.activate_final = settings.activate_final;
  return config;
}

Schema mlp_schema(const std::string& default_preset) {
  NetworkSettings defaults;
  defaults.preset = default_preset;
  return network_keys().schema(defaults);
}

MlpConfig mlp_config(const Params& params, NetworkRole role) {
  return mlp_config(network_keys().read(params), role);
}

}  // namespace dipole
