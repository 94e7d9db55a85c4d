// The plugin registry: finds plugin libraries, checks their API version, records what each provides
// and creates components by (kind, type name). Every created object holds a reference to its
// library, so a library stays loaded for as long as any of its objects lives.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dipole/component.hpp"
#include "dipole/plugin.hpp"

namespace boost::dll {
class shared_library;
}

namespace dipole {

/// A loaded library and what it provides. `library` is declared first so that it is destroyed
/// last: the ComponentInfo factories are code inside the library.
struct LoadedPlugin {
  std::shared_ptr<boost::dll::shared_library> library;
  std::string path;
  std::string name;     ///< from the descriptor; the file name without `lib` and `.so` if it gave none
  std::string version;  ///< from the descriptor; "unversioned" if it gave none
  int api_version = 0;  ///< the SDK version the library was built against (equal to kPluginApiVersion)
  std::vector<ComponentInfo> components;
};

/// Copies are cheap and share the loaded libraries.
class Registry {
 public:
  /// Search path: `dipole/plugins` beside libdipole_core (the build tree's or the installation's
  /// plugin directory, which have the same relative layout), then every directory of
  /// DIPOLE_PLUGIN_PATH (colon-separated), in that order, skipping missing ones.
  static std::vector<std::string> default_search_path();

  /// An empty registry; call load_directory()/load_library() or use `with_default_plugins()`.
  Registry();
  /// A registry holding every plugin found on default_search_path().
  static Registry with_default_plugins();

  /// Load every lib*.so in `directory` (non-recursive, sorted by name).
  void load_directory(const std::string& directory);
  /// Load one library. Throws PluginError: missing file, not a shared library, missing entry
  /// symbol, API version mismatch (naming both versions), a type name another library already provides.
  void load_library(const std::string& path);

  /// Create a component. Throws PluginError for an unknown type, listing the known types of that kind.
  std::shared_ptr<Component> create(Kind kind, const std::string& type, const Params& params,
                                    const BuildContext& ctx) const;
  /// The registered description of a type (schema, summary). Throws like create().
  const ComponentInfo& info(Kind kind, const std::string& type) const;
  /// The library that provides a type. Throws like create().
  const LoadedPlugin& provider(Kind kind, const std::string& type) const;
  /// Sorted type names of one kind.
  std::vector<std::string> types(Kind kind) const;
  /// Every loaded library, in load order.
  const std::vector<std::shared_ptr<LoadedPlugin>>& plugins() const;

 private:
  struct Data;
  std::shared_ptr<Data> data_;
};

}  // namespace dipole
