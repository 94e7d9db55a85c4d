// Helpers shared by the benchmarks of dipole-bench (apps/bench/<name>.cpp): timing statistics, BLAS
// identification, the machine's matmul rate and streaming bandwidth, synthetic data, the benchmark
// pipelines (configs/bench/*.toml) and the ATen RecordFunction profile (phases, operators, GEMM FLOPs,
// allocations).
#pragma once

#include <ATen/core/Generator.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dipole/app/options.hpp"
#include "dipole/core/config.hpp"
#include "dipole/core/pipeline.hpp"

namespace dipole::bench {

using Args = std::vector<std::string>;
namespace po = boost::program_options;
using app::parse_options;

// The benchmarks (one file each; `dipole-bench <name> --help`).
int train_step(const Args& args);   ///< train_step.cpp: items 1 and 3
int overhead(const Args& args);     ///< overhead.cpp: item 2
int act_latency(const Args& args);  ///< act.cpp: item 4
int eval_rate(const Args& args);    ///< eval.cpp: item 5
int kernels(const Args& args);      ///< kernels.cpp: no-grad products, kernel vs baddbmm
int blas_check(const Args& args);   ///< blas_check.cpp: the BLAS self-check

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> values);

/// Median, minimum and maximum of repeated measurements ("median (min–max)").
struct Spread {
  double median = 0, min = 0, max = 0;
  std::size_t n = 0;
};
Spread spread(const std::vector<double>& values);
std::string format_spread(const Spread& s, const char* format = "{:.3f}");

/// The 1-minute load average of /proc/loadavg (−1 when unreadable).
double load_average();

/// Which library provides sgemm_ and, when it is OpenBLAS, its thread count (set and read through its
/// own entry points, looked up at run time: LibTorch links whatever libblas.so.3 the system selects).
struct BlasInfo {
  std::string library = "unknown";
  std::string openblas_config;  ///< empty when the BLAS is not OpenBLAS
  int threads = 1;              ///< OpenBLAS threads; 1 for a BLAS without threads of its own
};
/// `set_threads` > 0: openblas_set_num_threads(set_threads) first.
BlasInfo blas_info(int set_threads);
/// Applies --threads / --blas-threads and prints the settings in force.
BlasInfo apply_threads(int threads, int blas_threads, std::ostream& out);

struct MatmulFigure {
  std::string name;
  double gflops = 0;
};
/// Median GFLOP/s of at::mm_out([m x k] x [k x n]) over `samples` samples of >= 50 ms each, after
/// warm-up; stops early (with at least 3 samples) once `budget` seconds are spent.
MatmulFigure measure_matmul(std::int64_t m, std::int64_t k, std::int64_t n, int samples, double budget);
/// The larger of [256 x 512] x [512 x 512] and 1024³ ("machine peak"); both figures in `figures`.
double machine_peak(std::vector<MatmulFigure>* figures = nullptr);

/// Streaming read bandwidth in bytes/s: median over repeats of a sum over a float buffer of `bytes`
/// (larger than the caches), after one warm-up pass, on the calling thread.
double read_bandwidth(std::size_t bytes = std::size_t{512} << 20, int repeats = 7);

