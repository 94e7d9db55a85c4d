#include "dipole/core/pipeline.hpp"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace dipole {

const Keys<TrainerConfig>& trainer_keys() {
  using C = TrainerConfig;
  static const Keys<C> keys{
      key(&C::steps, "steps", "number of gradient updates").range(0, 1'000'000'000'000),
      key(&C::batch_size, "batch_size", "transitions per update").range(1, 1 << 24),
      key(&C::seed, "seed", "seed of initialisation, data sampling and update noise").at_least(0),
      key(&C::seeds, "seeds",
          "train these seeds together in one process; replaces `seed`: seed N in <out>/seed<N>/, a run "
          "directory like that of a run with seed = N alone (docs/seeds.md)"),
      key(&C::log_interval, "log_interval", "steps between metric rows (metrics.csv / metrics.jsonl)")
          .at_least(1),
      key(&C::eval_interval, "eval_interval", "steps between evaluations (0: only at the end)").at_least(0),
      key(&C::checkpoint_interval, "checkpoint_interval", "steps between checkpoints (0: only at the end)")
          .at_least(0),
      key(&C::device, "device", "torch device of parameters and batches: cpu, cuda, cuda:1, mps, ..."),
      key(&C::threads, "threads",
          "intra-op CPU threads: ATen's and Dipole's kernels, including the training products on "
          "AVX-512 machines (0: LibTorch's default; docs/performance.md, \"Threads\")")
          .range(0, 256),
  };
  return keys;
}
Schema trainer_schema() {
  return trainer_keys().schema();
}

const Keys<EvalConfig>& eval_keys() {
  using C = EvalConfig;
  static const Keys<C> keys{
      key(&C::episodes, "episodes", "episodes per evaluation").range(1, 1'000'000),
      key(&C::parallel, "parallel", "environment instances stepped together (one act() per step)")
          .range(1, 4096),
      key(&C::omegas, "omegas", "guidance weights ω to evaluate (absent: the sampler's configured ω)"),
      key(&C::num_candidates, "num_candidates",
          "rejection-sampling N_c values to evaluate (absent: configured)"),
      key(&C::seed, "seed", "episode i is reset with seed + i").at_least(0),
  };
  return keys;
}
Schema eval_schema() {
  return eval_keys().schema();
}

const Keys<OnlineConfig>& online_keys() {
  using C = OnlineConfig;
  static const Keys<C> keys{
      key(&C::steps, "steps",
          "online updates after the trainer's `steps` offline updates; each is preceded by an "
          "exploration step every `updates_per_step` updates (0: no online phase)")
          .at_least(0),
      key(&C::buffer_size, "buffer_size",
          "replay ring capacity; the ring holds max(buffer_size, N_data + 1) rows, the dataset "
          "first (FQL's rule)")
          .at_least(1),
      key(&C::size_rule, "size_rule",
          "fql: size = max(pointer, size), the last slot is never sampled and a full ring overwrites "
          "dataset rows from row 0 (FQL); count: size = min(rows written, capacity)")
          .one_of({"fql", "count"}),
      key(&C::balanced_sampling, "balanced_sampling",
          "false: uniform over dataset + online rows (FQL's default); true: online rows in their "
          "own ring of buffer_size rows, each batch B/2 dataset rows then B/2 online rows (RLPD)"),
      key(&C::updates_per_step, "updates_per_step", "gradient updates per exploration step (FQL: 1)")
          .range(1, 1000),
      key(&C::envs, "envs",
          "exploration environment instances stepped together, one batched act() per step; "
          "each step adds one transition per instance (FQL: 1)")
          .range(1, 1024),
      key(&C::omega, "omega", "exploration guidance weight ω (absent: the sampler's configured ω)")
          .range(0.0, 1e6),
      key(&C::num_candidates, "num_candidates",
          "exploration N_c of best-of-N samplers (absent: the configured N_c)")
          .at_least(1),
      key(&C::eval_interval, "eval_interval",
          "updates between evaluations in the online phase, on the global step counter (absent: "
          "trainer.eval_interval); the last offline step and the last step are always evaluated")
          .at_least(1),
  };
  return keys;
}
Schema online_schema() {
  return online_keys().schema();
}

