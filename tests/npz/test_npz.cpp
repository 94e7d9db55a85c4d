// Tests of dipole::npz: npy/npz round trips, hand-crafted npy headers, zip archives from other
// writers, corrupt inputs and atomic writes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <dipole/errors.hpp>
#include <dipole/sdk/npz.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using dipole::DataError;
using dipole::npz::Array;
using dipole::npz::DType;

constexpr DType kAllDtypes[] = {DType::Float32, DType::Float64, DType::Int32,
                                DType::Int64,   DType::Bool,    DType::UInt8};

// ---- helpers -----------------------------------------------------------------------------------

/// Deterministic contents for every dtype, including -0.0, infinity and NaN for the floats so that
/// the comparisons are bit-exact.
Array pattern_array(DType dtype, std::vector<std::int64_t> shape) {
  Array array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  const std::int64_t n = array.numel();
  array.data.resize(static_cast<std::size_t>(n) * dipole::npz::item_size(dtype));
  std::uint8_t* out = array.data.data();
  for (std::int64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType::Float32: {
        float v = 0.25f * static_cast<float>(i) - 3.1f;
        if (i == 1) v = -0.0f;
        if (i == 2) v = std::numeric_limits<float>::infinity();
        if (i == 3) v = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(out + 4 * i, &v, 4);
        break;
      }
      case DType::Float64: {
        double v = 1.0 / static_cast<double>(i + 3) - 7.5;
        if (i == 1) v = -0.0;
        if (i == 2) v = -std::numeric_limits<double>::infinity();
        if (i == 3) v = std::numeric_limits<double>::quiet_NaN();
        std::memcpy(out + 8 * i, &v, 8);
        break;
      }
      case DType::Int32: {
        const std::int32_t v = static_cast<std::int32_t>(i * 100003 - 77);
        std::memcpy(out + 4 * i, &v, 4);
        break;
      }
      case DType::Int64: {
        const std::int64_t v = i * 3000000000LL - 5;
        std::memcpy(out + 8 * i, &v, 8);
        break;
      }
      case DType::Bool:
        out[i] = i % 3 == 0 ? 1 : 0;
        break;
      case DType::UInt8:
        out[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
        break;
    }
  }
  return array;
}

void expect_same_array(const Array& expected, const Array& actual) {
  EXPECT_EQ(expected.dtype, actual.dtype);
  EXPECT_EQ(expected.shape, actual.shape);
  EXPECT_EQ(expected.data, actual.data);
}

template <typename T>
std::vector<T> values_of(const Array& array) {
  EXPECT_EQ(array.data.size(), static_cast<std::size_t>(array.numel()) * sizeof(T));
  std::vector<T> values(array.data.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), array.data.data(), array.data.size());
  return values;
}

template <typename T>
void append_raw(std::vector<std::uint8_t>& out, T value) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

template <typename T>
void append_big_endian(std::vector<std::uint8_t>& out, T value) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&value);
  for (std::size_t i = sizeof(T); i-- > 0;) out.push_back(p[i]);
}

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(v & 0xFF);
  out.push_back((v >> 8) & 0xFF);
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}
void put64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  put32(out, static_cast<std::uint32_t>(v));
  put32(out, static_cast<std::uint32_t>(v >> 32));
}

/// An npy file from a header dict text and raw data, the way another writer might lay it out
/// (no alignment padding, just the terminating newline).
std::vector<std::uint8_t> npy_bytes(const std::string& dict, const std::vector<std::uint8_t>& data,
                                    int major = 1) {
  const std::string header = dict + "\n";
  std::vector<std::uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  if (major == 1)
    put16(out, static_cast<std::uint32_t>(header.size()));
  else
    put32(out, static_cast<std::uint32_t>(header.size()));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Array parse(const std::vector<std::uint8_t>& bytes) {
  return dipole::npz::parse_npy(bytes.data(), bytes.size(), "handmade.npy");
}

/// The message of the DataError `action` throws ("" and a test failure if it throws nothing or
/// something else).
std::string data_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const DataError& error) {
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "expected a dipole::DataError, got another exception: " << error.what();
    return "";
  }
  ADD_FAILURE() << "expected a dipole::DataError, nothing was thrown";
  return "";
}

void expect_contains(const std::string& message, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' missing from: " << message;
}

std::uint32_t crc32(const std::vector<std::uint8_t>& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::uint8_t byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/// A raw deflate stream (RFC 1951) made of "stored" blocks: valid input for any inflater.
std::vector<std::uint8_t> deflate_stored_blocks(const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, data.size() - pos);
    out.push_back(pos + n == data.size() ? 1 : 0);  // BFINAL, BTYPE = 00
    put16(out, static_cast<std::uint32_t>(n));
    put16(out, static_cast<std::uint32_t>(~n & 0xFFFF));
    out.insert(out.end(), data.begin() + pos, data.begin() + pos + n);
    pos += n;
  } while (pos < data.size());
  return out;
}

struct ZipMember {
  std::string name;
  std::vector<std::uint8_t> content;  // uncompressed
  bool deflate = false;               // method 8 (stored deflate blocks) instead of method 0
  bool data_descriptor = false;       // flag bit 3: CRC and sizes follow the data, zero in the header
  bool zip64_local_extra = false;     // sizes 0xFFFFFFFF in the local header, real ones in a ZIP64 extra
  bool corrupt_crc = false;           // store a wrong CRC
};

