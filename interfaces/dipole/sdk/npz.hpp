// NumPy .npy / .npz reading and writing: datasets and checkpoints are stored as npz archives that
// Python (numpy.load / numpy.savez) reads and writes too.
//
// Format references: the NumPy format spec (numpy/lib/format.py, versions 1.0, 2.0 and 3.0) and
// the ZIP application note (npz = a zip archive of "<key>.npy" members, stored or deflated, as
// written by Python's zipfile, possibly with data descriptors and ZIP64 extra fields).
//
// Every problem with a file (missing, not a zip, truncated, CRC error, bad header, unsupported
// dtype, wrong data length...) is a dipole::DataError whose message names the file and member.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dipole::npz {

/// The element types Dipole stores. On disk: '<f4', '<f8', '<i4', '<i8', '|b1', '|u1'.
enum class DType { Float32, Float64, Int32, Int64, Bool, UInt8 };

/// "float32", "float64", "int32", "int64", "bool", "uint8".
const char* to_string(DType dtype);
/// Bytes per element: 4, 8, 4, 8, 1, 1.
std::size_t item_size(DType dtype);

/// One n-d array held as raw bytes.
struct Array {
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;  ///< C order after reading (Fortran-order input is converted); {} = scalar
  std::vector<std::uint8_t> data;   ///< little-endian, C order, size = numel() * item_size(dtype)
  /// Product of `shape` (1 for a scalar, 0 if any dimension is 0).
  std::int64_t numel() const;
};

/// Parses the bytes of one .npy file. `what` names the file (and member) in error messages.
/// Accepts format versions 1.0/2.0/3.0, big-endian '>f4' '>f8' '>i4' '>i8' (converted to
/// little-endian) and fortran_order True (converted to C order). Bool bytes must be 0 or 1.
Array parse_npy(const std::uint8_t* bytes, std::size_t size, const std::string& what);
/// The .npy bytes of `array`: format 1.0 (2.0 if the header exceeds 65535 bytes), '<' dtypes,
/// fortran_order False, header padded so the data starts at a multiple of 64 bytes.
std::vector<std::uint8_t> serialize_npy(const Array& array);

Array read_npy(const std::string& path);
/// Atomic: writes "<path>.tmp.<pid>" in the same directory, then renames it to `path`.
void write_npy(const std::string& path, const Array& array);

/// Keys of the arrays in an npz archive: member names ending in ".npy", without that suffix, in
/// archive order. Other members (directories, non-npy files) are ignored.
std::vector<std::string> list_npz(const std::string& path);
/// All arrays of an npz archive, by key.
std::map<std::string, Array> read_npz(const std::string& path);
/// One array of an npz archive; DataError listing the available keys if `key` is absent.
Array read_npz_member(const std::string& path, const std::string& key);
/// Writes members "<key>.npy", deflated if `compressed` else stored. Atomic (temp file + rename).
void write_npz(const std::string& path, const std::map<std::string, Array>& arrays, bool compressed);
/// Same, with the members in the given order (as numpy.savez keeps its keyword order; formats such
/// as OGBench's list their keys in a fixed order). Keys must be distinct.
void write_npz_ordered(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays,
                       bool compressed);

/// A CPU tensor of the matching dtype (Float32->kFloat, Float64->kDouble, Int32->kInt,
/// Int64->kLong, Bool->kBool, UInt8->kByte) that owns a copy of the data.
at::Tensor to_tensor(const Array& array);
/// Copies any tensor (any device, strides or layout) to a contiguous CPU array. DataError if the
/// dtype is not one of the six above.
Array from_tensor(const at::Tensor& tensor);

namespace detail {
// Shared by npy.cpp and npz.cpp; not part of the public API.

/// "<path>.tmp.<pid>": the temporary file an atomic write of `path` goes through.
std::string temp_path(const std::string& path);
/// Renames `temp` to `path`; on failure removes `temp` and throws DataError naming `path`.
void commit_temp(const std::string& temp, const std::string& path);
/// Writes `bytes` to `path` atomically (temp file + rename).
void write_file_atomic(const std::string& path, const std::uint8_t* bytes, std::size_t size);
/// parse_npy taking ownership of the buffer, so the data is moved rather than copied.
Array parse_npy(std::vector<std::uint8_t>&& bytes, const std::string& what);

}  // namespace detail

}  // namespace dipole::npz