namespace {

/// splitmix64 of the run seed mixed with the section name: every component gets its own stream.
std::uint64_t derive_seed(std::uint64_t seed, const std::string& section) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : section) h = (h ^ c) * 1099511628211ULL;
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (h | 1ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFFULL;  // keep it positive for torch generators
}

class PipelineBuilder final : public Builder {
 public:
  PipelineBuilder(Registry registry, config::Pipeline& pipeline, std::uint64_t seed)
      : registry_(std::move(registry)), pipeline_(pipeline), seed_(seed) {}

  std::shared_ptr<Component> build(Kind kind, const std::string& section, BuildContext ctx) override {
    if (!pipeline_.has_section(section))
      throw ConfigError(fmt::format("{}: the pipeline has no [{}] table, but a {} is needed there",
                                    pipeline_.source(), section, to_string(kind)));
    const std::string type = pipeline_.type_of(section);
    const ComponentInfo* info = nullptr;
    try {
      info = &registry_.info(kind, type);
    } catch (const PluginError& e) {
      throw PluginError(fmt::format("{} [{}]: {}", pipeline_.source(), section, e.what()));
    }
    Params params = pipeline_.validate(section, type, info->schema);
    ctx.section = section;
    ctx.seed = derive_seed(seed_, section);
    ctx.builder = this;
    const LoadedPlugin& library = registry_.provider(kind, type);
    const bool recorded = std::any_of(builds_.begin(), builds_.end(),
                                      [&](const ComponentBuild& b) { return b.section == section; });
    if (!recorded)
      builds_.push_back(
          {section, kind, type, library.path, library.name, library.version, library.api_version});
    return registry_.create(kind, type, params, ctx);
  }

  const std::vector<ComponentBuild>& builds() const { return builds_; }

  bool has_section(const std::string& section) const override { return pipeline_.has_section(section); }

 private:
  Registry registry_;
  config::Pipeline& pipeline_;
  std::uint64_t seed_;
  std::vector<ComponentBuild> builds_;
};

/// "requirement = value" pairs for messages.
std::string describe(const Requirements& needs) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : needs) parts.push_back(fmt::format("{} = {}", key, value));
  return fmt::format("{}", fmt::join(parts, ", "));
}

/// Validates [section] as a `kind` and, recursively, every slot its type declares. `slot`, `owner` (e.g.
/// "algorithm 'dipole' ([algorithm] at file:line:col)") and `owner_section` describe who needs it; null
/// and empty at the top.
void check_section(const Registry& registry, config::Pipeline& p, Kind kind, const std::string& section,
                   const Slot* slot, const std::string& owner, const std::string& owner_section, int depth) {
  if (depth > 32)
    throw ConfigError(
        fmt::format("{}: slots nested deeper than 32 levels at [{}] (a component whose slot "
                    "names its own section?)",
                    p.where(section), section));
  const std::string wanted = slot == nullptr
                                 ? std::string()
                                 : fmt::format(" for slot '{}' of {} ({})", slot->name, owner, slot->doc);
  if (!p.has_section(section)) {
    if (slot != nullptr && slot->optional) return;
    if (slot == nullptr)
      throw ConfigError(fmt::format("{}: the pipeline has no [{}] table, but a {} is needed there",
                                    p.source(), section, to_string(kind)));
    throw ConfigError(fmt::format("{}: the pipeline has no [{}] table, but a {} is needed there{}",
                                  p.where(owner_section), section, to_string(kind), wanted));
  }
  const std::string type = p.type_of(section);
  const auto& known = registry.types(kind);
  if (std::find(known.begin(), known.end(), type) == known.end()) {
    for (Kind other : {Kind::Dataset, Kind::Environment, Kind::Critic, Kind::Denoiser, Kind::Weighting,
                       Kind::Sampler, Kind::Algorithm, Kind::Recorder}) {
      const auto& names = registry.types(other);
      if (other != kind && std::find(names.begin(), names.end(), type) != names.end())
        throw ConfigError(fmt::format("{}: [{}] type '{}' is a {}, but a {} is needed there{}",
                                      p.where(section), section, type, to_string(other), to_string(kind),
                                      wanted));
    }
  }
  const ComponentInfo* info = nullptr;
  try {
    info = &registry.info(kind, type);
  } catch (const PluginError& e) {
    throw PluginError(fmt::format("{} [{}]: {}", p.source(), section, e.what()));
  }
  const Params params = p.validate(section, type, info->schema);
  if (slot != nullptr && !slot->needs.empty()) {
    const Provides provides = info->provides ? info->provides(params) : Provides{};
    for (const auto& [key, value] : slot->needs) {
      auto it = provides.find(key);
      if (it == provides.end() || (it->second && *it->second != value))
        throw ConfigError(
            fmt::format("{}: [{}] type '{}' {}, but {} needs {} = {} (slot '{}': {}; required: {})",
                        p.where(section), section, type,
                        it == provides.end() ? fmt::format("does not provide '{}'", key)
                                             : fmt::format("provides {} = {}", key, *it->second),
                        owner, key, value, slot->name, slot->doc, describe(slot->needs)));
    }
  }
  if (!info->slots) return;
  const std::string me =
      fmt::format("{} '{}' ([{}] at {})", to_string(kind), type, section, p.where(section));
  for (const Slot& sub : info->slots(params))
    check_section(registry, p, sub.kind, sub.section_in(section), &sub, me, section, depth + 1);
}

