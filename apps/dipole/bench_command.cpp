// `dipole bench train-step`: how fast one training update runs, compared with this machine's own
// float32 matrix-multiply rate measured in the same run (shared, noisy machines: only ratios measured
// together mean something). A benchmark that prints figures, never a timed unit test.
//
//   1. machine peak: median GFLOP/s of at::mm at [256 x 512] x [512 x 512] (one layer of the update)
//      and 1024^3, after warm-up; the larger is "machine peak".
//   2. a DIPOLE update at paper scale (iql critic + flow_mlp denoiser with 2 members, 4×512, batch 256,
//      dipole_sigmoid, best_of_n(guided_euler); synthetic npz_transitions data with obs_dim 24 and
//      act_dim 6, like the walker) or any --pipeline; warm-up, then Algorithm::update timed for
//      --seconds: updates/s is the median of per-chunk rates.
//   3. the matrix-multiply FLOPs of one update counted from the networks' parameter shapes
//      (flop_model below), giving achieved GFLOP/s and the ratio to the machine peak.
//   4. --profile: one more timed pass with an ATen RecordFunction observer that splits an update into
//      forward / backward / optimiser and lists the operators by self time (with the GEMMs' rate).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "dipole/core/config.hpp"
#include "dipole/core/npz.hpp"
#include "dipole/core/pipeline.hpp"
#include "options.hpp"

namespace dipole::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// ---- BLAS identification -------------------------------------------------------------------------

/// Which library provides sgemm_ and, when it is OpenBLAS, its thread count (set and read through its
/// own entry points, looked up at run time: LibTorch links whatever libblas.so.3 the system selects).
struct BlasInfo {
  std::string library = "unknown";
  std::string openblas_config;  ///< empty when the BLAS is not OpenBLAS
  int threads = 1;              ///< OpenBLAS threads; 1 for a BLAS without threads of its own
};

BlasInfo blas_info(int set_threads) {
  BlasInfo info;
  if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_")) {
    Dl_info where{};
    if (dladdr(sgemm, &where) && where.dli_fname) {
      std::error_code ec;
      const auto real = std::filesystem::canonical(where.dli_fname, ec);
      info.library = ec ? where.dli_fname : real.string();
    }
  }
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  using GetConfig = char* (*)();
  if (auto config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info.openblas_config = config();
    if (set_threads > 0)
      if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(set_threads);
    if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
      info.threads = get();
  } else if (set_threads > 1) {
    std::cerr << "warning: --blas-threads ignored: the loaded BLAS is not OpenBLAS (" << info.library
              << ")\n";
  }
  return info;
}

// ---- 1. machine peak -----------------------------------------------------------------------------

struct MatmulFigure {
  std::string name;
  double gflops = 0;
};

/// Median GFLOP/s of at::mm_out([m x k] x [k x n]) over `samples` samples of >= 50 ms each, after
/// warm-up; stops early (with at least 3 samples) once `budget` seconds are spent.
MatmulFigure measure_matmul(std::int64_t m, std::int64_t k, std::int64_t n, int samples, double budget) {
  auto generator = at::detail::createCPUGenerator(7);
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const auto a = at::randn({m, k}, generator, options), b = at::randn({k, n}, generator, options);
  auto c = at::empty({m, n}, options);
  const double flop = 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n);
  const auto start = Clock::now();
  // Warm-up (first-touch of the buffers, BLAS thread start-up) and the cost of one call.
  at::mm_out(c, a, b);
  auto t0 = Clock::now();
  at::mm_out(c, a, b);
  const double one = std::max(seconds_between(t0, Clock::now()), 1e-7);
  const int reps = std::max(1, static_cast<int>(std::ceil(0.05 / one)));
  std::vector<double> rates;
  for (int s = 0; s < samples; ++s) {
    t0 = Clock::now();
    for (int r = 0; r < reps; ++r) at::mm_out(c, a, b);
    rates.push_back(reps * flop / seconds_between(t0, Clock::now()) / 1e9);
    if (rates.size() >= 3 && seconds_between(start, Clock::now()) > budget) break;
  }
  return {fmt::format("[{} x {}] x [{} x {}]", m, k, k, n), median(rates)};
}

// ---- 2. the pipeline -----------------------------------------------------------------------------