/// A zip archive laid out byte by byte (ZIP application note, section 4.3).
std::vector<std::uint8_t> build_zip(const std::vector<ZipMember>& members) {
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> central;
  for (const ZipMember& m : members) {
    const std::vector<std::uint8_t> payload = m.deflate ? deflate_stored_blocks(m.content) : m.content;
    const std::uint32_t crc = crc32(m.content) ^ (m.corrupt_crc ? 0x5A5A5A5Au : 0u);
    const std::uint16_t flags = m.data_descriptor ? 0x0008 : 0;
    const std::uint16_t method = m.deflate ? 8 : 0;
    const std::uint16_t version = m.zip64_local_extra ? 45 : 20;
    const std::uint32_t offset = static_cast<std::uint32_t>(out.size());

    put32(out, 0x04034b50);
    put16(out, version);
    put16(out, flags);
    put16(out, method);
    put16(out, 0);       // time 00:00
    put16(out, 0x0021);  // date 1980-01-01
    if (m.data_descriptor) {
      put32(out, 0);
      put32(out, m.zip64_local_extra ? 0xFFFFFFFFu : 0);
      put32(out, m.zip64_local_extra ? 0xFFFFFFFFu : 0);
    } else {
      put32(out, crc);
      put32(out, m.zip64_local_extra ? 0xFFFFFFFFu : static_cast<std::uint32_t>(payload.size()));
      put32(out, m.zip64_local_extra ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.content.size()));
    }
    put16(out, static_cast<std::uint32_t>(m.name.size()));
    put16(out, m.zip64_local_extra ? 20 : 0);
    out.insert(out.end(), m.name.begin(), m.name.end());
    if (m.zip64_local_extra) {
      put16(out, 0x0001);  // ZIP64 extended information
      put16(out, 16);
      put64(out, m.data_descriptor ? 0 : m.content.size());
      put64(out, m.data_descriptor ? 0 : payload.size());
    }
    out.insert(out.end(), payload.begin(), payload.end());
    if (m.data_descriptor) {
      put32(out, 0x08074b50);
      put32(out, crc);
      if (m.zip64_local_extra) {
        put64(out, payload.size());
        put64(out, m.content.size());
      } else {
        put32(out, static_cast<std::uint32_t>(payload.size()));
        put32(out, static_cast<std::uint32_t>(m.content.size()));
      }
    }

    put32(central, 0x02014b50);
    put16(central, 20);  // made by
    put16(central, version);
    put16(central, flags);
    put16(central, method);
    put16(central, 0);
    put16(central, 0x0021);
    put32(central, crc);
    put32(central, static_cast<std::uint32_t>(payload.size()));
    put32(central, static_cast<std::uint32_t>(m.content.size()));
    put16(central, static_cast<std::uint32_t>(m.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central.insert(central.end(), m.name.begin(), m.name.end());
  }
  const std::uint32_t central_offset = static_cast<std::uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(members.size()));
  put16(out, static_cast<std::uint32_t>(members.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);
  return out;
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(file.good()) << path;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

/// Small arrays used by the foreign-archive tests: a 2x3 float32 and a 4-element bool.
std::vector<std::uint8_t> obs_npy() {
  std::vector<std::uint8_t> data;
  for (float v : {0.5f, -1.25f, 2.0f, 3.5f, -4.0f, 1e-3f}) append_raw(data, v);
  return npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data);
}
std::vector<std::uint8_t> done_npy() {
  return npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", {0, 1, 1, 0});
}
void expect_obs_and_done(const std::map<std::string, Array>& arrays) {
  ASSERT_EQ(arrays.size(), 2u);
  const Array& obs = arrays.at("obs");
  EXPECT_EQ(obs.dtype, DType::Float32);
  EXPECT_EQ(obs.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(values_of<float>(obs), (std::vector<float>{0.5f, -1.25f, 2.0f, 3.5f, -4.0f, 1e-3f}));
  const Array& done = arrays.at("done");
  EXPECT_EQ(done.dtype, DType::Bool);
  EXPECT_EQ(done.shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(done.data, (std::vector<std::uint8_t>{0, 1, 1, 0}));
}

/// Every test gets its own empty directory under the system temp directory.
class Npz : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("dipole_npz_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> directory_listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

// ---- round trips -------------------------------------------------------------------------------

TEST_F(Npz, EveryDtypeAndShapeRoundTripsThroughNpyAndNpz) {
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {5}, {2, 3, 4}, {0}, {3, 0, 2}};
  for (const bool compressed : {true, false}) {
    std::map<std::string, Array> arrays;
    for (DType dtype : kAllDtypes) {
      for (std::size_t s = 0; s < shapes.size(); ++s) {
        const std::string key = std::string(dipole::npz::to_string(dtype)) + "_" + std::to_string(s);
        SCOPED_TRACE(key);
        const Array array = pattern_array(dtype, shapes[s]);
        // In memory.
        const std::vector<std::uint8_t> bytes = dipole::npz::serialize_npy(array);
        expect_same_array(array, dipole::npz::parse_npy(bytes.data(), bytes.size(), key));
        // As an .npy file.
        dipole::npz::write_npy(path(key + ".npy"), array);
        expect_same_array(array, dipole::npz::read_npy(path(key + ".npy")));
        arrays[key] = array;
      }
    }
    SCOPED_TRACE(compressed ? "deflate" : "stored");
    const std::string file = path(compressed ? "deflate.npz" : "stored.npz");
    dipole::npz::write_npz(file, arrays, compressed);

    const std::map<std::string, Array> read = dipole::npz::read_npz(file);
    ASSERT_EQ(read.size(), arrays.size());
    for (const auto& [key, array] : arrays) {
      SCOPED_TRACE(key);
      ASSERT_EQ(read.count(key), 1u);
      expect_same_array(array, read.at(key));
    }
    std::vector<std::string> keys = dipole::npz::list_npz(file);
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> expected_keys;
    for (const auto& entry : arrays) expected_keys.push_back(entry.first);
    EXPECT_EQ(keys, expected_keys);
    expect_same_array(arrays.at("int64_2"), dipole::npz::read_npz_member(file, "int64_2"));
  }
  // Deflate actually compresses: the pattern data is redundant enough.
  EXPECT_LT(fs::file_size(path("deflate.npz")), fs::file_size(path("stored.npz")));
}

TEST_F(Npz, SerializedHeaderIsWhatNumpyWrites) {
  const std::vector<std::uint8_t> bytes = dipole::npz::serialize_npy(pattern_array(DType::Float32, {2, 3}));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 6), "NUMPY");
  EXPECT_EQ(bytes[0], 0x93);
  EXPECT_EQ(bytes[6], 1);  // version 1.0
  EXPECT_EQ(bytes[7], 0);
  const std::size_t header_length = bytes[8] | (bytes[9] << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u);  // data 64-byte aligned
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + header_length);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(header.substr(0, dict.size()), dict);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.find_first_not_of(' ', dict.size()), header_length - 1);
  EXPECT_EQ(bytes.size(), 10 + header_length + 24);

  const std::vector<std::uint8_t> scalar = dipole::npz::serialize_npy(pattern_array(DType::Bool, {}));
  EXPECT_NE(std::string(scalar.begin(), scalar.end())
                .find("{'descr': '|b1', 'fortran_order': False, 'shape': (), }"),
            std::string::npos);
  const std::vector<std::uint8_t> vector = dipole::npz::serialize_npy(pattern_array(DType::UInt8, {7}));
  EXPECT_NE(std::string(vector.begin(), vector.end())
                .find("'descr': '|u1', 'fortran_order': False, 'shape': (7,), }"),
            std::string::npos);
}

