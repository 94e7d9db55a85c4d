// Writes the binary seed corpora of the fuzz targets (scripts/fuzz.sh runs it before fuzzing):
// valid .npy files of every dtype and layout, .npz archives (stored and deflated) and ExORL episodes,
// made with the same writer as Dipole's datasets and checkpoints. Usage: make_seeds <corpus-root>.
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "dipole/core/npz.hpp"

using dipole::npz::Array;
using dipole::npz::DType;

namespace {

Array make(DType dtype, std::vector<std::int64_t> shape) {
  Array a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(static_cast<std::size_t>(a.numel()) * dipole::npz::item_size(dtype));
  for (std::size_t i = 0; i < a.data.size(); ++i)
    a.data[i] =
        dtype == DType::Bool ? static_cast<std::uint8_t>(i % 2) : static_cast<std::uint8_t>(i * 37 % 61);
  return a;
}

Array floats(std::int64_t rows, std::int64_t cols, double value, bool f64 = false) {
  Array a;
  a.dtype = f64 ? DType::Float64 : DType::Float32;
  a.shape = {rows, cols};
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    std::uint8_t bytes[8];
    if (f64) {
      const double v = value * static_cast<double>(i % 5);
      std::memcpy(bytes, &v, 8);
      a.data.insert(a.data.end(), bytes, bytes + 8);
    } else {
      const float v = static_cast<float>(value * static_cast<double>(i % 5));
      std::memcpy(bytes, &v, 4);
      a.data.insert(a.data.end(), bytes, bytes + 4);
    }
  }
  return a;
}

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::vector<std::uint8_t>& bytes,
               const std::string& prefix = "") {
  std::ofstream out(path, std::ios::binary);
  out << prefix;
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string root = argv[1];
  for (const char* d : {"", "/npy", "/npz", "/exorl"}) mkdir((root + d).c_str(), 0755);
  int n = 0;
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int32,
                          DType::Int64,   DType::Bool,    DType::UInt8};
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {0}, {3}, {2, 3}, {2, 1, 2}};
  for (const DType dtype : dtypes)
    for (const auto& shape : shapes)
      write_all(root + "/npy/seed_" + std::to_string(n++) + ".npy",
                dipole::npz::serialize_npy(make(dtype, shape)));

  const std::string scratch = root + "/scratch.npz";
  n = 0;
  for (const bool compressed : {false, true}) {
    dipole::npz::write_npz(scratch, {{"a", make(DType::Float32, {2, 3})}}, compressed);
    write_all(root + "/npz/seed_" + std::to_string(n++) + ".npz", read_all(scratch));
    dipole::npz::write_npz(scratch,
                           {{"observations", make(DType::Float32, {4, 2})},
                            {"terminals", make(DType::Bool, {4})},
                            {"step", make(DType::Int64, {})}},
                           compressed);
    write_all(root + "/npz/seed_" + std::to_string(n++) + ".npz", read_all(scratch));
    // An ExORL episode of T = 5 (obs 3, action 2, physics 4), the layout of fuzz_exorl.cpp.
    dipole::npz::write_npz(scratch,
                           {{"observation", floats(6, 3, 0.5)},
                            {"action", floats(6, 2, 0.2)},
                            {"reward", floats(6, 1, 1.0)},
                            {"discount", floats(6, 1, 0.25)},
                            {"physics", floats(6, 4, 0.1, true)}},
                           compressed);
    write_all(root + "/exorl/seed_" + std::to_string(n) + ".bin", read_all(scratch), "episode_0_5.npz\n");
    write_all(root + "/exorl/seed_long_" + std::to_string(n) + ".bin", read_all(scratch),
              "episode_3_1000.npz\n");
  }
  std::remove(scratch.c_str());
  return 0;
}
