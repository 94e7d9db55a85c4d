#include "bench_common.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "dipole/app/process_settings.hpp"
#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"

namespace dipole::bench {

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

Spread spread(const std::vector<double>& values) {
  Spread s;
  s.n = values.size();
  if (values.empty()) return s;
  s.median = median(values);
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

std::string format_spread(const Spread& s, const char* format) {
  return fmt::format(fmt::runtime(std::string(format) + " ({}–{}, n = {})"), s.median,
                     fmt::format(fmt::runtime(format), s.min), fmt::format(fmt::runtime(format), s.max), s.n);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double value = -1;
  if (!(in >> value)) return -1;
  return value;
}

// ---- BLAS identification and threads ----------------------------------------------------------------

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
  using GetThreads = int (*)();
  using GetConfig = char* (*)();
  if (auto config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info.openblas_config = config();
    if (set_threads > 0) app::set_openblas_threads(set_threads);
    if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
      info.threads = get();
  } else if (set_threads > 1) {
    std::cerr << "warning: --blas-threads ignored: the loaded BLAS is not OpenBLAS (" << info.library
              << ")\n";
  }
  return info;
}

BlasInfo apply_threads(int threads, int blas_threads, std::ostream& out) {
  app::apply_process_settings(threads);  // also the allocator setting `dipole train` uses
  const BlasInfo blas = blas_info(blas_threads);
  out << fmt::format("threads: at::get_num_threads() = {} ({}), BLAS {} with {} thread(s){}\n",
                     at::get_num_threads(), threads > 0 ? "set by --threads" : "LibTorch default",
                     blas.library, blas.threads,
                     blas.openblas_config.empty() ? " (not OpenBLAS)" : ", OpenBLAS " + blas.openblas_config);
  for (const char* var : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
    if (const char* value = std::getenv(var)) out << fmt::format("  {}={}\n", var, value);
  out << fmt::format("load average (1 min) at start: {:.2f}\n", load_average()) << std::flush;
  return blas;
}

// ---- machine peak and bandwidth -----------------------------------------------------------------------

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

double machine_peak(std::vector<MatmulFigure>* figures) {
  std::vector<MatmulFigure> all{measure_matmul(256, 512, 512, 9, 4.0),
                                measure_matmul(1024, 1024, 1024, 7, 6.0)};
  const double peak = std::max(all[0].gflops, all[1].gflops);
  if (figures) *figures = all;
  return peak;
}

namespace {
// A plain loop (several accumulators so the adds are not one dependency chain): the compiler vectorises
// it; at::sum would add LibTorch's dispatch and threads to a figure meant to be the memory's.
float sum_floats(const float* data, std::size_t n) {
  float acc[16] = {};
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += data[i + j];
  float total = 0;
  for (; i < n; ++i) total += data[i];
  for (float v : acc) total += v;
  return total;
}
}  // namespace

double read_bandwidth(std::size_t bytes, int repeats) {
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> buffer(n, 1.0F);
  volatile float sink = sum_floats(buffer.data(), n);  // warm-up: page faults, TLB
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    sink = sink + sum_floats(buffer.data(), n);
    rates.push_back(static_cast<double>(n * sizeof(float)) / seconds_between(t0, Clock::now()));
  }
  (void)sink;
  return median(rates);
}

// ---- data and pipelines ---------------------------------------------------------------------------------

TempFile::~TempFile() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove(path, ec);
}

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

std::filesystem::path synthetic_data_path(const std::string& tag) {
  auto path = std::filesystem::temp_directory_path() / fmt::format("dipole_bench_{}_{}.npz", tag, ::getpid());
  write_synthetic_npz(path.string(), 20000, 24, 6);
  return path;
}

std::string toml_list(const std::vector<std::int64_t>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

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

// ---- benchmark pipelines --------------------------------------------------------------------------------

std::vector<std::filesystem::path> bench_config_dirs() {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    dirs.push_back((self.parent_path() / ".." / "share" / "dipole" / "configs" / "bench").lexically_normal());
  dirs.push_back(std::filesystem::path(DIPOLE_SOURCE_DIR) / "configs" / "bench");
  return dirs;
}

std::filesystem::path find_bench_pipeline(const std::string& name) {
  std::string tried;
  for (const auto& dir : bench_config_dirs()) {
    const auto file = dir / (name + ".toml");
    if (std::filesystem::is_regular_file(file)) return file;
    tried += "\n  " + file.string();
  }
  throw ConfigError("--algorithm: no benchmark pipeline '" + name + "'; looked for" + tried +
                    "\n(each file of configs/bench is one; or give --pipeline FILE)");
}

std::vector<std::string> hidden_dims_keys(const config::Pipeline& pipeline) {
  const std::string suffix = ".hidden_dims";
  std::vector<std::string> keys;
  for (const auto& key : pipeline.value_keys())
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0)
      keys.push_back(key);
  return keys;
}