TEST_F(Npz, HeaderLongerThan65535BytesUsesVersion2) {
  const Array array = pattern_array(DType::Int32, std::vector<std::int64_t>(25000, 1));  // "1, " x 25000
  const std::vector<std::uint8_t> bytes = dipole::npz::serialize_npy(array);
  EXPECT_EQ(bytes[6], 2);
  EXPECT_EQ(bytes[7], 0);
  const std::size_t header_length = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24);
  EXPECT_GT(header_length, 65535u);
  EXPECT_EQ((12 + header_length) % 64, 0u);
  // Reading refuses more than 64 dimensions (numpy's own limit, docs/reliability.md); a version-2
  // header longer than 65535 bytes still parses.
  expect_contains(data_error_of([&] { parse(bytes); }), {"25000 dimensions, more than the 64 allowed"});
  const Array small = pattern_array(DType::Int32, {2, 3});
  const std::string dict =
      "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(70000, ' ');
  expect_same_array(small, parse(npy_bytes(dict, small.data, 2)));
}

// ---- tensors -----------------------------------------------------------------------------------

at::Tensor sample_tensor(at::ScalarType type) {
  at::Tensor values = at::arange(24, at::kLong).reshape({2, 3, 4});
  if (type == at::kBool) return values.remainder(3).eq(0);
  if (type == at::kFloat || type == at::kDouble) return values.to(type).mul(0.37).sin();
  if (type == at::kByte) return values.mul(11).remainder(256).to(type);
  return values.mul(1000003).sub(50).to(type);
}

void expect_same_bytes(const at::Tensor& expected, const at::Tensor& actual) {
  ASSERT_EQ(expected.scalar_type(), actual.scalar_type());
  ASSERT_EQ(expected.sizes(), actual.sizes());
  const at::Tensor a = expected.contiguous();
  const at::Tensor b = actual.contiguous();
  ASSERT_EQ(a.nbytes(), b.nbytes());
  EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()), 0);
}

