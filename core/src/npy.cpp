// .npy parsing and serialisation (NumPy format spec, versions 1.0/2.0/3.0) and atomic file writes.
#include "dipole/sdk/npz.hpp"

#include <dipole/errors.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dipole npz I/O assumes a little-endian host (Array::data is little-endian)"
#endif

namespace dipole::npz {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kAlignment = 64;  // numpy pads headers so data starts 64-byte aligned
// Limits of what a header may hold (docs/reliability.md): numpy's own reader refuses headers over
// 10000 bytes by default and arrays of more than 64 dimensions; the dtypes Dipole reads need no nesting
// beyond a dict holding a tuple.
constexpr std::size_t kMaxHeaderLength = 1 << 20;
constexpr int kMaxNesting = 16;
constexpr std::size_t kMaxRank = 64;
constexpr const char* kSupportedDescrs =
    "'<f4' (float32), '<f8' (float64), '<i4' (int32), '<i8' (int64), '|b1' (bool), '|u1' (uint8), "
    "or big-endian '>f4', '>f8', '>i4', '>i8'";

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw DataError(what + ": " + problem);
}

/// The start of a header for messages (a hostile one may be a megabyte long).
std::string excerpt(const std::string& text) {
  return text.size() <= 200 ? text : text.substr(0, 200) + "...";
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += std::to_string(shape[i]);
    out += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) out += " ";
  }
  return out + ")";
}

/// Number of data bytes `shape` needs, or nullopt on a negative dimension or overflow.
std::optional<std::size_t> byte_count(const std::vector<std::int64_t>& shape, std::size_t item) {
  std::size_t total = item;
  bool zero = false;
  for (std::int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim == 0) zero = true;
  }
  if (zero) return 0;
  for (std::int64_t dim : shape) {
    const auto d = static_cast<std::size_t>(dim);
    if (total > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
    total *= d;
  }
  return total;
}

// ---- the header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3,), }

struct PyValue {
  enum class Kind { String, Bool, None, Int, Tuple, List, Dict } kind = Kind::None;
  std::string text;                                   // String
  bool boolean = false;                               // Bool
  std::int64_t integer = 0;                           // Int
  std::vector<PyValue> items;                         // Tuple, List
  std::vector<std::pair<std::string, PyValue>> dict;  // Dict
};

/// Recursive-descent parser for the literal subset numpy writes (ast.literal_eval on its side).
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& what) : text_(text), what_(what) {}

  PyValue parse() {
    PyValue value = parse_value();
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the header dict");
    return value;
  }

 private:
  [[noreturn]] void error(const std::string& problem) const {
    fail(what_, "malformed npy header (" + problem + " at offset " + std::to_string(pos_) + ") in " +
                    text_.substr(0, 200));
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }

  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool consume_word(const char* word) {
    const std::size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  PyValue parse_value() {
    skip_space();
    if (pos_ >= text_.size()) error("unexpected end");
    const char c = text_[pos_];
    PyValue value;
    // Containers are parsed recursively, so their depth is capped (no stack overflow on hostile files).
    struct Depth {
      int& depth;
      explicit Depth(int& d) : depth(++d) {}
      ~Depth() { --depth; }
    } depth(depth_);
    if ((c == '{' || c == '(' || c == '[') && depth_ > kMaxNesting)
      error("nesting deeper than " + std::to_string(kMaxNesting) + " levels, the limit");
    if (c == '\'' || c == '"') {
      value.kind = PyValue::Kind::String;
      value.text = parse_string();
    } else if (c == '{') {
      value.kind = PyValue::Kind::Dict;
      ++pos_;
      while (!consume('}')) {
        skip_space();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
          error("expected a string key");
        std::string key = parse_string();
        if (!consume(':')) error("expected ':'");
        value.dict.emplace_back(std::move(key), parse_value());
        if (!consume(',')) {
          if (!consume('}')) error("expected ',' or '}'");
          break;
        }
      }
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      value.kind = c == '(' ? PyValue::Kind::Tuple : PyValue::Kind::List;
      ++pos_;
      while (!consume(close)) {
        value.items.push_back(parse_value());
        if (!consume(',')) {
          if (!consume(close)) error(std::string("expected ',' or '") + close + "'");
          break;
        }
      }
    } else if (consume_word("True")) {
      value.kind = PyValue::Kind::Bool;
      value.boolean = true;
    } else if (consume_word("False")) {
      value.kind = PyValue::Kind::Bool;
    } else if (consume_word("None")) {
      value.kind = PyValue::Kind::None;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      value.kind = PyValue::Kind::Int;
      value.integer = parse_int();
    } else {
      error(std::string("unexpected character '") + c + "'");
    }
    return value;
  }

  std::string parse_string() {
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) error("unterminated string");
    ++pos_;
    return out;
  }

  std::int64_t parse_int() {
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') error("expected a digit");
    std::int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10) error("integer too large");
      value = value * 10 + digit;
    }
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long literal, e.g. (3L,)
    return negative ? -value : value;
  }

  const std::string& text_;
  const std::string& what_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

