// Declaring a plugin library. A plugin is a shared library with one DIPOLE_PLUGIN block:
//
//   #include <dipole/plugin.hpp>
//   DIPOLE_PLUGIN(plugin) { plugin.add<MyDataset>("my_dataset", "one-line summary"); }
//
// where MyDataset derives from dipole::Dataset, declares its keys as a static `keys` (or `keys()`)
// bound to its `Config` struct (dipole/config_keys.hpp) or as a static `schema()`, and has a constructor
// MyDataset(const dipole::Params&, const dipole::BuildContext&) or, with keys(),
// MyDataset(const MyDataset::Config&, const dipole::BuildContext&). The macro exports two symbols
// through Boost.DLL (the only symbols a plugin built by dipole_add_plugin exports): the API version
// the library was compiled against (queried first) and a function that fills in the descriptor
// (called only if the versions match). The descriptor also carries the library's name and version:
// dipole_add_plugin(<name> [VERSION x.y.z] ...) writes them into a generated header
// <dipole_plugin_build.hpp> (DIPOLE_PLUGIN_NAME, DIPOLE_PLUGIN_VERSION) that this file includes.
// A component that builds sub-components declares them as `static Slots slots(const Params&)`; one
// that offers something a slot may require (a weighting's rows, a critic's advantage) as `static
// Provides provides(const Params&)` (docs/architecture.md, "Slots").
#pragma once

#include <boost/dll/alias.hpp>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "dipole/api_version.hpp"
#include "dipole/component.hpp"
#include "dipole/params.hpp"

// Name and version of the library being built, from dipole_add_plugin (cmake/DipolePlugin.cmake). A
// generated header rather than -D flags: plugins share one precompiled header, which GCC refuses
// when a macro is defined on the command line.
#if __has_include(<dipole_plugin_build.hpp>)
#include <dipole_plugin_build.hpp>
#endif
#ifndef DIPOLE_PLUGIN_NAME
#define DIPOLE_PLUGIN_NAME ""  // the runtime then names the library by its file
#endif
#ifndef DIPOLE_PLUGIN_VERSION
#define DIPOLE_PLUGIN_VERSION ""
#endif

namespace dipole {

using Factory = std::function<std::unique_ptr<Component>(const Params&, const BuildContext&)>;
using SlotsFn = std::function<Slots(const Params&)>;
using ProvidesFn = std::function<Provides(const Params&)>;

namespace detail {
template <class T, class = void>
struct has_slots : std::false_type {};
template <class T>
struct has_slots<T, std::void_t<decltype(T::slots(std::declval<const Params&>()))>> : std::true_type {};
template <class T, class = void>
struct has_provides : std::false_type {};
template <class T>
struct has_provides<T, std::void_t<decltype(T::provides(std::declval<const Params&>()))>> : std::true_type {};
template <class T, class = void>
struct has_keys : std::false_type {};
template <class T>
struct has_keys<T, std::void_t<decltype(&T::keys)>> : std::true_type {};
/// T's keys (dipole/config_keys.hpp): a static function `keys()` or a static data member `keys`.
template <class T>
const auto& keys_of() {
  if constexpr (std::is_function_v<std::remove_pointer_t<decltype(&T::keys)>>)
    return T::keys();
  else
    return T::keys;
}
}  // namespace detail

/// One creatable type provided by a library.
struct ComponentInfo {
  Kind kind = Kind::Dataset;
  std::string type;     ///< the `type = "..."` name used in pipelines; unique across libraries
  std::string summary;  ///< one line for `dipole plugins`
  Schema schema;        ///< every config key, documented
  Factory create;
  SlotsFn slots;        ///< the sub-components it builds, given its Params (empty: none)
  ProvidesFn provides;  ///< what it offers to slot requirements (empty: nothing)
};

/// What a library provides. Filled by the DIPOLE_PLUGIN block.
struct PluginDescriptor {
  std::string name;     ///< the library's name (dipole_add_plugin's target name)
  std::string version;  ///< the library's version (dipole_add_plugin's VERSION, else its project's)
  int api_version = 0;  ///< the SDK version it was compiled against (DIPOLE_PLUGIN_API_VERSION)
  std::vector<ComponentInfo> components;

  /// Register T (derived from one of the component interfaces, constructible from
  /// (const Params&, const BuildContext&)) under `type`.
  template <class T>
  void add(std::string type, std::string summary, Schema schema) {
    ComponentInfo info;
    info.kind = T::kKind;
    info.type = std::move(type);
    info.summary = std::move(summary);
    info.schema = std::move(schema);
    info.create = [](const Params& params, const BuildContext& ctx) -> std::unique_ptr<Component> {
      if constexpr (std::is_constructible_v<T, const Params&, const BuildContext&>)
        return std::make_unique<T>(params, ctx);
      else  // a constructor taking its Config, read by T::keys() (docs/plugin_tutorial.md)
        return std::make_unique<T>(detail::keys_of<T>().read(params), ctx);
    };
    if constexpr (detail::has_slots<T>::value) info.slots = [](const Params& p) { return T::slots(p); };
    if constexpr (detail::has_provides<T>::value)
      info.provides = [](const Params& p) { return T::provides(p); };
    components.push_back(std::move(info));
  }
  /// The same with the schema of T's keys (docs/architecture.md, "One declaration per key"), else
  /// T::schema().
  template <class T>
  void add(std::string type, std::string summary) {
    if constexpr (detail::has_keys<T>::value)
      add<T>(std::move(type), std::move(summary), detail::keys_of<T>().schema());
    else
      add<T>(std::move(type), std::move(summary), T::schema());
  }
};

using PluginApiVersionFn = int();
using PluginDescribeFn = void(PluginDescriptor&);

}  // namespace dipole

// NOLINTBEGIN(bugprone-macro-parentheses): `descriptor` names a parameter, it is not an expression
#define DIPOLE_PLUGIN(descriptor)                                                \
  static void dipole_plugin_register_components(::dipole::PluginDescriptor&);    \
  namespace dipole_plugin_exports {                                              \
  inline int api_version() {                                                     \
    return DIPOLE_PLUGIN_API_VERSION;                                            \
  }                                                                              \
  inline void describe(::dipole::PluginDescriptor& d) {                          \
    d.name = DIPOLE_PLUGIN_NAME;                                                 \
    d.version = DIPOLE_PLUGIN_VERSION;                                           \
    d.api_version = DIPOLE_PLUGIN_API_VERSION;                                   \
    dipole_plugin_register_components(d);                                        \
  }                                                                              \
  }                                                                              \
  BOOST_DLL_ALIAS(dipole_plugin_exports::api_version, dipole_plugin_api_version) \
  BOOST_DLL_ALIAS(dipole_plugin_exports::describe, dipole_plugin_describe)       \
  static void dipole_plugin_register_components(::dipole::PluginDescriptor& descriptor)
// NOLINTEND(bugprone-macro-parentheses)