TEST_F(Npz, TensorsRoundTripBitIdenticalForEveryDtype) {
  const std::pair<at::ScalarType, DType> types[] = {
      {at::kFloat, DType::Float32}, {at::kDouble, DType::Float64}, {at::kInt, DType::Int32},
      {at::kLong, DType::Int64},    {at::kBool, DType::Bool},      {at::kByte, DType::UInt8}};
  std::map<std::string, Array> arrays;
  for (const auto& [type, dtype] : types) {
    SCOPED_TRACE(dipole::npz::to_string(dtype));
    const at::Tensor tensor = sample_tensor(type);
    const Array array = dipole::npz::from_tensor(tensor);
    EXPECT_EQ(array.dtype, dtype);
    EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3, 4}));
    ASSERT_EQ(array.data.size(), tensor.nbytes());
    EXPECT_EQ(std::memcmp(array.data.data(), tensor.data_ptr(), array.data.size()), 0);
    const at::Tensor back = dipole::npz::to_tensor(array);
    EXPECT_TRUE(back.device().is_cpu());
    expect_same_bytes(tensor, back);
    arrays[dipole::npz::to_string(dtype)] = array;
  }
  dipole::npz::write_npz(path("tensors.npz"), arrays, true);
  for (const auto& [key, array] : dipole::npz::read_npz(path("tensors.npz"))) {
    SCOPED_TRACE(key);
    expect_same_bytes(dipole::npz::to_tensor(arrays.at(key)), dipole::npz::to_tensor(array));
  }

  // A 0-d tensor is a scalar with shape () and one element; an empty tensor keeps its zero dimension.
  const Array scalar = dipole::npz::from_tensor(at::scalar_tensor(2.5, at::kDouble));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(values_of<double>(scalar), std::vector<double>{2.5});
  EXPECT_EQ(dipole::npz::to_tensor(scalar).dim(), 0);
  EXPECT_EQ(dipole::npz::to_tensor(scalar).item<double>(), 2.5);
  const Array empty = dipole::npz::from_tensor(at::zeros({3, 0}, at::kInt));
  EXPECT_EQ(empty.shape, (std::vector<std::int64_t>{3, 0}));
  EXPECT_TRUE(empty.data.empty());
  EXPECT_EQ(dipole::npz::to_tensor(empty).sizes(), (std::vector<std::int64_t>{3, 0}));
}

TEST_F(Npz, NonContiguousTensorsAreCopiedInLogicalOrder) {
  const at::Tensor base = at::arange(15, at::kDouble).mul(0.37).sin().reshape({3, 5});
  const at::Tensor transposed = base.t();  // [5, 3]
  ASSERT_FALSE(transposed.is_contiguous());
  const Array array = dipole::npz::from_tensor(transposed);
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{5, 3}));
  const std::vector<double> values = values_of<double>(array);
  ASSERT_EQ(values.size(), 15u);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 3; ++j) EXPECT_EQ(values[i * 3 + j], base[j][i].item<double>());
  expect_same_bytes(transposed, dipole::npz::to_tensor(array));

  // A strided slice with a storage offset.
  const at::Tensor slice = base.slice(1, 1, 5, 2);  // [3, 2], columns 1 and 3
  ASSERT_FALSE(slice.is_contiguous());
  expect_same_bytes(slice, dipole::npz::to_tensor(dipole::npz::from_tensor(slice)));
}

TEST_F(Npz, ToTensorOwnsItsMemoryAndMapsDtypes) {
  Array array = pattern_array(DType::UInt8, {4});
  const at::Tensor tensor = dipole::npz::to_tensor(array);
  EXPECT_EQ(tensor.scalar_type(), at::kByte);
  const std::vector<std::uint8_t> original = array.data;
  array.data.assign(array.data.size(), 0xEE);
  array.data.clear();
  array.data.shrink_to_fit();
  ASSERT_TRUE(tensor.is_contiguous());
  EXPECT_EQ(std::memcmp(tensor.data_ptr(), original.data(), original.size()), 0);

  EXPECT_EQ(dipole::npz::to_tensor(pattern_array(DType::Bool, {2})).scalar_type(), at::kBool);
  EXPECT_EQ(dipole::npz::to_tensor(pattern_array(DType::Int32, {2})).scalar_type(), at::kInt);
  EXPECT_EQ(dipole::npz::to_tensor(pattern_array(DType::Int64, {2})).scalar_type(), at::kLong);
  EXPECT_EQ(dipole::npz::to_tensor(pattern_array(DType::Float64, {2})).scalar_type(), at::kDouble);

  const std::string message = data_error_of([] { dipole::npz::from_tensor(at::zeros({2}, at::kHalf)); });
  expect_contains(message, {"Half", "supported", "float32"});
}

// ---- hand-crafted npy ----------------------------------------------------------------------------

