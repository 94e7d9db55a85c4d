// TOML pipelines: loading, `extends` chains, `--set` overrides, schema validation and the resolved
// pipeline written into every run directory.
//
// A pipeline file holds one table per component section (`[critic]`, `[sampler]`, `[sampler.inner]`,
// ...), each with `type = "..."` plus the keys its schema declares; sections such as `[trainer]`
// have no `type` and are validated against a schema owned by the runtime. Every key keeps the
// position it was written at ("file:line:column", or "--set section.key=value" for overrides), so
// each error names the place to fix, even after merging a chain of files.
//
//   auto pipeline = Pipeline::load("configs/iql_walker.toml", {"critic.expectile=0.8"});
//   Params p = pipeline.validate("critic", pipeline.type_of("critic"), IqlCritic::schema());
//   for (auto& s : pipeline.unused_sections()) ...   // typos such as [critc]
//   pipeline.write_resolved(run_dir + "/pipeline.resolved.toml");
//
// TOML++ stays inside config.cpp; this header only exposes std types and dipole::Params.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dipole/params.hpp"

namespace dipole::config {

class Pipeline {
 public:
  /// An empty pipeline (no sections, source ""); useful as a placeholder before load().
  Pipeline();
  ~Pipeline();
  Pipeline(const Pipeline& other);
  Pipeline& operator=(const Pipeline& other);
  Pipeline(Pipeline&& other) noexcept;
  Pipeline& operator=(Pipeline&& other) noexcept;

  /// Load `path`, resolve `extends` (path relative to the file that names it; the base is loaded
  /// first and this file's tables are merged on top: tables merge recursively, scalar and array
  /// keys replace), then apply `overrides` ("section.key=value") in order.
  static Pipeline load(const std::string& path, const std::vector<std::string>& overrides = {});

  /// Same as load() from text: `source_name` is used in positions, `extends` is relative to
  /// `base_dir`.
  static Pipeline parse(const std::string& text, const std::string& source_name,
                        const std::vector<std::string>& overrides = {}, const std::string& base_dir = ".");

  /// Whether the dotted section path (e.g. "sampler.inner") names a table.
  bool has_section(const std::string& section) const;

  /// The value at a dotted key path ("trainer.seed", "dataset.task") as text: strings without quotes,
  /// numbers and booleans as TOML writes them, arrays as "[a, b]". nullopt if absent or a table.
  std::optional<std::string> value_text(const std::string& key) const;

  /// Dotted paths of every value (not table) in the pipeline, sorted ("algorithm.beta", ...): what
  /// `dipole report` compares to find the keys in which runs differ.
  std::vector<std::string> value_keys() const;

  /// Names of the top-level tables, sorted.
  std::vector<std::string> top_level_sections() const;

  /// The `type` string of a section. Throws ConfigError if the section is missing, has no `type`
  /// key ("<file:line:col>: [sampler.inner] has no 'type' key") or `type` is not a string.
  std::string type_of(const std::string& section) const;

  /// "file:line:col" of the section's `type` key, else of its table header; source() if absent.
  std::string where(const std::string& section) const;

  /// Validate the section against `schema` and return its Params (defaults filled in, where() of
  /// each key set in a file or override). `type` is only used in messages and Params::type().
  /// A section absent from the pipeline validates as an empty table (all defaults). Keys of
  /// ParamType::Component must be tables and are left to their own validate() call; `type` is
  /// always allowed. Throws ConfigError starting with the position of the offending key for
  /// unknown keys (with the closest known name), wrong types, out-of-range values, values not
  /// among the choices and bad list elements, and with the position of the table header for a
  /// missing required key. Records the values for resolved_toml() and marks the section used.
  Params validate(const std::string& section, const std::string& type, const Schema& schema);

  /// Tables present in the pipeline but never validated, as "file:line:col: [critc]", plus
  /// top-level keys outside any section ("file:line:col: top-level key 'seed'"), so the runtime can
  /// reject typos. Only the outermost unused table of an unused subtree is listed.
  std::vector<std::string> unused_sections() const;

  /// The fully resolved pipeline as TOML: merged tables, overrides applied, defaults filled for
  /// validated sections, `extends` removed, a header comment naming the source file(s) and
  /// overrides. Sections sorted by path, `type` first, then keys sorted.
  std::string resolved_toml() const;

  /// Write resolved_toml() to `path` atomically (temporary file in the same directory + rename).
  void write_resolved(const std::string& path) const;

  /// A copy for one seed of a multi-seed pipeline (trainer.seeds, docs/seeds.md): trainer.seed set to
  /// `seed` (as the override "trainer.seed=N"), trainer.seeds removed, nothing validated yet. Its
  /// resolved_toml() equals that of the same pipeline without `seeds`, run with --set trainer.seed=N.
  Pipeline for_seed(std::int64_t seed) const;

  /// The path (or source name) of the top file.
  const std::string& source() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dipole::config
