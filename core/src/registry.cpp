#include "dipole/core/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <utility>

#include "elf_check.hpp"

namespace dipole {

namespace fs = std::filesystem;

struct Registry::Data {
  std::vector<std::shared_ptr<LoadedPlugin>> plugins;
  /// (kind, type) → the library and the description it registered.
  std::map<std::pair<Kind, std::string>, std::pair<std::shared_ptr<LoadedPlugin>, const ComponentInfo*>>
      types;
};

Registry::Registry() : data_(std::make_shared<Data>()) {}

std::vector<std::string> Registry::default_search_path() {
  std::vector<std::string> dirs;
  // libdipole_core lives in <lib>/ of both the build tree and an installation; plugins in
  // <lib>/dipole/plugins.
  const fs::path core_dir = boost::dll::this_line_location().parent_path().string();
  dirs.push_back((core_dir / "dipole" / "plugins").string());
  if (const char* extra = std::getenv("DIPOLE_PLUGIN_PATH")) {
    std::string list = extra;
    std::size_t start = 0;
    while (start <= list.size()) {
      const std::size_t end = std::min(list.find(':', start), list.size());
      if (end > start) dirs.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  return dirs;
}

Registry Registry::with_default_plugins() {
  Registry registry;
  const auto dirs = default_search_path();
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    std::error_code ec;
    if (fs::is_directory(dirs[i], ec))
      registry.load_directory(dirs[i]);
    else if (i > 0)  // the built-in directory may be absent; a directory the user named must exist
      throw PluginError(
          fmt::format("plugin directory '{}' (from DIPOLE_PLUGIN_PATH) does not exist", dirs[i]));
  }
  return registry;
}

void Registry::load_directory(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw PluginError(fmt::format("plugin directory '{}' does not exist", directory));
  std::vector<fs::path> libraries;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("lib", 0) == 0 && entry.path().extension() == ".so")
      libraries.push_back(entry.path());
  }
  std::sort(libraries.begin(), libraries.end());
  for (const auto& library : libraries) load_library(library.string());
}

void Registry::load_library(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw PluginError(fmt::format("plugin library '{}' does not exist", path));
  const std::string canonical = fs::canonical(path).string();
  for (const auto& loaded : data_->plugins)
    if (loaded->path == canonical) return;  // the same file reached twice through the search path

  // A truncated file would be mapped past its end (SIGBUS inside dlopen); a sanitized one would abort.
  detail::check_elf_library(canonical);
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(canonical, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginError(fmt::format("cannot load plugin library '{}': {}", canonical, e.what()));
  }
  const char* version_symbol = "dipole_plugin_api_version";
  const char* describe_symbol = "dipole_plugin_describe";
  for (const char* symbol : {version_symbol, describe_symbol}) {
    if (!library->has(symbol))
      throw PluginError(fmt::format(
          "'{}' is not a Dipole plugin: it does not export '{}' (declare the plugin with DIPOLE_PLUGIN "
          "from <dipole/plugin.hpp>)",
          canonical, symbol));
  }
  const int version = library->get_alias<PluginApiVersionFn>(version_symbol)();
  if (version != kPluginApiVersion)
    throw PluginError(fmt::format(
        "plugin '{}' was built against Dipole plugin API version {} (the SDK version, "
        "DIPOLE_PLUGIN_API_VERSION in <dipole/api_version.hpp>), but this runtime provides version {}; "
        "rebuild the plugin against the installed Dipole headers",
        canonical, version, kPluginApiVersion));

  auto loaded = std::make_shared<LoadedPlugin>();
  loaded->library = library;
  loaded->path = canonical;
  PluginDescriptor descriptor;
  library->get_alias<PluginDescribeFn>(describe_symbol)(descriptor);
  loaded->components = std::move(descriptor.components);
  loaded->api_version = descriptor.api_version;
  loaded->name = descriptor.name;
  if (loaded->name.empty()) {
    loaded->name = fs::path(canonical).stem().string();
    if (loaded->name.rfind("lib", 0) == 0) loaded->name.erase(0, 3);
  }
  loaded->version = descriptor.version.empty() ? "unversioned" : descriptor.version;

  // Check every name before registering any, so a failed load leaves the registry unchanged.
  std::map<std::pair<Kind, std::string>, const ComponentInfo*> added;
  for (const auto& info : loaded->components) {
    const auto key = std::make_pair(info.kind, info.type);
    if (auto it = data_->types.find(key); it != data_->types.end())
      throw PluginError(
          fmt::format("{} type '{}' is provided by both '{}' and '{}'; remove one of them from the "
                      "plugin search path",
                      to_string(info.kind), info.type, it->second.first->path, canonical));
    if (!added.emplace(key, &info).second)
      throw PluginError(fmt::format("plugin '{}' registers {} type '{}' twice", canonical,
                                    to_string(info.kind), info.type));
    if (!info.create)
      throw PluginError(fmt::format("plugin '{}': type '{}' has no factory", canonical, info.type));
  }
  for (const auto& [key, info] : added) data_->types.emplace(key, std::make_pair(loaded, info));
  data_->plugins.push_back(std::move(loaded));
}

const ComponentInfo& Registry::info(Kind kind, const std::string& type) const {
  auto it = data_->types.find({kind, type});
  if (it == data_->types.end()) {
    const auto known = types(kind);
    throw PluginError(fmt::format(
        "unknown {} type '{}'; known {} types: {}", to_string(kind), type, to_string(kind),
        known.empty() ? std::string("(none loaded)") : fmt::format("{}", fmt::join(known, ", "))));
  }
  return *it->second.second;
}

std::shared_ptr<Component> Registry::create(Kind kind, const std::string& type, const Params& params,
                                            const BuildContext& ctx) const {
  const ComponentInfo& description = info(kind, type);
  std::shared_ptr<LoadedPlugin> owner = data_->types.at({kind, type}).first;
  std::unique_ptr<Component> object = description.create(params, ctx);
  if (!object) throw PluginError(fmt::format("{} type '{}' returned no object", to_string(kind), type));
  // The deleter owns a reference to the library: it is unloaded only after the object is gone.
  return std::shared_ptr<Component>(object.release(), [owner = std::move(owner)](Component* p) { delete p; });
}

const LoadedPlugin& Registry::provider(Kind kind, const std::string& type) const {
  info(kind, type);  // the error for an unknown type
  return *data_->types.at({kind, type}).first;
}

std::vector<std::string> Registry::types(Kind kind) const {
  std::vector<std::string> names;
  for (const auto& [key, value] : data_->types)
    if (key.first == kind) names.push_back(key.second);
  return names;  // std::map order: already sorted
}

const std::vector<std::shared_ptr<LoadedPlugin>>& Registry::plugins() const {
  return data_->plugins;
}

}  // namespace dipole