TEST_F(Npz, FortranOrderIsConvertedToCOrder) {
  // [[1, 2, 3], [4, 5, 6]] stored column by column.
  std::vector<std::uint8_t> data;
  for (double v : {1.0, 4.0, 2.0, 5.0, 3.0, 6.0}) append_raw(data, v);
  const Array matrix = parse(npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data));
  EXPECT_EQ(matrix.dtype, DType::Float64);
  EXPECT_EQ(matrix.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(values_of<double>(matrix), (std::vector<double>{1, 2, 3, 4, 5, 6}));

  // 3-d: element (i, j, k) = 100 i + 10 j + k sits at i + 2 j + 6 k in Fortran order.
  std::vector<std::int32_t> fortran(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) fortran[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
  data.clear();
  for (std::int32_t v : fortran) append_raw(data, v);
  const Array cube = parse(npy_bytes("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
  EXPECT_EQ(cube.shape, (std::vector<std::int64_t>{2, 3, 4}));
  const std::vector<std::int32_t> values = values_of<std::int32_t>(cube);
  ASSERT_EQ(values.size(), 24u);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(values[i * 12 + j * 4 + k], 100 * i + 10 * j + k);
}

TEST_F(Npz, BigEndianIsConvertedToLittleEndian) {
  std::vector<std::uint8_t> data;
  for (std::int32_t v : {1, -2, 0x12345678}) append_big_endian(data, v);
  const Array ints = parse(npy_bytes("{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }", data));
  EXPECT_EQ(ints.dtype, DType::Int32);
  EXPECT_EQ(values_of<std::int32_t>(ints), (std::vector<std::int32_t>{1, -2, 0x12345678}));

  data.clear();
  for (double v : {1.5, -0.25, 1e300}) append_big_endian(data, v);
  const Array doubles = parse(npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", data));
  EXPECT_EQ(doubles.dtype, DType::Float64);
  EXPECT_EQ(values_of<double>(doubles), (std::vector<double>{1.5, -0.25, 1e300}));

  data.clear();
  for (float v : {0.5f, -3.0f}) append_big_endian(data, v);
  for (std::int64_t v : {std::int64_t{-7}, std::int64_t{1} << 40}) append_big_endian(data, v);
  const Array floats = parse(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                                       std::vector<std::uint8_t>(data.begin(), data.begin() + 8)));
  EXPECT_EQ(values_of<float>(floats), (std::vector<float>{0.5f, -3.0f}));
  const Array longs = parse(npy_bytes("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }",
                                      std::vector<std::uint8_t>(data.begin() + 8, data.end())));
  EXPECT_EQ(values_of<std::int64_t>(longs), (std::vector<std::int64_t>{-7, std::int64_t{1} << 40}));

  // Big-endian and Fortran order together.
  data.clear();
  for (std::int32_t v : {1, 3, 2, 4}) append_big_endian(data, v);
  const Array both = parse(npy_bytes("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 2), }", data));
  EXPECT_EQ(values_of<std::int32_t>(both), (std::vector<std::int32_t>{1, 2, 3, 4}));
}

TEST_F(Npz, HeaderVersionsAndSpellings) {
  std::vector<std::uint8_t> data;
  for (std::int64_t v : {10, -20, 30}) append_raw(data, v);
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    const Array array = parse(npy_bytes(dict, data, major));
    EXPECT_EQ(array.dtype, DType::Int64);
    EXPECT_EQ(values_of<std::int64_t>(array), (std::vector<std::int64_t>{10, -20, 30}));
  }
  // Other key order, double quotes, no spaces, Python 2 long literal; native '=' byte order.
  for (const std::string& spelling :
       {std::string("{\"shape\":(3L,),\"fortran_order\":False,\"descr\":\"<i8\"}"),
        std::string("{'fortran_order': False, 'descr': '=i8', 'shape': (3,)}")}) {
    SCOPED_TRACE(spelling);
    EXPECT_EQ(values_of<std::int64_t>(parse(npy_bytes(spelling, data))),
              (std::vector<std::int64_t>{10, -20, 30}));
  }
  // One-byte types in every harmless byte-order spelling.
  for (const char* descr : {"|u1", "<u1", "=u1", "|b1", "<b1"}) {
    SCOPED_TRACE(descr);
    const Array array = parse(npy_bytes(
        std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2, 1), }", {1, 0}));
    EXPECT_EQ(array.dtype, descr[1] == 'u' ? DType::UInt8 : DType::Bool);
    EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 1}));
    EXPECT_EQ(array.data, (std::vector<std::uint8_t>{1, 0}));
  }
  // A scalar: shape () has one element.
  std::vector<std::uint8_t> one;
  append_raw(one, 4.25f);
  const Array scalar = parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", one));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(values_of<float>(scalar), std::vector<float>{4.25f});
}

// ---- archives from other writers -----------------------------------------------------------------

TEST_F(Npz, ReadsHandBuiltStoredZip) {
  const std::string file = path("stored.npz");
  write_bytes(
      file,
      build_zip(
          {{"obs.npy", obs_npy()}, {"sub/", {}}, {"readme.txt", {'h', 'i'}}, {"done.npy", done_npy()}}));
  expect_obs_and_done(dipole::npz::read_npz(file));
  EXPECT_EQ(dipole::npz::list_npz(file), (std::vector<std::string>{"obs", "done"}));  // archive order
  EXPECT_EQ(dipole::npz::read_npz_member(file, "done").data, (std::vector<std::uint8_t>{0, 1, 1, 0}));
}

TEST_F(Npz, ReadsHandBuiltZipWithDataDescriptorsDeflateAndZip64Extras) {
  ZipMember obs{"obs.npy", obs_npy()};
  obs.deflate = true;
  obs.data_descriptor = true;
  ZipMember done{"done.npy", done_npy()};
  done.data_descriptor = true;
  write_bytes(path("descriptor.npz"), build_zip({obs, done}));
  expect_obs_and_done(dipole::npz::read_npz(path("descriptor.npz")));

  // numpy.savez's own layout: ZIP64 extra field in the local header (force_zip64=True).
  ZipMember obs64{"obs.npy", obs_npy()};
  obs64.zip64_local_extra = true;
  ZipMember done64{"done.npy", done_npy()};
  done64.zip64_local_extra = true;
  done64.deflate = true;
  write_bytes(path("zip64.npz"), build_zip({obs64, done64}));
  expect_obs_and_done(dipole::npz::read_npz(path("zip64.npz")));
}