struct Descr {
  DType dtype;
  bool big_endian;
};

std::optional<Descr> parse_descr(const std::string& descr) {
  if (descr.size() != 3) return std::nullopt;
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (order != '<' && order != '>' && order != '|' && order != '=') return std::nullopt;
  // Byte order is meaningless for one-byte types: numpy writes '|', other spellings are harmless.
  if (code == "b1") return Descr{DType::Bool, false};
  if (code == "u1") return Descr{DType::UInt8, false};
  if (order == '|') return std::nullopt;
  const bool big = order == '>';  // '=' is native, and the host is little-endian
  if (code == "f4") return Descr{DType::Float32, big};
  if (code == "f8") return Descr{DType::Float64, big};
  if (code == "i4") return Descr{DType::Int32, big};
  if (code == "i8") return Descr{DType::Int64, big};
  return std::nullopt;
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::Int32:
      return "<i4";
    case DType::Int64:
      return "<i8";
    case DType::Bool:
      return "|b1";
    case DType::UInt8:
      return "|u1";
  }
  return "?";
}

struct Header {
  DType dtype = DType::Float32;
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;
  std::size_t data_size = 0;
};

std::uint32_t read_le(const std::uint8_t* p, std::size_t n) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < n; ++i) value |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return value;
}

Header parse_header(const std::uint8_t* bytes, std::size_t size, const std::string& what) {
  if (size < kMagicSize || std::memcmp(bytes, kMagic, kMagicSize) != 0)
    fail(what, "not an npy file: bad magic (expected the bytes \\x93NUMPY at the start)");
  if (size < 10)
    fail(what, "truncated npy file: " + std::to_string(size) + " bytes, shorter than the preamble");
  const int major = bytes[6];
  const int minor = bytes[7];
  if (minor != 0 || major < 1 || major > 3)
    fail(what, "unsupported npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (supported: 1.0, 2.0, 3.0)");
  const std::size_t length_size = major == 1 ? 2 : 4;
  const std::size_t preamble = kMagicSize + 2 + length_size;
  if (size < preamble) fail(what, "truncated npy file: the header length field is cut off");
  const std::size_t header_length = read_le(bytes + 8, length_size);
  if (header_length > kMaxHeaderLength)
    fail(what, "npy header length " + std::to_string(header_length) + " exceeds the limit of " +
                   std::to_string(kMaxHeaderLength) + " bytes");
  if (header_length > size - preamble)
    fail(what, "truncated npy file: header length " + std::to_string(header_length) + " exceeds the " +
                   std::to_string(size - preamble) + " bytes after the preamble");

  const std::string text(reinterpret_cast<const char*>(bytes + preamble), header_length);
  const PyValue dict = HeaderParser(text, what).parse();
  if (dict.kind != PyValue::Kind::Dict)
    fail(what, "malformed npy header (expected a dict): " + excerpt(text));
  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
  for (const auto& [key, value] : dict.dict) {
    if (key == "descr") descr = &value;
    if (key == "fortran_order") fortran = &value;
    if (key == "shape") shape = &value;
  }
  if (!descr || !fortran || !shape)
    fail(what,
         "malformed npy header (expected the keys 'descr', 'fortran_order' and 'shape'): " + excerpt(text));

  Header header;
  if (descr->kind != PyValue::Kind::String)
    fail(what, "unsupported dtype (a structured/record dtype); supported: " + std::string(kSupportedDescrs));
  const auto parsed = parse_descr(descr->text);
  if (!parsed) fail(what, "unsupported dtype '" + descr->text + "'; supported: " + kSupportedDescrs);
  header.dtype = parsed->dtype;
  header.big_endian = parsed->big_endian;

  if (fortran->kind != PyValue::Kind::Bool)
    fail(what, "malformed npy header ('fortran_order' must be True or False): " + excerpt(text));
  header.fortran_order = fortran->boolean;

  if (shape->kind != PyValue::Kind::Tuple)
    fail(what, "malformed npy header ('shape' must be a tuple of integers): " + excerpt(text));
  if (shape->items.size() > kMaxRank)
    fail(what, "npy header shape has " + std::to_string(shape->items.size()) + " dimensions, more than the " +
                   std::to_string(kMaxRank) + " allowed");
  for (const PyValue& dim : shape->items) {
    if (dim.kind != PyValue::Kind::Int || dim.integer < 0)
      fail(what, "malformed npy header ('shape' must be a tuple of non-negative integers): " + excerpt(text));
    header.shape.push_back(dim.integer);
  }

  header.data_offset = preamble + header_length;
  const auto expected = byte_count(header.shape, item_size(header.dtype));
  const std::size_t available = size - header.data_offset;
  if (!expected)
    fail(what,
         "header shape " + shape_string(header.shape) + " is too large to address (" + excerpt(text) + ")");
  if (*expected != available)
    fail(what, "header shape " + shape_string(header.shape) + " with dtype " + to_string(header.dtype) +
                   " needs " + std::to_string(*expected) + " data bytes but the file holds " +
                   std::to_string(available) + (available < *expected ? " (truncated)" : ""));
  header.data_size = *expected;
  return header;
}

