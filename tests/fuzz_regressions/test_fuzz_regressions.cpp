// Replays every input kept in fuzz/regressions/<target>/ (crash reproducers found by scripts/fuzz.sh)
// and the issue's hostile inputs through the fuzz targets. A target returns normally for any input;
// a crash, an exception other than dipole::Error or a sanitizer report fails the suite.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define LLVMFuzzerTestOneInput fuzz_npy
#include "fuzz_npy.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_npz
#include "fuzz_npz.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_toml
#include "fuzz_toml.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_exorl
#include "fuzz_exorl.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ogbench
#include "fuzz_ogbench.cpp"
#undef LLVMFuzzerTestOneInput

namespace {

namespace fs = std::filesystem;
using Target = int (*)(const std::uint8_t*, std::size_t);

int replay(const std::string& target, Target run) {
  int count = 0;
  const fs::path dir = fs::path(DIPOLE_SOURCE_DIR) / "fuzz" / "regressions" / target;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename().string().front() == '.') continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0);
    ++count;
  }
  return count;
}

int run_text(Target run, const std::string& text) {
  return run(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

TEST(FuzzRegressions, KeptReproducersReplayCleanly) {
  int total = 0;
  total += replay("npy", fuzz_npy);
  total += replay("npz", fuzz_npz);
  total += replay("toml", fuzz_toml);
  total += replay("exorl", fuzz_exorl);
  total += replay("ogbench", fuzz_ogbench);
  std::cout << "[ info ] replayed " << total << " kept inputs\n";
}

TEST(FuzzRegressions, IssueReproducersReplayCleanly) {
  // 30,000 nested tuples in an npy header; a TOML key of 20,000 dotted parts; extends = "/dev/zero";
  // an ExORL name claiming 10^9 steps.
  std::string npy = "\x93NUMPY\x02";
  npy += '\0';
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(30000, '(') +
                             std::string(30000, ')') + ", }\n";
  const auto length = static_cast<std::uint32_t>(header.size());
  for (int k = 0; k < 4; ++k) npy += static_cast<char>((length >> (8 * k)) & 0xFF);
  EXPECT_EQ(run_text(fuzz_npy, npy + header), 0);
  std::string key = "a";
  for (int i = 1; i < 20000; ++i) key += ".a";
  EXPECT_EQ(run_text(fuzz_toml, "[s]\n" + key + " = 1\n"), 0);
  EXPECT_EQ(run_text(fuzz_toml, "extends = \"/dev/zero\"\n"), 0);
  EXPECT_EQ(run_text(fuzz_toml, "[s]\nx = 1\n#---\n\n#---\n" + key + "=1\n"), 0);
  EXPECT_EQ(run_text(fuzz_exorl, "episode_0_1000000000.npz\nPK\x05\x06" + std::string(18, '\0')), 0);
}

}  // namespace
