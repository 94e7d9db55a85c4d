#include "sweep_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "dipole/core/config.hpp"
#include "dipole/core/pipeline.hpp"
#include "dipole/errors.hpp"

namespace dipole::sweep {

namespace fs = std::filesystem;

std::vector<std::string> PlannedRun::override_texts() const {
  std::vector<std::string> out;
  for (const auto& o : overrides) out.push_back(o.text);
  return out;
}

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
    text.replace(pos, from.size(), to);
  return text;
}

/// The method's pipeline path: {task}/{method} substituted, relative to the sweep file's folder.
std::string pipeline_path(const SweepFile& sweep, const Method& method, const std::string& task) {
  fs::path p = replace_all(replace_all(method.pipeline, "{task}", task), "{method}", method.name);
  if (p.is_relative()) p = fs::path(sweep.path).parent_path() / p;
  return fs::absolute(p).lexically_normal().string();
}

bool applies(const Axis& axis, const std::string& method) {
  return axis.methods.empty() ||
         std::find(axis.methods.begin(), axis.methods.end(), method) != axis.methods.end();
}

struct Builder {
  const SweepFile& sweep;
  std::vector<PlannedRun> runs;
  std::map<std::string, std::string> names;  // run name → where it came from

  // axis_points: per axis of the sweep, the chosen point index or -1 (axis not applied).
  void add(const Method& method, const Task& task, std::int64_t seed, const std::vector<int>& axis_points,
           const std::string& where) {
    PlannedRun run;
    run.method = method.name;
    run.task = task.name;
    run.seed = seed;
    run.where = where;
    run.pipeline = pipeline_path(sweep, method, task.name);
    for (const auto& s : sweep.set) run.overrides.push_back({s, sweep.set_where + " set"});
    for (const auto& s : method.set)
      run.overrides.push_back({s, method.where + " [methods." + method.name + "] set"});
    for (const auto& s : task.set)
      run.overrides.push_back({s, task.where + " [tasks." + task.name + "] set"});
    if (const auto it = task.method_set.find(method.name); it != task.method_set.end())
      for (const auto& s : it->second)
        run.overrides.push_back({s, task.where + " [tasks." + task.name + "] method_set." + method.name});
    std::string axis_dir;
    for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
      if (axis_points[a] < 0) continue;
      const Axis& axis = sweep.axes[a];
      const auto p = static_cast<std::size_t>(axis_points[a]);
      run.axes.emplace_back(axis.name, axis.labels[p]);
      for (std::size_t k = 0; k < axis.keys.size(); ++k)
        run.overrides.push_back(
            {axis.keys[k] + "=" + axis.points[p][k], axis.where + " [axes." + axis.name + "]"});
      axis_dir += (axis_dir.empty() ? "" : ",") + axis.name + "=" + axis.labels[p];
    }
    run.overrides.push_back({fmt::format("{}={}", sweep.seed_key, seed), sweep.seeds_where + " seeds"});
    run.name = task.name + "/" + method.name + "/" + (axis_dir.empty() ? "" : axis_dir + "/") +
               fmt::format("seed{}", seed);
    run.dir = (fs::path(sweep.out) / run.name).string();
    if (names.count(run.name)) return;  // an include row repeating a run of the grid
    names[run.name] = where;
    runs.push_back(std::move(run));
  }
};

const Method* find_method(const SweepFile& sweep, const std::string& name) {
  for (const auto& m : sweep.methods)
    if (m.name == name) return &m;
  return nullptr;
}
const Task* find_task(const SweepFile& sweep, const std::string& name) {
  for (const auto& t : sweep.tasks)
    if (t.name == name) return &t;
  return nullptr;
}
int find_axis(const SweepFile& sweep, const std::string& name) {
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    if (sweep.axes[a].name == name) return static_cast<int>(a);
  return -1;
}