void check_same_spec(const Spec& data, const Spec& env, const std::string& where) {
  if (data.obs_dim != env.obs_dim || data.action_dim != env.action_dim)
    throw ConfigError(
        fmt::format("{}: the environment has observations of size {} and actions of size {}, but the dataset "
                    "has {} and {}",
                    where, env.obs_dim, env.action_dim, data.obs_dim, data.action_dim));
}

}  // namespace

std::string plugin_builds_toml(const std::vector<ComponentBuild>& builds) {
  const auto quoted = [](const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
      if (c == '"' || c == '\\')
        out += std::string("\\") + c;
      else if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04X}", static_cast<int>(c));
      else
        out += c;
    }
    return out + "\"";
  };
  std::string out =
      "# The plugin builds that produced this run: one table per component section (docs/architecture.md,\n"
      "# \"The plugin SDK\"). Written by dipole train.\n";
  for (const auto& b : builds)
    out += fmt::format(
        "\n[[component]]\nsection = {}\nkind = {}\ntype = {}\nlibrary = {}\nlibrary_name = {}\n"
        "library_version = {}\nsdk_version = {}\n",
        quoted(b.section), quoted(to_string(b.kind)), quoted(b.type), quoted(b.library),
        quoted(b.library_name), quoted(b.library_version), b.sdk_version);
  return out;
}

void check_pipeline(const Registry& registry, config::Pipeline& pipeline) {
  pipeline.validate("trainer", "trainer", trainer_schema());
  pipeline.validate("eval", "eval", eval_schema());
  if (pipeline.has_section("online")) pipeline.validate("online", "online", online_schema());
  check_section(registry, pipeline, Kind::Dataset, "dataset", nullptr, {}, {}, 0);
  if (pipeline.has_section("environment"))
    check_section(registry, pipeline, Kind::Environment, "environment", nullptr, {}, {}, 0);
  check_section(registry, pipeline, Kind::Algorithm, "algorithm", nullptr, {}, {}, 0);
}

namespace {

/// The runtime's own sections ([trainer], [eval], [online]) read into `run`, validated and with defaults.
void read_runtime_sections(Run& run) {
  config::Pipeline& p = run.pipeline;
  const Params trainer = p.validate("trainer", "trainer", trainer_schema());
  run.trainer = trainer_keys().read(trainer);
  if (const auto& seeds = run.trainer.seeds) {
    if (seeds->empty())
      throw ConfigError(fmt::format("{}: trainer.seeds is empty (expected a list of seeds such as [0, 1, 2])",
                                    trainer.where("seeds")));
    for (std::size_t i = 0; i < seeds->size(); ++i) {
      if ((*seeds)[i] < 0)
        throw ConfigError(fmt::format("{}: trainer.seeds[{}] = {}: seeds are non-negative integers",
                                      trainer.where("seeds"), i, (*seeds)[i]));
      if (std::find(seeds->begin(), seeds->begin() + static_cast<std::ptrdiff_t>(i), (*seeds)[i]) !=
          seeds->begin() + static_cast<std::ptrdiff_t>(i))
        throw ConfigError(
            fmt::format("{}: trainer.seeds lists seed {} twice", trainer.where("seeds"), (*seeds)[i]));
    }
  }
  run.eval = eval_keys().read(p.validate("eval", "eval", eval_schema()));

  if (p.has_section("online")) {  // validated only when present: offline pipelines resolve as before
    const Params online = p.validate("online", "online", online_schema());
    run.online = online_keys().read(online);
    if (run.online.enabled() && !p.has_section("environment"))
      throw ConfigError(fmt::format("{}: online.steps = {} needs an [environment] section to explore in",
                                    online.where("steps"), run.online.steps));
  }

  try {
    run.device = c10::Device(run.trainer.device);
  } catch (const c10::Error&) {
    throw ConfigError(
        fmt::format("{}: trainer.device = \"{}\" is not a torch device (expected cpu, cuda, cuda:N, ...)",
                    trainer.where("device"), run.trainer.device));
  }
}

void reject_unused_sections(const config::Pipeline& p) {
  const auto unused = p.unused_sections();
  if (!unused.empty())
    throw ConfigError(
        fmt::format("{}: no component uses {}; remove it or check its name (sections in use: trainer, "
                    "eval, online, dataset, environment, algorithm and those the algorithm builds)",
                    p.source(), fmt::format("{}", fmt::join(unused, "; "))));
}

}  // namespace

