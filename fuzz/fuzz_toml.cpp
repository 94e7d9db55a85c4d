// libFuzzer target: the TOML pipeline reader with `extends`. The input is up to three parts separated
// by a line "#---": the pipeline text, the text of base.toml (which the pipeline may name with
// extends = "base.toml"), and --set overrides, one per line. Every section is then validated against a
// schema of each value kind and the resolved pipeline rendered.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dipole/core/config.hpp"
#include "dipole/errors.hpp"
#include "dipole/params.hpp"
#include "fuzz_util.hpp"

namespace {

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + separator.size();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto parts = split(input, "\n#---\n");
  const std::string base = parts.size() > 1 ? parts[1] : "";
  dipole::fuzz::scratch_file("base.toml", reinterpret_cast<const std::uint8_t*>(base.data()), base.size());
  std::vector<std::string> overrides;
  if (parts.size() > 2)
    for (const auto& line : split(parts[2], "\n"))
      if (!line.empty()) overrides.push_back(line);
  using namespace dipole;
  const Schema schema = {param::real("lr", 3e-4, "").range(0, 1),
                         param::integer("steps", 10, "").at_least(0),
                         param::text("type", "x", ""),
                         param::boolean("flag", false, ""),
                         param::reals("omegas", {}, ""),
                         param::integers("hidden_dims", {}, "").at_least(1),
                         param::texts("names", {}, ""),
                         param::real("beta", 1.0, "")};
  try {
    auto pipeline = config::Pipeline::parse(parts[0], "fuzz.toml", overrides, fuzz::scratch_dir());
    for (const auto& section : pipeline.top_level_sections()) {
      try {
        pipeline.validate(section, "fuzz", schema);
      } catch (const ConfigError&) {
      }
    }
    pipeline.unused_sections();
    pipeline.resolved_toml();
  } catch (const dipole::Error&) {
  }
  return 0;
}
