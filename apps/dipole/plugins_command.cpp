#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "dipole/core/registry.hpp"
#include "dipole/plugin.hpp"
#include "options.hpp"

namespace dipole::cli {
namespace {

/// The type's Params with every default filled in (keys without a default stay absent).
Params default_params(Kind kind, const std::string& type, const Schema& schema) {
  Params params(to_string(kind), type);
  for (const auto& spec : schema)
    if (spec.default_value) params.set(spec.key, *spec.default_value);
  return params;
}

/// The sections a user writes for this type's slots (docs/architecture.md, "Slots"), and what it provides.
void print_slots(Kind kind, const std::string& type, const ComponentInfo& info) {
  const Params params = default_params(kind, type, info.schema);
  if (info.provides) {
    std::vector<std::string> offers;
    try {
      for (const auto& [key, value] : info.provides(params))
        offers.push_back(value ? fmt::format("{} = {}", key, *value) : fmt::format("{} = any", key));
      std::cout << fmt::format("  provides (with the defaults): {}\n", fmt::join(offers, ", "));
    } catch (const ConfigError&) {
      std::cout << "  provides: depends on required keys\n";
    }
  }
  if (!info.slots) return;
  Slots slots;
  try {
    slots = info.slots(params);
  } catch (const ConfigError&) {
    std::cout << "  sections: depend on required keys\n";
    return;
  }
  std::cout << "  sections it builds (with the defaults above; each needs its own table with a type):\n";
  const std::string own = kind == Kind::Algorithm ? "algorithm" : "<this section>";
  for (const Slot& slot : slots) {
    std::vector<std::string> needs;
    for (const auto& [key, value] : slot.needs) needs.push_back(fmt::format("{} = {}", key, value));
    std::cout << fmt::format("    [{}] {}{}{}: {}\n", slot.section_in(own), to_string(slot.kind),
                             needs.empty() ? "" : fmt::format(" requiring {}", fmt::join(needs, ", ")),
                             slot.optional ? " (optional)" : "",
                             slot.name == slot.section_in(own) || slot.nested
                                 ? slot.doc
                                 : fmt::format("{} ({})", slot.doc, slot.name));
  }
}

}  // namespace

int plugins_command(const Args& args) {
  po::options_description options("options");
  std::string kind_filter, type_filter;
  options.add_options()(
      "kind", po::value(&kind_filter),
      "only this kind (dataset, environment, critic, denoiser, weighting, sampler, algorithm)")(
      "type", po::value(&type_filter), "only this type name")("brief", "one line per type, without keys");
  po::positional_options_description positional;
  positional.add("type", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: dipole plugins [type] [--kind K] [--brief]", options, positional, vm))
    return 0;

  const Registry registry = Registry::with_default_plugins();
  const bool brief = vm.count("brief") != 0;
  std::cout << "search path:";
  for (const auto& dir : Registry::default_search_path()) std::cout << " " << dir;
  std::cout << "\n";
  if (kind_filter.empty() && type_filter.empty()) {  // every library: name, version, SDK version, file
    std::cout << fmt::format("libraries (this runtime: SDK {}):\n", kPluginApiVersion);
    for (const auto& library : registry.plugins())
      std::cout << fmt::format("  {:<24} {:<12} SDK {}  {}\n", library->name, library->version,
                               library->api_version, library->path);
  }
  bool any = false;
  for (Kind kind : {Kind::Dataset, Kind::Environment, Kind::Algorithm, Kind::Critic, Kind::Denoiser,
                    Kind::Weighting, Kind::Sampler, Kind::Recorder}) {
    if (!kind_filter.empty() && kind_filter != to_string(kind)) continue;
    for (const auto& type : registry.types(kind)) {
      if (!type_filter.empty() && type_filter != type) continue;
      any = true;
      const ComponentInfo& info = registry.info(kind, type);
      std::cout << fmt::format(fmt::runtime(brief ? "{:<12} {:<16} {}\n" : "\n{:<12} {:<16} {}\n"),
                               to_string(kind), type, info.summary);
      if (brief) continue;
      const LoadedPlugin& library = registry.provider(kind, type);
      std::cout << fmt::format("    from {} {} (SDK {}): {}\n", library.name, library.version,
                               library.api_version, library.path);
      for (const auto& p : info.schema) {
        std::string range;
        if (p.min && p.max)
          range = fmt::format(" in [{}, {}]", *p.min, *p.max);
        else if (p.min)
          range = fmt::format(" >= {}", *p.min);
        else if (p.max)
          range = fmt::format(" <= {}", *p.max);
        if (!p.choices.empty()) range = fmt::format(" one of {}", fmt::join(p.choices, "|"));
        const std::string def = p.type == ParamType::Component ? "(table)"
                                : p.optional                   ? "(optional)"
                                : p.default_value              ? to_toml(*p.default_value)
                                                               : "(required)";
        std::cout << fmt::format("    {:<22} {:<11} = {:<12} {}{}\n", p.key, to_string(p.type), def, p.doc,
                                 range);
      }
      print_slots(kind, type, info);
    }
  }
  if (!any) throw PluginError("no plugin type matches the filter");
  return 0;
}

}  // namespace dipole::cli