/// A temporary file removed when the benchmark ends.
struct TempFile {
  std::filesystem::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

/// Synthetic transitions with the walker's sizes: observations N(0, 1) [N, 24], actions U(−0.9, 0.9)
/// [N, 6], rewards N(0, 1), an episode end every 1000 rows (next_observations = the next row).
void write_synthetic_npz(const std::string& path, std::int64_t rows, std::int64_t obs_dim,
                         std::int64_t act_dim) {
  auto generator = at::detail::createCPUGenerator(3);
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const auto observations = at::randn({rows, obs_dim}, generator, options);
  const auto actions = at::rand({rows, act_dim}, generator, options) * 1.8 - 0.9;
  const auto rewards = at::randn({rows}, generator, options);
  const auto terminals = (at::arange(rows) % 1000 == 999).to(at::kFloat);
  npz::write_npz(path,
                 {{"observations", npz::from_tensor(observations)},
                  {"actions", npz::from_tensor(actions)},
                  {"rewards", npz::from_tensor(rewards)},
                  {"terminals", npz::from_tensor(terminals)}},
                 /*compressed=*/false);
}

std::string toml_list(const std::vector<std::int64_t>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

std::string default_pipeline(const std::string& data_path, std::int64_t batch,
                             const std::vector<std::int64_t>& hidden) {
  return fmt::format(R"(# dipole bench train-step: DIPOLE at paper scale on synthetic walker-sized data
[trainer]
batch_size = {batch}
seed = 0

[dataset]
type = "npz_transitions"
path = "{path}"

[algorithm]
type = "dipole"

[critic]
type = "iql"
hidden_dims = {hidden}

[denoiser]
type = "flow_mlp"
hidden_dims = {hidden}

[weighting]
type = "dipole_sigmoid"

[sampler]
type = "best_of_n"

[sampler.inner]
type = "guided_euler"
)",
                     fmt::arg("batch", batch), fmt::arg("path", data_path),
                     fmt::arg("hidden", toml_list(hidden)));
}

// ---- 3. FLOP model -------------------------------------------------------------------------------

/// Layer widths of one member of an EnsembleMlp stored under `prefix` ("<prefix>layers.<l>.weight",
/// shape [M, n_{l−1}, n_l]).
struct NetShape {
  std::int64_t members = 0;
  std::vector<std::int64_t> widths;  ///< n_0 … n_L
  bool found() const { return widths.size() >= 2; }
  /// P = Σ_l n_{l−1}·n_l (multiply-adds per sample per member)
  double p() const {
    double sum = 0;
    for (std::size_t l = 1; l < widths.size(); ++l) sum += static_cast<double>(widths[l - 1]) * widths[l];
    return sum;
  }
  /// n_0·n_1: the first layer, whose input (data) needs no gradient.
  double first() const { return static_cast<double>(widths[0]) * widths[1]; }
  std::string describe() const {
    std::string out;
    for (std::size_t i = 0; i < widths.size(); ++i) out += (i ? "-" : "") + std::to_string(widths[i]);
    return out;
  }
};

NetShape net_shape(const StateDict& state, const std::string& prefix) {
  NetShape shape;
  for (std::int64_t l = 0;; ++l) {
    const auto it = state.find(prefix + "layers." + std::to_string(l) + ".weight");
    if (it == state.end() || it->second.dim() != 3) break;
    if (l == 0) {
      shape.members = it->second.size(0);
      shape.widths.push_back(it->second.size(1));
    }
    shape.widths.push_back(it->second.size(2));
  }
  return shape;
}

/// Matrix-multiply FLOPs of one DIPOLE + IQL update (dipole.cpp, iql_critic.cpp), per algorithms.md
/// §1.5: a Linear layer n_{l−1} → n_l costs 2·n_{l−1}·n_l FLOPs per row forward (P = Σ n_{l−1}·n_l, so
/// forward = 2P), and backward costs the same again for the weight gradient (Xᵀ·dY) plus the same
/// again for the input gradient (dY·Wᵀ) — except in the first layer, whose input is data without a
/// gradient, so a trained network costs 6P − 2·n_0·n_1 per row (≈ 3× forward).
/// What the update computes for a batch of B rows:
///   critic  q̄ = min_j Q̄_j(s, a)       target ensemble (2 members), forward only,   no grad: 2·2·P_Q
///           V(s′)                       online V, forward only (y),                  no grad: 2·P_V
///           V(s)                        trained (L_V):                              6·P_V − 2·a_V
///           Q_j(s, a), j = 1, 2         trained (L_Q):                      2·(6·P_Q − 2·a_Q)
///           A = q̄ − V(s) reuses both (no extra product)
///   denoiser v± = f([s, x_t, t])         2 branches (members, or 2B rows with the shared-network
///                                       ablation), trained:                 2·(6·P_den − 2·a_den)
///   Adam, Polyak, GELU, LayerNorm, losses: elementwise, not counted.
/// Total = B·[2·(6·P_den − 2a_den) + 2·(6·P_Q − 2a_Q) + 4·P_Q + 6·P_V − 2a_V + 2·P_V], i.e. the §1.5
/// figure B·[12·P_den + 12·P_Q + 4·P_Q + 6·P_V + 2·P_V] less the first layers' input gradients
/// (0.5 % at 4×512). ≈ 7.4 GFLOP at B = 256, 4×512, obs 24, act 6.
struct FlopModel {
  NetShape denoiser, q, q_target, v;
  double per_update = 0;  ///< counted as above
  double section15 = 0;   ///< the §1.5 approximation (6P per trained network-row)
  std::string missing;    ///< why no model applies (empty when it does)
};

FlopModel flop_model(const Run& run, std::int64_t batch) {
  FlopModel model;
  const auto algorithm = run.pipeline.type_of("algorithm");
  const auto critic = run.pipeline.has_section("critic") ? run.pipeline.type_of("critic") : std::string();
  if (algorithm != "dipole" || critic != "iql") {
    model.missing =
        fmt::format("the FLOP model covers algorithm dipole with critic iql (this pipeline: {} / {})",
                    algorithm, critic.empty() ? "-" : critic);
    return model;
  }
  const auto state = run.algorithm->state();
  model.denoiser = net_shape(state, "denoiser.net.");
  model.q = net_shape(state, "critic.q.");
  model.q_target = net_shape(state, "critic.q_target.");
  model.v = net_shape(state, "critic.v.");
  if (!model.denoiser.found() || !model.q.found() || !model.v.found()) {
    model.missing = "parameter keys denoiser.net.layers.*, critic.q.layers.*, critic.v.layers.* not found";
    return model;
  }
  const double b = static_cast<double>(batch), branches = 2;
  const double den = model.denoiser.p(), q = model.q.p(), v = model.v.p();
  const double qm = static_cast<double>(model.q.members), vm = static_cast<double>(model.v.members);
  model.per_update =
      b * (branches * (6 * den - 2 * model.denoiser.first()) + qm * (6 * q - 2 * model.q.first()) +
           qm * 2 * q + vm * (6 * v - 2 * model.v.first()) + vm * 2 * v);
  model.section15 = b * (branches * 6 * den + qm * 6 * q + qm * 2 * q + vm * 6 * v + vm * 2 * v);
  return model;
}

// ---- 4. profile ----------------------------------------------------------------------------------

/// Per-operator self time, split into the phases of one update, from ATen's RecordFunction callbacks
/// on the benchmark's thread (intra-op worker threads run inside an operator of this thread).
/// Phases: ops before the autograd backward = forward (losses, advantage, weights, flow sample,
/// zero_grad), the backward call = backward, top-level ops after it = optimiser (Adam, Polyak).
namespace profile {

enum Phase { kForward, kBackward, kOptimiser, kPhases };
const char* kPhaseNames[kPhases] = {"forward", "backward", "optimiser"};

struct Frame {
  const char* name;
  Clock::time_point start;
  double child = 0;
  double gemm_flop = 0;
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
};
State* g_state = nullptr;

/// FLOPs of a matrix product operator from its inputs (0 if it is not one).
double gemm_flop(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  auto sizes = [&](std::size_t i) -> std::vector<std::int64_t> {
    const auto inputs = fn.inputs();
    if (i >= inputs.size() || !inputs[i].isTensor()) return {};
    return inputs[i].toTensor().sizes().vec();
  };
  std::size_t first = 0;
  if (name == "aten::mm" || name == "aten::bmm" || name == "aten::matmul")
    first = 0;
  else if (name == "aten::addmm" || name == "aten::addmm_" || name == "aten::baddbmm" ||
           name == "aten::baddbmm_")
    first = 1;
  else
    return -1;
  const auto x = sizes(first), w = sizes(first + 1);
  if (x.size() < 2 || w.size() < 2) return 0;
  double rows = 1;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) rows *= static_cast<double>(x[i]);
  return 2.0 * rows * static_cast<double>(x.back()) * static_cast<double>(w.back());
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  auto* s = g_state;
  if (!s || std::this_thread::get_id() != s->thread) return nullptr;
  // Tensor::backward is itself an operator (aten::_backward), so backward functions run nested in it.
  if (fn.scope() == at::RecordScope::BACKWARD_FUNCTION)
    s->phase = kBackward;
  else if (s->stack.empty() && s->phase == kBackward)
    s->phase = kOptimiser;
  Frame frame{fn.name(), Clock::now()};
  const bool inside_gemm =
      std::any_of(s->stack.begin(), s->stack.end(), [](const Frame& f) { return f.gemm; });
  if (!inside_gemm) {
    const double flop = gemm_flop(fn);
    if (flop >= 0) {
      frame.gemm = true;
      frame.gemm_flop = flop;
    }
  }
  s->stack.push_back(frame);
  return nullptr;
}

void on_end(const at::RecordFunction& /*fn*/, at::ObserverContext* /*ctx*/) {
  auto* s = g_state;
  if (!s || std::this_thread::get_id() != s->thread || s->stack.empty()) return;
  const Frame frame = s->stack.back();
  s->stack.pop_back();
  const double total = seconds_between(frame.start, Clock::now());
  auto& op = s->ops[{s->phase, frame.name}];
  op.self += total - frame.child;
  op.calls += 1;
  if (frame.gemm) {
    s->gemm_time[s->phase] += total;
    s->gemm_flop[s->phase] += frame.gemm_flop;
  }
  if (s->stack.empty())
    s->top_level[s->phase] += total;
  else
    s->stack.back().child += total;
}

}  // namespace profile

