// The plugin API version. A plugin records the version it was compiled against; the runtime
// refuses a library whose version differs, before calling any of its code beyond the version query.
// Bump it on any change to an interface header that alters layout or virtual tables.
// History: 2 added Environment::simulator_state() and the Recorder kind; 3 added ActOptions::mode
// (evaluation vs exploration acting).
#pragma once

#ifndef DIPOLE_PLUGIN_API_VERSION  // overridable only so tests can build a mismatched plugin
#define DIPOLE_PLUGIN_API_VERSION 3
#endif

namespace dipole {
inline constexpr int kPluginApiVersion = DIPOLE_PLUGIN_API_VERSION;
}  // namespace dipole