template <std::size_t N>
void fortran_to_c_impl(const std::uint8_t* src, std::uint8_t* dst, const std::vector<std::int64_t>& shape,
                       std::int64_t numel) {
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> stride(rank, 1);  // Fortran strides in elements: first index fastest
  for (std::size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  for (std::int64_t i = 0; i < numel; ++i) {
    std::memcpy(dst + i * N, src + offset * N, N);
    // Advance the C-order index (last dimension fastest), keeping the Fortran offset in step.
    for (std::size_t k = rank; k-- > 0;) {
      offset += stride[k];
      if (++index[k] < shape[k]) break;
      offset -= stride[k] * shape[k];
      index[k] = 0;
    }
  }
}

/// Reorders Fortran-order element data (first index fastest) into C order (last index fastest).
std::vector<std::uint8_t> fortran_to_c(const std::uint8_t* src, std::size_t size,
                                       const std::vector<std::int64_t>& shape, std::size_t item) {
  std::vector<std::uint8_t> dst(size);
  const std::int64_t numel = static_cast<std::int64_t>(size / item);
  if (numel == 0) return dst;
  switch (item) {
    case 1:
      fortran_to_c_impl<1>(src, dst.data(), shape, numel);
      break;
    case 4:
      fortran_to_c_impl<4>(src, dst.data(), shape, numel);
      break;
    default:
      fortran_to_c_impl<8>(src, dst.data(), shape, numel);
      break;
  }
  return dst;
}

void byteswap_in_place(std::vector<std::uint8_t>& data, std::size_t item) {
  for (std::size_t i = 0; i + item <= data.size(); i += item) {
    if (item == 4) {
      std::uint32_t v;
      std::memcpy(&v, &data[i], 4);
      v = __builtin_bswap32(v);
      std::memcpy(&data[i], &v, 4);
    } else if (item == 8) {
      std::uint64_t v;
      std::memcpy(&v, &data[i], 8);
      v = __builtin_bswap64(v);
      std::memcpy(&data[i], &v, 8);
    }
  }
}

void check_bool_values(const Array& array, const std::string& what) {
  if (array.dtype != DType::Bool) return;
  const auto bad = std::find_if(array.data.begin(), array.data.end(), [](std::uint8_t b) { return b > 1; });
  if (bad != array.data.end())
    fail(what, "bool array holds the byte value " + std::to_string(*bad) + " at element " +
                   std::to_string(bad - array.data.begin()) + " (expected 0 or 1)");
}

/// Byte order and bool checks shared by both parse_npy overloads; `array.data` is in C order.
Array finish(Array array, const Header& header, const std::string& what) {
  if (header.big_endian) byteswap_in_place(array.data, item_size(array.dtype));
  check_bool_values(array, what);
  return array;
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail(path, std::string("cannot open for reading: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) fail(path, std::string("read error: ") + std::strerror(error));
  return bytes;
}

}  // namespace

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "uint8";
  }
  return "unknown";
}

std::size_t item_size(DType dtype) {
  switch (dtype) {
    case DType::Float32:
    case DType::Int32:
      return 4;
    case DType::Float64:
    case DType::Int64:
      return 8;
    case DType::Bool:
    case DType::UInt8:
      return 1;
  }
  return 1;
}