/// Checks a row's fields name a method, task, seed or axis and values that exist.
void check_row(const SweepFile& sweep, const Row& row, const std::string& kind) {
  for (const auto& [field, value] : row.fields) {
    const std::string& at = row.field_where.at(field);
    if (field == "method") {
      if (!find_method(sweep, value))
        throw ConfigError(fmt::format("{}: [[{}]] method '{}' is not one of [methods]", at, kind, value));
    } else if (field == "task") {
      if (!find_task(sweep, value))
        throw ConfigError(fmt::format("{}: [[{}]] task '{}' is not one of [tasks]", at, kind, value));
    } else if (field == "seed") {
      bool known = kind == "include";
      for (auto s : sweep.seeds) known |= std::to_string(s) == value;
      if (!known) throw ConfigError(fmt::format("{}: [[{}]] seed {} is not one of seeds", at, kind, value));
    } else {
      const int a = find_axis(sweep, field);
      if (a < 0)
        throw ConfigError(fmt::format(
            "{}: [[{}]] unknown field '{}' (expected method, task, seed or an axis name)", at, kind, field));
      const auto& labels = sweep.axes[static_cast<std::size_t>(a)].labels;
      if (std::find(labels.begin(), labels.end(), value) == labels.end())
        throw ConfigError(fmt::format("{}: [[{}]] {} = {} is not a value of axis '{}' (its labels: {})", at,
                                      kind, field, value, field, fmt::join(labels, ", ")));
    }
  }
}

bool matches(const Row& row, const PlannedRun& run) {
  for (const auto& [field, value] : row.fields) {
    if (field == "method") {
      if (run.method != value) return false;
    } else if (field == "task") {
      if (run.task != value) return false;
    } else if (field == "seed") {
      if (std::to_string(run.seed) != value) return false;
    } else {
      bool found = false;
      for (const auto& [name, label] : run.axes) found |= name == field && label == value;
      if (!found) return false;
    }
  }
  return true;
}

}  // namespace

std::vector<PlannedRun> expand(const SweepFile& sweep) {
  for (const auto& axis : sweep.axes)
    for (const auto& m : axis.methods)
      if (!find_method(sweep, m))
        throw ConfigError(fmt::format("{}: axes.{}.methods names '{}', which is not one of [methods]",
                                      axis.where, axis.name, m));
  for (const auto& row : sweep.exclude) check_row(sweep, row, "exclude");
  for (const auto& row : sweep.include) {
    check_row(sweep, row, "include");
    if (!row.fields.count("method") || !row.fields.count("task"))
      throw ConfigError(fmt::format("{}: an [[include]] row needs a method and a task", row.where));
  }

  Builder b{sweep, {}, {}};
  for (const auto& task : sweep.tasks) {
    for (const auto& method : sweep.methods) {
      // Every combination of the axes that apply to this method (the first axis outermost).
      std::vector<int> point(sweep.axes.size(), -1);
      std::vector<std::size_t> active;
      for (std::size_t a = 0; a < sweep.axes.size(); ++a)
        if (applies(sweep.axes[a], method.name)) active.push_back(a);
      std::function<void(std::size_t)> combine = [&](std::size_t i) {
        if (i == active.size()) {
          for (auto seed : sweep.seeds) b.add(method, task, seed, point, method.where);
          return;
        }
        for (std::size_t p = 0; p < sweep.axes[active[i]].points.size(); ++p) {
          point[active[i]] = static_cast<int>(p);
          combine(i + 1);
        }
      };
      combine(0);
    }
  }
  // Exclude rows apply to the grid only; include rows add runs afterwards.
  std::vector<PlannedRun> kept;
  for (auto& run : b.runs) {
    bool excluded = false;
    for (const auto& row : sweep.exclude) excluded |= matches(row, run);
    if (excluded)
      b.names.erase(run.name);
    else
      kept.push_back(std::move(run));
  }
  b.runs = std::move(kept);
  for (const auto& row : sweep.include) {
    const Method& method = *find_method(sweep, row.fields.at("method"));
    const Task& task = *find_task(sweep, row.fields.at("task"));
    std::vector<int> point(sweep.axes.size(), -1);
    for (const auto& [field, value] : row.fields) {
      const int a = find_axis(sweep, field);
      if (a < 0) continue;
      const auto& labels = sweep.axes[static_cast<std::size_t>(a)].labels;
      point[static_cast<std::size_t>(a)] =
          static_cast<int>(std::find(labels.begin(), labels.end(), value) - labels.begin());
    }
    std::vector<std::int64_t> seeds = sweep.seeds;
    if (row.fields.count("seed")) {
      try {
        seeds = {std::stoll(row.fields.at("seed"))};
      } catch (const std::exception&) {
        throw ConfigError(fmt::format("{}: [[include]] seed must be an integer", row.field_where.at("seed")));
      }
    }
    for (auto seed : seeds) b.add(method, task, seed, point, row.where + " [[include]]");
  }
  if (b.runs.empty())
    throw ConfigError(fmt::format("{}: the sweep has no runs (every run excluded?)", sweep.path));
  for (std::size_t i = 0; i < b.runs.size(); ++i) b.runs[i].index = i;
  return b.runs;
}