// Written by Python's zipfile (what numpy.savez_compressed uses) to an unseekable stream, so each
// member is deflated, followed by a data descriptor, and has a ZIP64 extra field:
//   with zipfile.ZipFile(stream, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
//       with zf.open('obs.npy', 'w', force_zip64=True) as m: m.write(<obs_npy() bytes, 64-aligned header>)
//       with zf.open('done.npy', 'w', force_zip64=True) as m: m.write(<done_npy() bytes, 64-aligned header>)
const std::uint8_t kPythonZipfileNpz[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x6f, 0x62, 0x73, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50,
    0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66, 0xa2, 0xae, 0xa3, 0xa0,
    0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc,
    0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a, 0x46, 0x3a, 0x0a, 0xc6, 0x9a,
    0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x06, 0x06, 0x7b, 0x06, 0x86, 0x05, 0xfb, 0x81, 0xb4,
    0x03, 0x03, 0x43, 0x02, 0x10, 0x37, 0x1c, 0xc8, 0x17, 0x6a, 0xb6, 0x02, 0x00, 0x50, 0x4b, 0x07, 0x08,
    0xc7, 0xee, 0xd6, 0xd1, 0x5c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x08, 0x00, 0x14, 0x00, 0x64,
    0x6f, 0x6e, 0x65, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9,
    0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x5e, 0x93, 0x64,
    0xa8, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a,
    0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a, 0x26,
    0x3a, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x14, 0x00, 0x2e, 0x06, 0x46, 0x46, 0x06, 0x00, 0x50, 0x4b, 0x07,
    0x08, 0x46, 0xc9, 0x2d, 0xf4, 0x48, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00,
    0x00, 0x21, 0x00, 0xc7, 0xee, 0xd6, 0xd1, 0x5c, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x07, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6f,
    0x62, 0x73, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x08, 0x00, 0x08,
    0x00, 0x00, 0x00, 0x21, 0x00, 0x46, 0xc9, 0x2d, 0xf4, 0x48, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xad, 0x00, 0x00,
    0x00, 0x64, 0x6f, 0x6e, 0x65, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x02, 0x00, 0x6b, 0x00, 0x00, 0x00, 0x47, 0x01, 0x00, 0x00, 0x00, 0x00};

TEST_F(Npz, ReadsArchiveWrittenByPythonZipfile) {
  const std::string file = path("python.npz");
  write_bytes(file, std::vector<std::uint8_t>(std::begin(kPythonZipfileNpz), std::end(kPythonZipfileNpz)));
  expect_obs_and_done(dipole::npz::read_npz(file));
}

// ---- corrupt inputs ----------------------------------------------------------------------------

TEST_F(Npz, TruncatedArchiveNamesFileAndProblem) {
  const std::string file = path("cut.npz");
  dipole::npz::write_npz(file, {{"a", pattern_array(DType::Float64, {100})}}, false);
  std::vector<std::uint8_t> bytes = read_bytes(file);
  bytes.resize(bytes.size() / 2);
  write_bytes(file, bytes);
  expect_contains(data_error_of([&] { dipole::npz::read_npz(file); }), {file, "truncated"});
  expect_contains(data_error_of([&] { dipole::npz::list_npz(file); }), {file, "truncated"});
}

TEST_F(Npz, RandomBytesAreNotAZipArchive) {
  const std::string file = path("random.npz");
  std::vector<std::uint8_t> bytes(1000);
  std::uint32_t state = 12345;
  for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>((state = state * 1103515245u + 12345u) >> 24);
  write_bytes(file, bytes);
  expect_contains(data_error_of([&] { dipole::npz::read_npz(file); }), {file, "not a zip archive"});
  expect_contains(data_error_of([&] { dipole::npz::read_npz(path("absent.npz")); }),
                  {path("absent.npz"), "does not exist"});
  expect_contains(data_error_of([&] { dipole::npz::read_npy(path("absent.npy")); }),
                  {path("absent.npy"), "No such file"});
}

TEST_F(Npz, CrcMismatchIsReported) {
  ZipMember obs{"obs.npy", obs_npy()};
  obs.corrupt_crc = true;
  const std::string file = path("crc.npz");
  write_bytes(file, build_zip({{"done.npy", done_npy()}, obs}));
  expect_contains(data_error_of([&] { dipole::npz::read_npz(file); }), {file, "obs.npy", "CRC"});
  // The intact member is still readable on its own.
  EXPECT_EQ(dipole::npz::read_npz_member(file, "done").data, (std::vector<std::uint8_t>{0, 1, 1, 0}));
}

TEST_F(Npz, BadMagicIsReportedForFilesAndMembers) {
  std::vector<std::uint8_t> bytes = obs_npy();
  bytes[1] = 'X';
  write_bytes(path("bad.npy"), bytes);
  expect_contains(data_error_of([&] { dipole::npz::read_npy(path("bad.npy")); }),
                  {path("bad.npy"), "bad magic", "\\x93NUMPY"});
  write_bytes(path("bad.npz"), build_zip({{"obs.npy", bytes}}));
  expect_contains(data_error_of([&] { dipole::npz::read_npz(path("bad.npz")); }),
                  {path("bad.npz"), "member 'obs.npy'", "bad magic"});
  expect_contains(data_error_of([] { parse({0x93, 'N', 'U', 'M'}); }), {"handmade.npy", "bad magic"});
}