struct ProfileResult {
  int updates = 0;
  double wall = 0;    ///< seconds per update, with the observer on
  double sample = 0;  ///< seconds per dataset sample
  profile::State state;
};

ProfileResult run_profile(Run& run, std::int64_t batch, int updates, at::Generator& data_gen,
                          at::Generator& update_gen) {
  ProfileResult result;
  result.state.thread = std::this_thread::get_id();
  profile::g_state = &result.state;
  const auto handle =
      at::addGlobalCallback(at::RecordFunctionCallback(profile::on_start, profile::on_end)
                                .needsInputs(true)
                                .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  double wall = 0, sample = 0;
  for (int i = 0; i < updates; ++i) {
    const auto t0 = Clock::now();
    const Batch b = run.dataset->sample(batch, data_gen);
    const auto t1 = Clock::now();
    result.state.phase = profile::kForward;
    run.algorithm->update(b, update_gen, false);
    const auto t2 = Clock::now();
    sample += seconds_between(t0, t1);
    wall += seconds_between(t1, t2);
  }
  at::removeCallback(handle);
  profile::g_state = nullptr;
  result.updates = updates;
  result.wall = wall / updates;
  result.sample = sample / updates;
  return result;
}

void print_profile(const ProfileResult& p, std::ostream& out) {
  const double n = p.updates;
  out << fmt::format(
      "\nprofile: {} updates with an ATen RecordFunction observer ({:.1f} ms/update with it; "
      "dataset sample {:.2f} ms, not in the update)\n",
      p.updates, 1e3 * p.wall, 1e3 * p.sample);
  out << fmt::format("  {:<10} {:>10} {:>7} {:>12} {:>10} {:>9}\n", "phase", "ms/update", "share", "GEMM ms",
                     "GEMM GF/s", "GEMM GF");
  double ops_total = 0;
  for (int ph = 0; ph < profile::kPhases; ++ph) {
    const auto& s = p.state;
    ops_total += s.top_level[ph];
    const double gemm_rate = s.gemm_time[ph] > 0 ? s.gemm_flop[ph] / s.gemm_time[ph] / 1e9 : 0.0;
    out << fmt::format("  {:<10} {:>10.2f} {:>6.1f}% {:>12.2f} {:>10.1f} {:>9.3f}\n",
                       profile::kPhaseNames[ph], 1e3 * s.top_level[ph] / n,
                       100 * s.top_level[ph] / n / p.wall, 1e3 * s.gemm_time[ph] / n, gemm_rate,
                       s.gemm_flop[ph] / n / 1e9);
  }
  const double outside = p.wall - ops_total / n;
  out << fmt::format("  {:<10} {:>10.2f} {:>6.1f}%   (autograd engine, dispatch and C++ outside operators)\n",
                     "other", 1e3 * outside, 100 * outside / p.wall);
  std::vector<std::pair<std::pair<int, std::string>, profile::OpStats>> ops(p.state.ops.begin(),
                                                                            p.state.ops.end());
  std::sort(ops.begin(), ops.end(),
            [](const auto& a, const auto& b) { return a.second.self > b.second.self; });
  out << fmt::format("  top operators by self time:\n  {:<10} {:<34} {:>9} {:>10} {:>7}\n", "phase",
                     "operator", "calls/upd", "ms/update", "share");
  for (std::size_t i = 0; i < ops.size() && i < 15; ++i) {
    const auto& [key, stats] = ops[i];
    out << fmt::format("  {:<10} {:<34} {:>9.1f} {:>10.2f} {:>6.1f}%\n", profile::kPhaseNames[key.first],
                       key.second, stats.calls / n, 1e3 * stats.self / n, 100 * stats.self / n / p.wall);
  }
}

// ---- the command ---------------------------------------------------------------------------------

std::vector<std::int64_t> parse_widths(const std::string& text) {
  std::vector<std::int64_t> widths;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(part, &used);
      if (used != part.size() || v < 1) throw std::invalid_argument(part);
      widths.push_back(v);
    } catch (const std::exception&) {
      throw ConfigError(
          fmt::format("--hidden: '{}' is not a positive integer (expected e.g. 512,512,512,512)", part));
    }
  }
  if (widths.empty()) throw ConfigError("--hidden: no widths given");
  return widths;
}