namespace {

/// Validates a section against the schema of `type` (looked up among the kinds that provide it, the
/// kind named like the section first), then its nested component tables.
void validate_section(config::Pipeline& pipeline, const Registry& registry, const std::string& section) {
  const std::string type = pipeline.type_of(section);
  static const Kind kinds[] = {Kind::Dataset,   Kind::Environment, Kind::Critic,    Kind::Denoiser,
                               Kind::Weighting, Kind::Sampler,     Kind::Algorithm, Kind::Recorder};
  const ComponentInfo* info = nullptr;
  const std::string leaf = section.substr(section.rfind('.') + 1);
  for (Kind kind : kinds) {
    const auto types = registry.types(kind);
    if (std::find(types.begin(), types.end(), type) == types.end()) continue;
    if (!info || leaf == to_string(kind)) info = &registry.info(kind, type);
  }
  if (!info)
    throw PluginError(
        fmt::format("{} [{}]: no loaded plugin provides type '{}' (`dipole plugins` lists them)",
                    pipeline.source(), section, type));
  pipeline.validate(section, type, info->schema);
  for (const auto& spec : info->schema)
    if (spec.type == ParamType::Component && pipeline.has_section(section + "." + spec.key))
      validate_section(pipeline, registry, section + "." + spec.key);
}

}  // namespace

void validate(const std::vector<PlannedRun>& runs, const Registry& registry) {
  std::string first;
  std::size_t failing = 0;
  for (const auto& run : runs) {
    try {
      config::Pipeline pipeline = config::Pipeline::load(run.pipeline, run.override_texts());
      const Params trainer = pipeline.validate("trainer", "trainer", trainer_schema());
      // A sweep run is one seed in one directory: trainer.seeds would train several seeds into
      // subdirectories the sweep does not look in (docs/seeds.md).
      if (trainer_keys().read(trainer).seeds)
        throw ConfigError(fmt::format(
            "{}: trainer.seeds trains several seeds in one run, but a sweep run is one seed; list the "
            "seeds in the sweep's `seeds` and remove trainer.seeds",
            trainer.where("seeds")));
      pipeline.validate("eval", "eval", eval_schema());
      for (const auto& section : pipeline.top_level_sections())
        if (section != "trainer" && section != "eval" && pipeline.value_text(section + ".type"))
          validate_section(pipeline, registry, section);
      const auto unused = pipeline.unused_sections();
      if (!unused.empty())
        throw ConfigError(fmt::format("{}: no component uses it (a typo, or a table without type = \"...\")",
                                      unused.front()));
    } catch (const Error& e) {
      if (failing++ > 0) continue;
      std::string message = e.what();
      // Name the sweep file line behind an override the message mentions.
      std::string origin;
      for (const auto& o : run.overrides)
        if (message.find(o.text) != std::string::npos ||
            message.find(o.text.substr(0, o.text.find('='))) != std::string::npos)
          origin = o.where;
      first = fmt::format("run {} ({}, {}): {}{}", run.index, run.name, run.where, message,
                          origin.empty() ? "" : "\n  set at " + origin);
    }
  }
  if (failing > 0)
    throw ConfigError(
        fmt::format("{}\n{} of {} runs fail validation; nothing was started", first, failing, runs.size()));
}

bool is_done(const PlannedRun& run) {
  return fs::exists(fs::path(run.dir) / "sweep.done");
}

}  // namespace dipole::sweep