TEST_F(Npz, UnsupportedDtypeNamesTheSupportedOnes) {
  const std::vector<std::uint8_t> bytes =
      npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", std::vector<std::uint8_t>(16));
  write_bytes(path("complex.npy"), bytes);
  expect_contains(data_error_of([&] { dipole::npz::read_npy(path("complex.npy")); }),
                  {path("complex.npy"), "unsupported dtype '<c8'", "'<f4'", "'<i8'", "'|b1'", "'|u1'"});
  write_bytes(path("complex.npz"), build_zip({{"z.npy", bytes}}));
  expect_contains(data_error_of([&] { dipole::npz::read_npz_member(path("complex.npz"), "z"); }),
                  {path("complex.npz"), "z.npy", "unsupported dtype '<c8'"});
  for (const char* descr : {"<i2", "|i1", "<f2", "|f4", "<U5"}) {
    SCOPED_TRACE(descr);
    expect_contains(
        data_error_of([&] {
          parse(npy_bytes(std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (1,), }",
                          std::vector<std::uint8_t>(8)));
        }),
        {std::string("unsupported dtype '") + descr + "'"});
  }
  expect_contains(data_error_of([] {
                    parse(npy_bytes("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                                    std::vector<std::uint8_t>(4)));
                  }),
                  {"unsupported dtype", "structured"});
}

TEST_F(Npz, ShapeInconsistentWithDataLength) {
  const std::vector<std::uint8_t> short_data =
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::vector<std::uint8_t>(20));
  write_bytes(path("short.npy"), short_data);
  expect_contains(data_error_of([&] { dipole::npz::read_npy(path("short.npy")); }),
                  {path("short.npy"), "(2, 3)", "needs 24 data bytes", "holds 20", "truncated"});
  expect_contains(data_error_of([] {
                    parse(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                    std::vector<std::uint8_t>(17)));
                  }),
                  {"needs 16 data bytes", "holds 17"});
  write_bytes(path("short.npz"), build_zip({{"x.npy", short_data}}));
  expect_contains(data_error_of([&] { dipole::npz::read_npz(path("short.npz")); }),
                  {path("short.npz"), "x.npy", "needs 24 data bytes"});
}