int train_step(const Args& args) {
  po::options_description options("options");
  std::string file, csv, hidden_text = "512,512,512,512";
  std::vector<std::string> overrides;
  std::int64_t batch = 256;
  double seconds = 10;
  int threads = 0, blas_threads = 0, profile_updates = 0;
  options.add_options()("pipeline", po::value(&file),
                        "pipeline TOML file (default: DIPOLE, iql + flow_mlp 2 members, on synthetic data "
                        "with obs_dim 24, act_dim 6)")(
      "set", po::value(&overrides)->composing(), "override a key: --set weighting.beta=10 (repeatable)")(
      "batch", po::value(&batch), "batch size (default 256; with --pipeline: the file's trainer.batch_size)")(
      "hidden", po::value(&hidden_text),
      "hidden widths of critic and denoiser (default 512,512,512,512; with --pipeline: the file's)")(
      "seconds", po::value(&seconds)->default_value(10.0), "time spent in timed updates")(
      "threads", po::value(&threads),
      "at::set_num_threads(N) (intra-op/OpenMP threads; default: LibTorch's)")(
      "blas-threads", po::value(&blas_threads), "openblas_set_num_threads(N) when the BLAS is OpenBLAS")(
      "profile", po::value(&profile_updates)->implicit_value(5),
      "after the timing, profile N updates (default 5) by phase and operator")(
      "csv", po::value(&csv), "also write the figures to this CSV file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: dipole bench train-step [--pipeline FILE] [--set k=v ...] [--batch 256]\n"
                     "         [--hidden 512,512,512,512] [--seconds 10] [--threads N] [--blas-threads N]\n"
                     "         [--profile [N]] [--csv FILE]\n"
                     "Times Algorithm::update at paper scale and compares the achieved matrix-multiply\n"
                     "GFLOP/s with this machine's float32 at::mm GFLOP/s measured in the same run.",
                     options, positional, vm))
    return 0;
  if (!(seconds > 0)) throw ConfigError("--seconds must be positive");
  if (batch < 1) throw ConfigError("--batch must be at least 1");

  // Threads first: everything below runs with the settings reported.
  if (threads > 0) at::set_num_threads(threads);
  const BlasInfo blas = blas_info(blas_threads);
  const int intra_threads = at::get_num_threads();
  std::cout << fmt::format(
      "threads: at::get_num_threads() = {} ({}), BLAS {} with {} thread(s){}\n", intra_threads,
      threads > 0 ? "set by --threads" : "LibTorch default", blas.library, blas.threads,
      blas.openblas_config.empty() ? " (not OpenBLAS)" : ", OpenBLAS " + blas.openblas_config);
  for (const char* var : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
    if (const char* value = std::getenv(var)) std::cout << fmt::format("  {}={}\n", var, value);
  std::cout << std::flush;

  // 1. Machine peak.
  std::vector<MatmulFigure> matmuls;
  matmuls.push_back(measure_matmul(256, 512, 512, 9, 4.0));
  matmuls.push_back(measure_matmul(1024, 1024, 1024, 7, 6.0));
  const double peak = std::max_element(matmuls.begin(), matmuls.end(), [](auto& a, auto& b) {
                        return a.gflops < b.gflops;
                      })->gflops;

  // 2. The run.
  TempFile data;
  config::Pipeline pipeline;
  if (file.empty()) {
    data.path = std::filesystem::temp_directory_path() / fmt::format("dipole_bench_{}.npz", ::getpid());
    write_synthetic_npz(data.path.string(), 20000, 24, 6);
    pipeline = config::Pipeline::parse(default_pipeline(data.path.string(), batch, parse_widths(hidden_text)),
                                       "<bench train-step default pipeline>", overrides);
  } else {
    if (vm.count("batch")) overrides.push_back(fmt::format("trainer.batch_size={}", batch));
    if (vm.count("hidden")) {
      const auto widths = toml_list(parse_widths(hidden_text));
      overrides.push_back("critic.hidden_dims=" + widths);
      overrides.push_back("denoiser.hidden_dims=" + widths);
    }
    pipeline = config::Pipeline::load(file, overrides);
  }
  Run run = build_run(Registry::with_default_plugins(), std::move(pipeline));
  // build_run applies trainer.threads; report what is in force for the timing.
  const int update_threads = at::get_num_threads();
  batch = run.trainer.batch_size;
  const FlopModel model = flop_model(run, batch);

  auto data_gen = at::detail::createCPUGenerator(run.trainer.seed);
  auto update_gen = at::detail::createCPUGenerator(run.trainer.seed + 1);
  // Warm-up: allocator, Adam moments, BLAS buffers: >= 3 updates and >= 1 s.
  {
    const auto start = Clock::now();
    for (int i = 0; i < 3 || seconds_between(start, Clock::now()) < std::min(1.0, seconds); ++i)
      run.algorithm->update(run.dataset->sample(batch, data_gen), update_gen, false);
  }
  // Timed: per-update durations (sampling excluded, timed on its own), then chunks of consecutive
  // updates lasting >= seconds/20 each; the rate is the median of the chunks' rates.
  std::vector<double> update_times, sample_times;
  double timed = 0;
  while (timed < seconds || update_times.size() < 3) {
    const auto t0 = Clock::now();
    const Batch b = run.dataset->sample(batch, data_gen);
    const auto t1 = Clock::now();
    run.algorithm->update(b, update_gen, false);
    const auto t2 = Clock::now();
    sample_times.push_back(seconds_between(t0, t1));
    update_times.push_back(seconds_between(t1, t2));
    timed += update_times.back();
  }
  std::vector<double> chunk_rates;
  {
    double chunk = 0;
    int count = 0;
    for (double t : update_times) {
      chunk += t;
      ++count;
      if (chunk >= seconds / 20) {
        chunk_rates.push_back(count / chunk);
        chunk = 0;
        count = 0;
      }
    }
    if (count > 0 && chunk_rates.empty()) chunk_rates.push_back(count / chunk);
  }
  const double rate = median(chunk_rates);
  const double mean_rate = static_cast<double>(update_times.size()) / timed;
  const double sample_ms = 1e3 * median(sample_times);

  // Report.
  const bool have_model = model.missing.empty();
  const double gflop = model.per_update / 1e9;
  const double achieved = gflop * rate;
  const double ratio = peak > 0 ? achieved / peak : 0.0;
  std::cout << fmt::format("\npipeline: {} (algorithm {}), batch {}\n", run.pipeline.source(),
                           run.pipeline.type_of("algorithm"), batch);
  if (have_model)
    std::cout << fmt::format(
        "networks (one member): denoiser {} ×{} branches, Q {} ×{} (+ target), V {} ×{}\n",
        model.denoiser.describe(), 2, model.q.describe(), model.q.members, model.v.describe(),
        model.v.members);
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("intra-op threads (at::get_num_threads)",
                    fmt::format("{}{}", update_threads, threads > 0 ? " (--threads)" : ""));
  rows.emplace_back("BLAS threads",
                    fmt::format("{}{}", blas.threads, blas.openblas_config.empty() ? " (not OpenBLAS)" : ""));
  for (const auto& m : matmuls)
    rows.emplace_back("at::mm " + m.name + " GFLOP/s", fmt::format("{:.2f}", m.gflops));
  rows.emplace_back("machine peak GFLOP/s (larger of the two)", fmt::format("{:.2f}", peak));
  rows.emplace_back("timed updates", fmt::format("{} in {:.1f} s ({} chunks)", update_times.size(), timed,
                                                 chunk_rates.size()));
  rows.emplace_back("updates/s (median of chunks)", fmt::format("{:.3f}", rate));
  rows.emplace_back("updates/s (mean)", fmt::format("{:.3f}", mean_rate));
  rows.emplace_back("time per update ms", fmt::format("{:.2f}", 1e3 / rate));
  rows.emplace_back("dataset sample ms (not in the update)", fmt::format("{:.3f}", sample_ms));
  if (have_model) {
    rows.emplace_back("GFLOP per update (matmul, counted)", fmt::format("{:.3f}", gflop));
    rows.emplace_back("GFLOP per update (§1.5 formula)", fmt::format("{:.3f}", model.section15 / 1e9));
    rows.emplace_back("achieved GFLOP/s", fmt::format("{:.2f}", achieved));
  }
  std::size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  std::cout << "\n";
  for (const auto& [k, v] : rows) std::cout << fmt::format("  {:<{}}  {:>}\n", k, width, v);
  if (have_model)
    std::cout << fmt::format("ratio = {:.2f} of this machine's float32 matmul GFLOP/s\n", ratio);
  else
    std::cout << "ratio not computed: " << model.missing << "\n";

  std::optional<ProfileResult> profiled;
  if (profile_updates > 0) {
    profiled = run_profile(run, batch, profile_updates, data_gen, update_gen);
    print_profile(*profiled, std::cout);
  }

  if (!csv.empty()) {
    std::ofstream out(csv);
    if (!out) throw Error("cannot write " + csv);
    out << "key,value\n";
    auto put = [&](const std::string& key, const std::string& value) { out << key << "," << value << "\n"; };
    put("pipeline", "\"" + run.pipeline.source() + "\"");
    put("batch", std::to_string(batch));
    put("intra_op_threads", std::to_string(update_threads));
    put("blas_library", "\"" + blas.library + "\"");
    put("blas_threads", std::to_string(blas.threads));
    put("mm_256x512x512_gflops", fmt::format("{:.4f}", matmuls[0].gflops));
    put("mm_1024x1024x1024_gflops", fmt::format("{:.4f}", matmuls[1].gflops));
    put("machine_peak_gflops", fmt::format("{:.4f}", peak));
    put("timed_updates", std::to_string(update_times.size()));
    put("updates_per_s_median", fmt::format("{:.4f}", rate));
    put("updates_per_s_mean", fmt::format("{:.4f}", mean_rate));
    put("ms_per_update", fmt::format("{:.4f}", 1e3 / rate));
    put("sample_ms", fmt::format("{:.4f}", sample_ms));
    if (have_model) {
      put("gflop_per_update", fmt::format("{:.4f}", gflop));
      put("gflop_per_update_section_1_5", fmt::format("{:.4f}", model.section15 / 1e9));
      put("achieved_gflops", fmt::format("{:.4f}", achieved));
      put("ratio", fmt::format("{:.4f}", ratio));
    }
    if (profiled)
      for (int ph = 0; ph < profile::kPhases; ++ph)
        put(fmt::format("profile_{}_ms", profile::kPhaseNames[ph]),
            fmt::format("{:.4f}", 1e3 * profiled->state.top_level[ph] / profiled->updates));
    std::cout << "wrote " << csv << "\n";
  }
  return 0;
}

}  // namespace

int bench_command(const Args& args) {
  const char* usage =
      "usage: dipole bench <benchmark> [options]\n"
      "benchmarks:\n"
      "  train-step   updates/s of one training update and its GFLOP/s relative to this machine's\n"
      "               float32 matmul GFLOP/s (`dipole bench train-step --help`)";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage << "\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "train-step") return train_step(Args(args.begin() + 1, args.end()));
  throw ConfigError("unknown benchmark '" + args[0] + "'\n" + usage);
}

}  // namespace dipole::cli
