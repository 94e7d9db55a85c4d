// ExORL file-format rules (plugins/benchmarks/exorl/exorl_format.hpp) without a simulator: file names, the
// order of files, and every kind of corrupt or mismatched episode file with the message it must give.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include "dipole/errors.hpp"
#include "exorl_format.hpp"

namespace dipole::exorl {
namespace {

namespace fs = std::filesystem;

const DomainSizes kSizes{"testdomain", 3, 2, 4};  // obs 3, action 2, physics 4

template <class T>
npz::Array array(npz::DType dtype, std::int64_t rows, std::int64_t cols,
                 T (*value)(std::int64_t, std::int64_t)) {
  npz::Array a;
  a.dtype = dtype;
  a.shape = {rows, cols};
  a.data.resize(static_cast<std::size_t>(rows * cols) * sizeof(T));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) {
      const T v = value(r, c);
      std::memcpy(a.data.data() + static_cast<std::size_t>(r * cols + c) * sizeof(T), &v, sizeof(T));
    }
  return a;
}

/// A valid episode of T = 5 steps (6 rows) for kSizes.
std::map<std::string, npz::Array> valid_episode(std::int64_t rows = 6) {
  return {
      {"observation",
       array<float>(npz::DType::Float32, rows, 3,
                    [](std::int64_t r, std::int64_t c) { return static_cast<float>(10 * r + c); })},
      {"action",
       array<float>(npz::DType::Float32, rows, 2,
                    [](std::int64_t r, std::int64_t c) { return r == 0 ? 0.0F : (c ? -1.0F : 0.5F); })},
      {"reward", array<float>(npz::DType::Float32, rows, 1,
                              [](std::int64_t r, std::int64_t) { return static_cast<float>(r) / 10.0F; })},
      {"discount",
       array<float>(npz::DType::Float32, rows, 1, [](std::int64_t, std::int64_t) { return 1.0F; })},
      {"physics",
       array<double>(npz::DType::Float64, rows, 4,
                     [](std::int64_t r, std::int64_t c) { return 0.25 * static_cast<double>(r + c); })},
  };
}

template <class T>
void set(npz::Array& a, std::int64_t row, std::int64_t col, T value) {
  std::memcpy(a.data.data() + static_cast<std::size_t>(row * a.shape[1] + col) * sizeof(T), &value,
              sizeof(T));
}

class Format : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_exorl_format_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  EpisodeFile write(const std::string& name, const std::map<std::string, npz::Array>& arrays) {
    const std::string path = (dir_ / name).string();
    npz::write_npz(path, arrays, true);
    auto file = parse_file_name(name);
    EXPECT_TRUE(file.has_value()) << name;
    file->path = path;
    return *file;
  }