TEST_F(Npz, MalformedHeadersAndBoolValues) {
  expect_contains(data_error_of([] {
                    parse(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", {0, 2, 1}));
                  }),
                  {"handmade.npy", "bool", "value 2", "element 1", "expected 0 or 1"});
  expect_contains(data_error_of([] {
                    parse(npy_bytes("{'descr': '<f4', 'shape': (1,), }", {0, 0, 0, 0}));
                  }),
                  {"'fortran_order'"});
  expect_contains(data_error_of([] {
                    parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", {}));
                  }),
                  {"non-negative"});
  expect_contains(data_error_of([] {
                    parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", {0, 0, 0, 0}));
                  }),
                  {"malformed npy header"});
  std::vector<std::uint8_t> future =
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", {0, 0, 0, 0});
  future[6] = 4;
  expect_contains(data_error_of([&] { parse(future); }), {"version 4.0", "1.0, 2.0, 3.0"});
  std::vector<std::uint8_t> cut = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", {});
  cut.resize(30);
  expect_contains(data_error_of([&] { parse(cut); }), {"truncated", "header length"});
  // Writing refuses arrays whose data does not match their shape, or bool bytes other than 0/1.
  Array wrong = pattern_array(DType::Float32, {3});
  wrong.data.pop_back();
  expect_contains(data_error_of([&] { dipole::npz::serialize_npy(wrong); }),
                  {"needs 12 data bytes", "holds 11"});
  Array bad_bool = pattern_array(DType::Bool, {2});
  bad_bool.data[1] = 7;
  expect_contains(data_error_of([&] { dipole::npz::serialize_npy(bad_bool); }),
                  {"value 7", "expected 0 or 1"});
}

TEST_F(Npz, MissingMemberListsAvailableKeys) {
  const std::string file = path("two.npz");
  dipole::npz::write_npz(
      file,
      {{"actions", pattern_array(DType::Float32, {2})}, {"rewards", pattern_array(DType::Float64, {2})}},
      true);
  expect_contains(data_error_of([&] { dipole::npz::read_npz_member(file, "observations"); }),
                  {file, "'observations", "available keys", "'actions'", "'rewards'"});
}

// ---- atomic writes -------------------------------------------------------------------------------

TEST_F(Npz, FailedWritesLeaveNothingBehind) {
  const std::string missing_dir = path("no/such/dir");
  const std::map<std::string, Array> arrays = {{"a", pattern_array(DType::Int32, {3})}};
  for (const bool compressed : {true, false}) {
    expect_contains(
        data_error_of([&] { dipole::npz::write_npz(missing_dir + "/x.npz", arrays, compressed); }),
        {missing_dir + "/x.npz"});
  }
  expect_contains(data_error_of([&] { dipole::npz::write_npy(missing_dir + "/x.npy", arrays.at("a")); }),
                  {missing_dir + "/x.npy"});
  EXPECT_FALSE(fs::exists(path("no")));
  EXPECT_TRUE(directory_listing().empty());

  // A failed overwrite keeps the previous file intact.
  const std::string file = path("keep.npz");
  dipole::npz::write_npz(file, arrays, true);
  const std::vector<std::uint8_t> before = read_bytes(file);
  Array broken = pattern_array(DType::Int32, {3});
  broken.data.resize(5);
  expect_contains(data_error_of([&] {
                    dipole::npz::write_npz(file, {{"a", broken}}, true);
                  }),
                  {file, "a.npy", "needs 12 data bytes"});
  EXPECT_EQ(read_bytes(file), before);
  EXPECT_EQ(directory_listing(), std::vector<std::string>{"keep.npz"});
}

TEST_F(Npz, SuccessfulWritesLeaveNoTemporaryFiles) {
  const std::map<std::string, Array> first = {{"a", pattern_array(DType::Int64, {4})}};
  const std::map<std::string, Array> second = {{"b", pattern_array(DType::UInt8, {2, 2})}};
  dipole::npz::write_npz(path("data.npz"), first, true);
  dipole::npz::write_npz(path("data.npz"), second, false);  // overwrite
  dipole::npz::write_npz(path("empty.npz"), {}, true);
  dipole::npz::write_npy(path("one.npy"), first.at("a"));
  dipole::npz::write_npy(path("one.npy"), second.at("b"));  // overwrite

  EXPECT_EQ(directory_listing(), (std::vector<std::string>{"data.npz", "empty.npz", "one.npy"}));
  for (const std::string& name : directory_listing())
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
  EXPECT_EQ(dipole::npz::list_npz(path("data.npz")), std::vector<std::string>{"b"});
  expect_same_array(second.at("b"), dipole::npz::read_npz_member(path("data.npz"), "b"));
  EXPECT_TRUE(dipole::npz::list_npz(path("empty.npz")).empty());
  EXPECT_TRUE(dipole::npz::read_npz(path("empty.npz")).empty());
  expect_same_array(second.at("b"), dipole::npz::read_npy(path("one.npy")));
  expect_contains(data_error_of([&] { dipole::npz::read_npz_member(path("empty.npz"), "a"); }),
                  {"no member 'a.npy'", "none"});
}

// ---- limits against hostile files (docs/reliability.md); the reproducers -------------------

TEST_F(Npz, DeeplyNestedHeaderIsRefusedWithoutOverflowingTheStack) {
  // A 'shape' of 30,000 nested tuples used to overflow the stack of the recursive header parser.
  const std::string shape = std::string(30000, '(') + std::string(30000, ')');
  const auto bytes = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", {}, 2);
  expect_contains(data_error_of([&] { parse(bytes); }), {"handmade.npy", "nesting deeper than 16 levels"});
  const auto lists = npy_bytes("{'descr': [" + std::string(100, '[') + std::string(100, ']') + "], }", {}, 1);
  expect_contains(data_error_of([&] { parse(lists); }), {"nesting deeper than 16 levels"});
}

TEST_F(Npz, HeaderLengthAndRankLimits) {
  std::vector<std::uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
  put32(bytes, 0x7FFFFFFFu);
  bytes.resize(4096, ' ');
  expect_contains(data_error_of([&] { parse(bytes); }),
                  {"handmade.npy", "header length 2147483647 exceeds the limit of 1048576 bytes"});
  std::string shape = "(";
  for (int i = 0; i < 65; ++i) shape += "1, ";
  const auto rank =
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + "), }", {1, 2, 3, 4});
  expect_contains(data_error_of([&] { parse(rank); }), {"65 dimensions, more than the 64 allowed"});
}

TEST_F(Npz, MemberClaimingGigabytesIsRefusedBeforeAllocating) {
  // A 5.5 KB npz whose zip directory claims ~4 GB for its one member.
  std::vector<std::uint8_t> data;
  for (int i = 0; i < 1350; ++i) append_raw(data, static_cast<float>(i));
  const auto npy = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1350,), }", data);
  for (const bool deflate : {true, false}) {
    ZipMember member{"big.npy", npy};
    member.deflate = deflate;
    std::vector<std::uint8_t> zip = build_zip({member});
    auto patch32 = [&](std::size_t at, std::uint32_t v) {
      for (int k = 0; k < 4; ++k) zip[at + k] = static_cast<std::uint8_t>(v >> (8 * k));
    };
    patch32(22, 0xF0000000u);  // local header: uncompressed size
    for (std::size_t at = 0; at + 4 <= zip.size(); ++at)
      if (zip[at] == 0x50 && zip[at + 1] == 0x4b && zip[at + 2] == 0x01 && zip[at + 3] == 0x02)
        patch32(at + 24, 0xF0000000u);  // central directory: uncompressed size
    ASSERT_LT(zip.size(), 6000u);
    write_bytes(path("claims_4gb.npz"), zip);
    const std::string message = data_error_of([&] { dipole::npz::read_npz(path("claims_4gb.npz")); });
    expect_contains(message, {"claims_4gb.npz", "big.npy"});
    // libzip may spot the inconsistency of a stored member itself; either way nothing is allocated.
    if (deflate) expect_contains(message, {"claims 4026531840 bytes", "deflate can expand to"});
  }
}

}  // namespace