std::int64_t Array::numel() const {
  std::int64_t n = 1;
  for (std::int64_t dim : shape) n *= dim;
  return n;
}

Array parse_npy(const std::uint8_t* bytes, std::size_t size, const std::string& what) {
  const Header header = parse_header(bytes, size, what);
  Array array;
  array.dtype = header.dtype;
  array.shape = header.shape;
  const std::uint8_t* payload = bytes + header.data_offset;
  if (header.fortran_order)
    array.data = fortran_to_c(payload, header.data_size, header.shape, item_size(header.dtype));
  else
    array.data.assign(payload, payload + header.data_size);
  return finish(std::move(array), header, what);
}

std::vector<std::uint8_t> serialize_npy(const Array& array) {
  const std::string what = std::string("cannot serialize a ") + to_string(array.dtype) + " array of shape " +
                           shape_string(array.shape);
  const auto expected = byte_count(array.shape, item_size(array.dtype));
  if (!expected) fail(what, "the shape has a negative or too large dimension");
  if (*expected != array.data.size())
    fail(what, "the shape needs " + std::to_string(*expected) + " data bytes but the array holds " +
                   std::to_string(array.data.size()));
  check_bool_values(array, what);

  std::string dict = std::string("{'descr': '") + descr_of(array.dtype) +
                     "', 'fortran_order': False, 'shape': " + shape_string(array.shape) + ", }";
  // Version 1.0 stores the header length in 2 bytes; 2.0 (same header text) in 4.
  std::size_t preamble = kMagicSize + 2 + 2;
  auto padded_length = [&] {
    return dict.size() + 1 + (kAlignment - (preamble + dict.size() + 1) % kAlignment) % kAlignment;
  };
  int major = 1;
  if (padded_length() > 0xFFFF) {
    major = 2;
    preamble = kMagicSize + 2 + 4;
  }
  const std::size_t header_length = padded_length();
  std::string header = dict;
  header.resize(header_length - 1, ' ');
  header += '\n';

  std::vector<std::uint8_t> out(preamble + header_length + array.data.size());
  std::memcpy(out.data(), kMagic, kMagicSize);
  out[kMagicSize] = static_cast<std::uint8_t>(major);
  out[kMagicSize + 1] = 0;
  for (std::size_t i = 0; i < preamble - kMagicSize - 2; ++i)
    out[kMagicSize + 2 + i] = static_cast<std::uint8_t>((header_length >> (8 * i)) & 0xFF);
  std::memcpy(out.data() + preamble, header.data(), header_length);
  if (!array.data.empty())
    std::memcpy(out.data() + preamble + header_length, array.data.data(), array.data.size());
  return out;
}

Array read_npy(const std::string& path) {
  return detail::parse_npy(read_file(path), path);
}

void write_npy(const std::string& path, const Array& array) {
  const std::vector<std::uint8_t> bytes = serialize_npy(array);
  detail::write_file_atomic(path, bytes.data(), bytes.size());
}

namespace detail {

std::string temp_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void commit_temp(const std::string& temp, const std::string& path) {
  // Flush the temp file to disk first so that a crash never leaves a renamed but empty file.
  const int fd = ::open(temp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temp.c_str());
    fail(path, "cannot write: renaming '" + temp + "' failed: " + std::strerror(error));
  }
}

void write_file_atomic(const std::string& path, const std::uint8_t* bytes, std::size_t size) {
  const std::string temp = temp_path(path);
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (!file) fail(path, "cannot write: creating '" + temp + "' failed: " + std::strerror(errno));
  const bool written = size == 0 || std::fwrite(bytes, 1, size, file) == size;
  int error = written ? 0 : errno;
  if (std::fclose(file) != 0 && error == 0) error = errno;
  if (!written || error != 0) {
    std::remove(temp.c_str());
    fail(path, "cannot write '" + temp + "': " + (error != 0 ? std::strerror(error) : "short write"));
  }
  commit_temp(temp, path);
}

Array parse_npy(std::vector<std::uint8_t>&& bytes, const std::string& what) {
  const Header header = parse_header(bytes.data(), bytes.size(), what);
  Array array;
  array.dtype = header.dtype;
  array.shape = header.shape;
  if (header.fortran_order) {
    array.data = fortran_to_c(bytes.data() + header.data_offset, header.data_size, header.shape,
                              item_size(header.dtype));
  } else {
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header.data_offset));
    array.data = std::move(bytes);
  }
  return finish(std::move(array), header, what);
}

}  // namespace detail

}  // namespace dipole::npz