  /// The DataError message of reading `arrays` saved as `name`, or "" if it loaded.
  std::string error_of(const std::map<std::string, npz::Array>& arrays,
                       const std::string& name = "episode_0_5.npz") {
    const EpisodeFile file = write(name, arrays);
    try {
      read_episode(file, kSizes);
    } catch (const DataError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST(FileName, ParsesThreeFields) {
  const auto f = parse_file_name("episode_12_1000.npz");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->prefix, "episode");
  EXPECT_EQ(f->index, 12);
  EXPECT_EQ(f->length, 1000);
  const auto urlb = parse_file_name("20211201T120000_0_250.npz");  // URLB's timestamp prefix
  ASSERT_TRUE(urlb);
  EXPECT_EQ(urlb->index, 0);
  EXPECT_EQ(urlb->length, 250);
  for (const char* bad : {"episode_1.npz", "episode_1_2_3.npz", "my_episode_1_2.npz", "_1_2.npz",
                          "episode__2.npz", "episode_1_0.npz", "episode_a_2.npz", "episode_1_2x.npz",
                          "episode_1_2.npy", "episode_-1_2.npz", ".npz"})
    EXPECT_FALSE(parse_file_name(bad)) << bad;
  EXPECT_EQ(episode_file_name("episode", 7, 1000), "episode_7_1000.npz");
  EXPECT_THROW(episode_file_name("my_run", 0, 1), ConfigError);
  EXPECT_THROW(episode_file_name("", 0, 1), ConfigError);
  EXPECT_EQ(buffer_directory("data/exorl", "walker", "rnd"), "data/exorl/walker/rnd/buffer");
}

TEST_F(Format, FilesAreInNumericIndexOrder) {
  for (int i : {10, 2, 0, 1}) write("episode_" + std::to_string(i) + "_5.npz", valid_episode());
  std::ofstream(dir_ / "notes.txt") << "ignored";
  const auto files = list_episode_files(dir_.string());
  ASSERT_EQ(files.size(), 4U);
  EXPECT_EQ(files[0].index, 0);
  EXPECT_EQ(files[1].index, 1);
  EXPECT_EQ(files[2].index, 2);  // a string sort would put episode_10 here
  EXPECT_EQ(files[3].index, 10);
  EXPECT_EQ(fs::path(files[3].path).filename(), "episode_10_5.npz");
  EXPECT_GT(files[0].bytes, 0U);
}

TEST_F(Format, BadFileNameAndDuplicateIndexAreErrors) {
  write("episode_0_5.npz", valid_episode());
  npz::write_npz((dir_ / "episode-1-5.npz").string(), valid_episode(), true);
  try {
    list_episode_files(dir_.string());
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("episode-1-5.npz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("<prefix>_<index>_<length>.npz"), std::string::npos) << e.what();
  }
  fs::remove(dir_ / "episode-1-5.npz");
  write("run_0_7.npz", valid_episode(8));
  try {
    list_episode_files(dir_.string());
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("episode index 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("run_0_7.npz"), std::string::npos) << e.what();
  }
}

TEST_F(Format, ValidEpisodeLoadsAndExtraKeysAreIgnored) {
  auto arrays = valid_episode();
  arrays["skill"] = array<float>(npz::DType::Float32, 6, 16, [](std::int64_t, std::int64_t) { return 0.0F; });
  const EpisodeFile file = write("episode_3_5.npz", arrays);
  const EpisodeArrays a = read_episode(file, kSizes);
  EXPECT_EQ(a.rows, 6);
  EXPECT_EQ(a.observation.shape, (std::vector<std::int64_t>{6, 3}));
  EXPECT_EQ(a.physics.dtype, npz::DType::Float64);
  double last = 0;
  std::memcpy(&last, a.physics.data.data() + (6 * 4 - 1) * sizeof(double), sizeof(double));
  EXPECT_EQ(last, 0.25 * (5 + 3));
}

TEST_F(Format, EachCorruptionGivesItsMessage) {
  const auto expect_error = [&](std::map<std::string, npz::Array> arrays, std::vector<std::string> parts,
                                const std::string& name = "episode_0_5.npz") {
    const std::string message = error_of(arrays, name);
    ASSERT_FALSE(message.empty()) << "expected an error for " << parts.front();
    EXPECT_NE(message.find(name), std::string::npos) << message;  // names the file
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  auto missing = valid_episode();
  missing.erase("physics");
  expect_error(missing, {"missing array 'physics'", "found: action, discount, observation, reward"});

  auto dtype = valid_episode();
  dtype["physics"] = array<float>(npz::DType::Float32, 6, 4, [](std::int64_t, std::int64_t) { return 0.0F; });
  expect_error(dtype, {"'physics' has dtype float32, expected float64"});

  auto action_dtype = valid_episode();
  action_dtype["action"] =
      array<double>(npz::DType::Float64, 6, 2, [](std::int64_t, std::int64_t) { return 0.0; });
  expect_error(action_dtype, {"'action' has dtype float64, expected float32"});

  auto width = valid_episode();  // another domain's observation width
  width["observation"] =
      array<float>(npz::DType::Float32, 6, 17, [](std::int64_t, std::int64_t) { return 0.0F; });
  expect_error(width, {"'observation' has shape (6, 17), expected (6, 3)", "testdomain"});

  auto flat = valid_episode();
  flat["reward"].shape = {6};
  expect_error(flat, {"'reward' has shape (6,), expected (6, 1)"});

  auto nan = valid_episode();
  set(nan["observation"], 4, 1, std::numeric_limits<float>::quiet_NaN());
  expect_error(nan, {"'observation' has a non-finite value at row 4"});

  auto inf = valid_episode();
  set(inf["physics"], 2, 0, std::numeric_limits<double>::infinity());
  expect_error(inf, {"'physics' has a non-finite value at row 2"});

  auto rows = valid_episode();
  rows["physics"] = array<double>(npz::DType::Float64, 5, 4, [](std::int64_t, std::int64_t) { return 0.0; });
  expect_error(rows, {"'physics' has 5 rows, expected 6", "length 5"});

  // Every array has 6 rows, but the name says 7 steps.
  expect_error(valid_episode(), {"'observation' has 6 rows, expected 8", "length 7"}, "episode_0_7.npz");

  auto range = valid_episode();
  set(range["action"], 2, 1, 1.5F);
  expect_error(range, {"'action' at row 2, column 1 is 1.5", "[-1, 1]"});
}

TEST_F(Format, ANameClaimingHugeLengthIsRefusedBeforeAllocating) {
  // The reproducer: a small file whose name claims 10^9 steps (the dataset would allocate ~96 GB).
  npz::write_npz((dir_ / "episode_0_1000000000.npz").string(), valid_episode(), true);
  const auto files = list_episode_files(dir_.string());
  ASSERT_EQ(files.size(), 1u);
  try {
    check_claimed_length(files[0], kSizes);
    FAIL() << "accepted a name claiming 10^9 steps";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("episode_0_1000000000.npz: the file name claims 1000000000 steps"),
              std::string::npos)
        << e.what();
  }
  // A true length passes (the check is a bound, the arrays are validated when read).
  const EpisodeFile real = write("episode_1_5.npz", valid_episode());
  EpisodeFile listed = real;
  listed.bytes = fs::file_size(real.path);
  EXPECT_NO_THROW(check_claimed_length(listed, kSizes));
}

TEST_F(Format, FingerprintFollowsTheFileList) {
  write("episode_0_5.npz", valid_episode());
  write("episode_1_5.npz", valid_episode());
  const auto files = list_episode_files(dir_.string());
  const std::string key = fingerprint(files, "walker stand");
  EXPECT_EQ(key, fingerprint(list_episode_files(dir_.string()), "walker stand"));
  EXPECT_NE(key, fingerprint(files, "walker walk"));
  EXPECT_NE(key, fingerprint({files[0]}, "walker stand"));
  EXPECT_NE(key.find("files=2"), std::string::npos) << key;
  auto changed = valid_episode();
  set(changed["reward"], 3, 0, 0.75F);
  write("episode_1_5.npz", changed);  // rewritten: new mtime (and possibly size)
  auto rewritten = list_episode_files(dir_.string());
  if (rewritten[1].mtime == files[1].mtime && rewritten[1].bytes == files[1].bytes)
    GTEST_SKIP() << "file clock too coarse to see the rewrite";
  EXPECT_NE(key, fingerprint(rewritten, "walker stand"));
}

}  // namespace
}  // namespace dipole::exorl
