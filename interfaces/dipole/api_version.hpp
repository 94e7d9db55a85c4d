// The plugin API (SDK) version. A plugin records the version it was compiled against; the runtime
// refuses a library whose version differs, naming both, before calling any of its code beyond the
// version query.
//
// The SDK is every header under this include root (`interfaces/`, installed as `include/dipole/`):
//   dipole/{algorithm,api_version,component,config_keys,critic,dataset,denoiser,environment,errors,params,
//           plugin,recorder,sampler,types,weighting}.hpp   the component interfaces and the plugin descriptor
//   dipole/sdk/{adam,assets,batch,flow,nn,npz,rl_math,sampling,slots,state_prefix}.hpp
//                                                    shared math and I/O, implemented in libdipole_core
// Plugins include nothing else (the headers under core/include/dipole/core/ are the runtime's own).
//
// Bump rule: bump the version on any change to an SDK header that a plugin compiled against the old
// header could observe: the layout of a class or struct, a virtual function (added, removed, reordered,
// signature changed), the signature or semantics of a function implemented in libdipole_core, an
// inline function or template whose behaviour changes, or the exported entry points of
// DIPOLE_PLUGIN. Comments, new free functions and new headers do not bump it. Record each bump below.
//
// History: 2 added Environment::simulator_state() and the Recorder kind; 3 added ActOptions::mode
// (evaluation vs exploration acting); 4 moved the shared math and I/O headers to dipole/sdk/, added
// the library's name, version and SDK version to PluginDescriptor, added slots (ComponentInfo::slots/
// provides, Slot, Requirements) and replaced BuildContext::denoiser by BuildContext::requirements; 5
// added ParamSpec::optional and dipole/config_keys.hpp (one declaration per key: Keys, key(), nested()),
// NetworkSettings/network_keys() and flow_time_keys(), replaced polyak_source_param()/read_polyak_source()
// by polyak_source_key(), made the "preset" network keys optional, let plugin.add<T> take T::keys, and
// removed StateParts/gather_state/scatter_state from dipole/sdk/state_prefix.hpp (SlotParts replaces them).
#pragma once

#ifndef DIPOLE_PLUGIN_API_VERSION  // overridable only so tests can build a mismatched plugin
#define DIPOLE_PLUGIN_API_VERSION 5
#endif

namespace dipole {
inline constexpr int kPluginApiVersion = DIPOLE_PLUGIN_API_VERSION;
}  // namespace dipole
