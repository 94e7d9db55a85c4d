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

Schema mlp_schema(const std::string& default_preset) {
  return {
      param::text("preset", default_preset,
                  "network preset (docs/algorithms.md, \"Networks and presets\"): fql = 4×512 GELU(tanh), "
                  "Linear→act→LN, LN on critics "
                  "only; cfgrl_exorl = 3×512 mish, Linear→LN→act, LN on critics and actors (actor: not on "
                  "the last hidden layer), actor output LeCun-normal")
          .one_of({"fql", "cfgrl_exorl"}),
      param::integers("hidden_dims", {}, "hidden layer widths; empty = the preset's").range(1, 1 << 20),
      param::text("activation", "preset", "hidden activation; preset = the preset's")
          .one_of({"preset", "gelu_tanh", "mish", "relu"}),
      param::text("layer_norm", "preset",
                  "LayerNorm (ε 1e-6) on hidden layers: none, all, all_but_last (no LN on the last hidden "
                  "layer); preset = the preset's for this network's role")
          .one_of({"preset", "none", "all", "all_but_last"}),
      param::text("layer_order", "preset",
                  "hidden layer order: act_norm = Linear→act→LN, norm_act = Linear→LN→act")
          .one_of({"preset", "act_norm", "norm_act"}),
      param::text("output_init", "preset",
                  "output layer init (hidden layers are always Xavier-uniform, zero bias)")
          .one_of({"preset", "xavier", "lecun_normal"}),
      param::real("output_scale", 1.0,
                  "variance multiplier of the output layer init (0.01 for actor mean heads)")
          .range(1e-12, 1e6),
      param::boolean("activate_final", false,
                     "apply the activation (and LN with layer_norm = all) after the output layer"),
  };
}

MlpConfig mlp_config(const Params& params, NetworkRole role) {
  MlpConfig config = mlp_preset(params.text("preset"), role);
  if (!params.integers("hidden_dims").empty()) config.hidden_dims = params.integers("hidden_dims");
  const auto& activation = params.text("activation");
  if (activation == "gelu_tanh") config.activation = Activation::GeluTanh;
  if (activation == "mish") config.activation = Activation::Mish;
  if (activation == "relu") config.activation = Activation::Relu;
  const auto& norm = params.text("layer_norm");
  if (norm == "none") config.layer_norm = NormPlacement::None;
  if (norm == "all") config.layer_norm = NormPlacement::All;
  if (norm == "all_but_last") config.layer_norm = NormPlacement::AllButLast;
  const auto& order = params.text("layer_order");
  if (order == "act_norm") config.order = LayerOrder::ActThenNorm;
  if (order == "norm_act") config.order = LayerOrder::NormThenAct;
  const auto& init = params.text("output_init");
  if (init == "xavier") config.output_init = Init::XavierUniform;
  if (init == "lecun_normal") config.output_init = Init::LecunNormal;
  config.output_scale = params.real("output_scale");
  config.activate_final = params.boolean("activate_final");
  return config;
}

}  // namespace dipole
