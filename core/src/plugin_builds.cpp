// Comparing the plugin builds recorded with a checkpoint (its plugins.toml text, written by
// plugin_builds_toml in pipeline.cpp) against the builds a process has loaded now.
#include <fmt/format.h>

#include <map>
#include <sstream>

#include "dipole/core/pipeline.hpp"

namespace dipole {

namespace {

/// The value of `key = "..."` or `key = 12` as written by plugin_builds_toml (\" and \\ escapes).
std::string unquote(const std::string& value) {
  if (value.size() < 2 || value.front() != '"') return value;
  std::string out;
  for (std::size_t i = 1; i + 1 < value.size(); ++i) {
    if (value[i] == '\\' && i + 2 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

/// section → "type from library_name library_version (SDK n)": what identifies a build, without the
/// library's path (which differs between machines).
std::map<std::string, std::string> identities(const std::string& toml_text) {
  std::map<std::string, std::string> out;
  std::map<std::string, std::string> table;
  const auto flush = [&] {
    if (table.count("section"))
      out[table["section"]] = fmt::format("{} from {} {} (SDK {})", table["type"], table["library_name"],
                                          table["library_version"], table["sdk_version"]);
    table.clear();
  };
  std::istringstream in(toml_text);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "[[component]]") flush();
    const auto eq = line.find(" = ");
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    table[line.substr(0, eq)] = unquote(line.substr(eq + 3));
  }
  flush();
  return out;
}

}  // namespace

std::vector<std::string> plugin_build_changes(const std::string& recorded,
                                              const std::vector<ComponentBuild>& loaded) {
  const auto before = identities(recorded);
  const auto now = identities(plugin_builds_toml(loaded));
  std::vector<std::string> changes;
  for (const auto& [section, identity] : now) {
    const auto it = before.find(section);
    if (it == before.end())
      changes.push_back(fmt::format("[{}]: {} (not in the checkpoint's record)", section, identity));
    else if (it->second != identity)
      changes.push_back(fmt::format("[{}]: written by {}, now {}", section, it->second, identity));
  }
  for (const auto& [section, identity] : before)
    if (!now.count(section))
      changes.push_back(fmt::format("[{}]: written by {}, not built now", section, identity));
  return changes;
}

}  // namespace dipole