/// A temporary file removed when the benchmark ends.
struct TempFile {
  std::filesystem::path path;
  TempFile() = default;
  explicit TempFile(std::filesystem::path p) : path(std::move(p)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();
};

/// Synthetic transitions with the walker's sizes: observations N(0, 1) [N, obs], actions
/// U(−0.9, 0.9) [N, act], rewards N(0, 1), an episode end every 1000 rows.
void write_synthetic_npz(const std::string& path, std::int64_t rows, std::int64_t obs_dim,
                         std::int64_t act_dim);
/// A synthetic walker-sized data set (20000 rows, obs 24, act 6) in the temp directory.
std::filesystem::path synthetic_data_path(const std::string& tag);

/// "512,512" → {512, 512}; throws ConfigError naming --hidden.
std::vector<std::int64_t> parse_widths(const std::string& text);
std::string toml_list(const std::vector<std::int64_t>& values);

// ---- benchmark pipelines ------------------------------------------------------------------------------

/// Where the benchmark pipelines (configs/bench/<name>.toml) are searched, in order:
///   1. <directory of dipole-bench>/../share/dipole/configs/bench (an installation);
///   2. configs/bench of the source tree this program was built from (a build tree).
std::vector<std::filesystem::path> bench_config_dirs();

/// configs/bench/<name>.toml in the first directory of bench_config_dirs() that has it. Throws
/// ConfigError naming every file looked for.
std::filesystem::path find_bench_pipeline(const std::string& name);

/// Which pipeline a benchmark runs and how it is adjusted (the options every pipeline benchmark takes).
struct PipelineChoice {
  std::string name;                    ///< configs/bench/<name>.toml, unless `file` is set
  std::string file;                    ///< --pipeline FILE
  std::vector<std::string> overrides;  ///< --set section.key=value, applied last
  std::string hidden;                  ///< --hidden W,W,...: replaces every `hidden_dims` of the pipeline
  std::int64_t batch = 0;              ///< --batch (> 0): trainer.batch_size
};

/// A loaded benchmark pipeline and the synthetic data it reads (removed with it).
struct BenchPipeline {
  config::Pipeline pipeline;
  std::unique_ptr<TempFile> data;
};

/// Loads the chosen pipeline. An `npz_transitions` [dataset] without `path` (the files of configs/bench)
/// reads synthetic walker-sized data written for this run (synthetic_data_path(tag)). No key of the
/// pipeline is interpreted beyond that and the `hidden_dims` values --hidden replaces.
BenchPipeline load_bench_pipeline(const PipelineChoice& choice, const std::string& tag);

/// The keys of `pipeline` ending in `.hidden_dims` (the networks --hidden resizes), in value_keys() order.
std::vector<std::string> hidden_dims_keys(const config::Pipeline& pipeline);

/// Adds the options --algorithm/--pipeline/--set/--batch/--hidden filling `choice` to `options`.
/// `name_help` describes --algorithm (the default name is choice.name).
void add_pipeline_options(po::options_description& options, PipelineChoice& choice,
                          const std::string& name_help);

/// Warm-up: >= `min_updates` updates and >= `min_seconds`.
void warm_up(Run& run, std::int64_t batch, at::Generator& data_gen, at::Generator& update_gen,
             int min_updates = 3, double min_seconds = 1.0);

// ---- profile: ATen RecordFunction observer ------------------------------------------------------------

/// Per-operator self time, split into the phases of one update, from ATen's RecordFunction callbacks
/// on the benchmark's thread (intra-op worker threads run inside an operator of this thread).
/// Phases: ops before the autograd backward = forward (losses, advantage, weights, flow sample,
/// zero_grad), the backward call = backward, top-level ops after it = optimiser (Adam, Polyak).
namespace profile {

enum Phase { kForward, kBackward, kOptimiser, kPhases };
extern const char* const kPhaseNames[kPhases];

struct Frame {
  const char* name;
  Clock::time_point start;
  double child = 0;
  double gemm_flop = 0;
  double gemm_weight_bytes = 0;
  bool gemm = false;
};

struct OpStats {
  double self = 0;
  std::int64_t calls = 0;
};

struct State {
  std::thread::id thread;
  Phase phase = kForward;
  std::vector<Frame> stack;
  std::map<std::pair<int, std::string>, OpStats> ops;  // (phase, op) → self time
  double top_level[kPhases] = {0, 0, 0};               // inclusive time of top-level ops per phase
  double gemm_time[kPhases] = {0, 0, 0};               // inclusive time of outermost GEMM ops
  double gemm_flop[kPhases] = {0, 0, 0};
  std::int64_t gemm_calls = 0;
  double gemm_weight_bytes = 0;  ///< bytes of the outermost GEMMs' second operands
  std::int64_t allocations = 0;  ///< calls of aten::empty / empty_strided / empty_like (any depth)
  std::int64_t op_calls = 0;     ///< every recorded operator call (any depth)
  bool paused = false;           ///< true while the dataset samples a batch (not part of an update)
};

}  // namespace profile

struct ProfileResult {
  int updates = 0;
  double wall = 0;    ///< seconds per update, with the observer on
  double sample = 0;  ///< seconds per dataset sample
  profile::State state;
  /// Matrix-multiply FLOPs per update counted from the GEMM operators' input shapes.
  double gemm_flop_per_update() const;
};

/// Runs `updates` updates of `run` with the observer on.
ProfileResult run_profile(Run& run, std::int64_t batch, int updates, at::Generator& data_gen,
                          at::Generator& update_gen);
void print_profile(const ProfileResult& p, std::ostream& out);

/// The matrix products of one call of `fn` on this thread, counted by the same observer as the profile
/// (outermost GEMM operators only): FLOPs from the operands' shapes and the bytes of the second
/// operand (the weights, for the networks' products).
struct GemmCount {
  double flop = 0;
  double weight_bytes = 0;
  std::int64_t calls = 0;
};
GemmCount count_gemms(const std::function<void()>& fn);

/// Key-value rows printed as an aligned table.
using Rows = std::vector<std::pair<std::string, std::string>>;
void print_rows(const Rows& rows, std::ostream& out);
/// Writes `rows` as "key,value" lines.
void write_csv(const std::string& path, const Rows& rows);

}  // namespace dipole::bench