Run build_run(const Registry& registry, config::Pipeline pipeline) {
  Run run(std::move(pipeline));
  config::Pipeline& p = run.pipeline;
  // Process-wide settings (trainer.threads, the allocator) are only recorded here; the program applies
  // them (apps/lib/process_settings.cpp), so that building a run changes nothing outside the Run.
  read_runtime_sections(run);

  check_pipeline(registry, p);  // every slot resolved and validated before any constructor runs
  auto builder = std::make_shared<PipelineBuilder>(registry, p, run.trainer.seed);
  BuildContext ctx;
  ctx.device = run.device;
  run.dataset = builder->make<Dataset>("dataset", ctx);
  run.spec = run.dataset->spec();
  ctx.spec = run.spec;

  if (p.has_section("environment")) {
    // Validate once now (so errors surface before training); each instance is created from the
    // same validated table.
    auto first = builder->make<Environment>("environment", ctx);
    check_same_spec(run.spec, first->spec(), p.source() + " [environment]");
    const std::string type = p.type_of("environment");
    const Params env_params = p.validate("environment", type, registry.info(Kind::Environment, type).schema);
    BuildContext env_ctx = ctx;
    env_ctx.section = "environment";
    env_ctx.seed = derive_seed(run.trainer.seed, "environment");
    env_ctx.builder = nullptr;  // the builder lives only during build_run
    run.make_environment = [shared = registry, type, env_params, env_ctx,
                            first]() mutable -> std::shared_ptr<Environment> {
      if (first) return std::exchange(first, nullptr);  // hand out the validated instance first
      // Seeds trained together create environments from several threads (evaluations, the online
      // phase); constructors (MuJoCo's model compiler among them) run one at a time.
      static std::mutex construction;
      const std::lock_guard<std::mutex> lock(construction);
      return std::dynamic_pointer_cast<Environment>(
          shared.create(Kind::Environment, type, env_params, env_ctx));
    };
  }

  run.algorithm = builder->make<Algorithm>("algorithm", ctx);
  run.builds = builder->builds();

  reject_unused_sections(p);
  return run;
}

std::vector<Run> build_seed_runs(const Registry& registry, config::Pipeline pipeline) {
  std::vector<Run> runs;
  {
    // Validate the runtime sections (the seeds list) on a copy: each run validates its own pipeline.
    Run probe(pipeline);
    read_runtime_sections(probe);
    if (!probe.trainer.seeds) {
      runs.push_back(build_run(registry, std::move(pipeline)));
      return runs;
    }
    // Each seed builds its own dataset: a dataset plugin may derive its contents from the seed (the
    // bandit generates its data from it).
    for (const std::int64_t seed : *probe.trainer.seeds)
      runs.push_back(build_run(registry, pipeline.for_seed(seed)));
  }
  return runs;
}

config::Pipeline resolve_pipeline(const Registry& registry, config::Pipeline pipeline) {
  Run run(std::move(pipeline));
  read_runtime_sections(run);
  check_pipeline(registry, run.pipeline);  // every section and slot validated, nothing constructed
  reject_unused_sections(run.pipeline);
  return std::move(run.pipeline);
}

}  // namespace dipole