BenchPipeline load_bench_pipeline(const PipelineChoice& choice, const std::string& tag) {
  const std::string file = choice.file.empty() ? find_bench_pipeline(choice.name).string() : choice.file;
  std::vector<std::string> overrides;
  BenchPipeline out;
  {
    const config::Pipeline plain = config::Pipeline::load(file, choice.overrides);
    if (plain.has_section("dataset") && plain.value_text("dataset.type") == std::string("npz_transitions") &&
        !plain.value_text("dataset.path")) {
      out.data = std::make_unique<TempFile>(synthetic_data_path(tag));
      overrides.push_back("dataset.path=\"" + out.data->path.string() + "\"");
    }
    if (!choice.hidden.empty()) {
      const std::string widths = toml_list(parse_widths(choice.hidden));
      for (const auto& key : hidden_dims_keys(plain)) overrides.push_back(key + "=" + widths);
    }
  }
  if (choice.batch > 0) overrides.push_back(fmt::format("trainer.batch_size={}", choice.batch));
  // --set last, so that an explicit override wins.
  overrides.insert(overrides.end(), choice.overrides.begin(), choice.overrides.end());
  out.pipeline = config::Pipeline::load(file, overrides);
  return out;
}

void add_pipeline_options(po::options_description& options, PipelineChoice& choice,
                          const std::string& name_help) {
  options.add_options()("algorithm", po::value(&choice.name), name_help.c_str())(
      "pipeline", po::value(&choice.file), "pipeline TOML file instead of configs/bench/<algorithm>.toml")(
      "set", po::value(&choice.overrides)->composing(),
      "override a key: --set weighting.beta=10 (repeatable)")(
      "batch", po::value(&choice.batch), "batch size (default: the pipeline's trainer.batch_size)")(
      "hidden", po::value(&choice.hidden),
      "hidden widths W,W,... for every network that sets hidden_dims (default: the pipeline's)");
}

void warm_up(Run& run, std::int64_t batch, at::Generator& data_gen, at::Generator& update_gen,
             int min_updates, double min_seconds) {
  const auto start = Clock::now();
  for (int i = 0; i < min_updates || seconds_between(start, Clock::now()) < min_seconds; ++i)
    run.algorithm->update(run.dataset->sample(batch, data_gen), update_gen, false);
}

// ---- profile ------------------------------------------------------------------------------------------

namespace profile {

const char* const kPhaseNames[kPhases] = {"forward", "backward", "optimiser"};

namespace {

State* g_state = nullptr;

/// FLOPs of a matrix product operator from its inputs (−1 if it is not one); `weight_bytes`: the bytes
/// of its second operand.
double gemm_flop(const at::RecordFunction& fn, double* weight_bytes) {
  const std::string name = fn.name();
  const auto inputs = fn.inputs();
  auto sizes = [&](std::size_t i) -> std::vector<std::int64_t> {
    if (i >= inputs.size() || !inputs[i].isTensor()) return {};
    return inputs[i].toTensor().sizes().vec();
  };
  std::size_t first = 0;
  if (name == "aten::mm" || name == "aten::bmm" || name == "aten::matmul" || name == "dipole::tiled_bmm")
    first = 0;
  else if (name == "aten::addmm" || name == "aten::addmm_" || name == "aten::baddbmm" ||
           name == "aten::baddbmm_" || name == "dipole::streamed_baddbmm" || name == "dipole::tiled_baddbmm")
    first = 1;
  else
    return -1;
  const auto x = sizes(first), w = sizes(first + 1);
  if (x.size() < 2 || w.size() < 2) return 0;
  const auto& weight = inputs[first + 1].toTensor();
  *weight_bytes = static_cast<double>(weight.numel()) * static_cast<double>(weight.element_size());
  double rows = 1;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) rows *= static_cast<double>(x[i]);
  return 2.0 * rows * static_cast<double>(x.back()) * static_cast<double>(w.back());
}

bool is_allocation(const char* name) {
  return std::strcmp(name, "aten::empty") == 0 || std::strcmp(name, "aten::empty_strided") == 0 ||
         std::strcmp(name, "aten::empty_like") == 0;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  auto* s = g_state;
  if (!s || s->paused || std::this_thread::get_id() != s->thread) return nullptr;
  // Tensor::backward is itself an operator (aten::_backward), so backward functions run nested in it.
  if (fn.scope() == at::RecordScope::BACKWARD_FUNCTION)
    s->phase = kBackward;
  else if (s->stack.empty() && s->phase == kBackward)
    s->phase = kOptimiser;
  Frame frame{fn.name(), Clock::now()};
  ++s->op_calls;
  if (is_allocation(frame.name)) ++s->allocations;
  const bool inside_gemm =
      std::any_of(s->stack.begin(), s->stack.end(), [](const Frame& f) { return f.gemm; });
  if (!inside_gemm) {
    double weight_bytes = 0;
    const double flop = gemm_flop(fn, &weight_bytes);
    if (flop >= 0) {
      frame.gemm = true;
      frame.gemm_flop = flop;
      frame.gemm_weight_bytes = weight_bytes;
    }
  }
  s->stack.push_back(frame);
  return nullptr;
}

void on_end(const at::RecordFunction& /*fn*/, at::ObserverContext* /*ctx*/) {
  auto* s = g_state;
  if (!s || s->paused || std::this_thread::get_id() != s->thread || s->stack.empty()) return;
  const Frame frame = s->stack.back();
  s->stack.pop_back();
  const double total = seconds_between(frame.start, Clock::now());
  auto& op = s->ops[{s->phase, frame.name}];
  op.self += total - frame.child;
  op.calls += 1;
  if (frame.gemm) {
    s->gemm_time[s->phase] += total;
    s->gemm_flop[s->phase] += frame.gemm_flop;
    s->gemm_weight_bytes += frame.gemm_weight_bytes;
    ++s->gemm_calls;
  }
  if (s->stack.empty())
    s->top_level[s->phase] += total;
  else
    s->stack.back().child += total;
}

}  // namespace
}  // namespace profile

GemmCount count_gemms(const std::function<void()>& fn) {
  profile::State state;
  state.thread = std::this_thread::get_id();
  profile::g_state = &state;
  const auto handle =
      at::addGlobalCallback(at::RecordFunctionCallback(profile::on_start, profile::on_end)
                                .needsInputs(true)
                                .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  try {
    fn();
  } catch (...) {
    at::removeCallback(handle);
    profile::g_state = nullptr;
    throw;
  }
  at::removeCallback(handle);
  profile::g_state = nullptr;
  GemmCount count;
  for (int ph = 0; ph < profile::kPhases; ++ph) count.flop += state.gemm_flop[ph];
  count.weight_bytes = state.gemm_weight_bytes;
  count.calls = state.gemm_calls;
  return count;
}

double ProfileResult::gemm_flop_per_update() const {
  double total = 0;
  for (double f : state.gemm_flop) total += f;
  return updates > 0 ? total / updates : 0.0;
}

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
    result.state.paused = true;
    const Batch b = run.dataset->sample(batch, data_gen);
    result.state.paused = false;
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
      "\nprofile: {} updates with an ATen RecordFunction observer ({:.2f} ms/update with it; "
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
  double gemm_total = 0;
  for (double t : p.state.gemm_time) gemm_total += t;
  out << fmt::format(
      "  per update: {:.0f} operator calls, {:.0f} GEMM calls ({:.2f} ms), {:.0f} tensor allocations "
      "(aten::empty*), {:.1f} µs per non-GEMM operator call on average\n",
      p.state.op_calls / n, p.state.gemm_calls / n, 1e3 * gemm_total / n, p.state.allocations / n,
      p.state.op_calls > p.state.gemm_calls
          ? 1e6 * (p.wall - gemm_total / n) / ((p.state.op_calls - p.state.gemm_calls) / n)
          : 0.0);
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

void print_rows(const Rows& rows, std::ostream& out) {
  std::size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  for (const auto& [k, v] : rows) out << fmt::format("  {:<{}}  {}\n", k, width, v);
}

void write_csv(const std::string& path, const Rows& rows) {
  std::ofstream out(path);
  if (!out) throw Error("cannot write " + path);
  out << "key,value\n";
  for (const auto& [k, v] : rows) {
    const bool quote = v.find(',') != std::string::npos || v.find(' ') != std::string::npos;
    out << k << "," << (quote ? "\"" + v + "\"" : v) << "\n";
  }
  std::cout << "wrote " << path << "\n";
}

}  // namespace dipole::bench
