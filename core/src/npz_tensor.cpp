// Conversions between npz arrays and ATen tensors (the only npz file that needs ATen).
#include <ATen/ATen.h>

#include <dipole/errors.hpp>

#include <cstring>
#include <string>

#include "dipole/sdk/npz.hpp"

namespace dipole::npz {

namespace {

at::ScalarType scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return at::kFloat;
    case DType::Float64:
      return at::kDouble;
    case DType::Int32:
      return at::kInt;
    case DType::Int64:
      return at::kLong;
    case DType::Bool:
      return at::kBool;
    case DType::UInt8:
      return at::kByte;
  }
  return at::kFloat;
}

DType dtype_of(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return DType::Float32;
    case at::kDouble:
      return DType::Float64;
    case at::kInt:
      return DType::Int32;
    case at::kLong:
      return DType::Int64;
    case at::kBool:
      return DType::Bool;
    case at::kByte:
      return DType::UInt8;
    default:
      throw DataError(std::string("cannot store a tensor of dtype ") + c10::toString(type) +
                      " in npz; supported: float32, float64, int32, int64, bool, uint8 (convert it first)");
  }
}

}  // namespace

at::Tensor to_tensor(const Array& array) {
  std::size_t bytes = item_size(array.dtype);
  for (std::int64_t dim : array.shape) {
    if (dim < 0)
      throw DataError("to_tensor: negative dimension in shape of a " + std::string(to_string(array.dtype)) +
                      " array");
    bytes *= static_cast<std::size_t>(dim);
  }
  if (bytes != array.data.size())
    throw DataError("to_tensor: a " + std::string(to_string(array.dtype)) + " array of " +
                    std::to_string(array.numel()) + " elements needs " + std::to_string(bytes) +
                    " data bytes but holds " + std::to_string(array.data.size()));
  at::Tensor tensor =
      at::empty(array.shape, at::TensorOptions().dtype(scalar_type_of(array.dtype)).device(at::kCPU));
  if (bytes > 0) std::memcpy(tensor.data_ptr(), array.data.data(), bytes);
  return tensor;
}

Array from_tensor(const at::Tensor& tensor) {
  if (!tensor.defined()) throw DataError("from_tensor: the tensor is undefined");
  Array array;
  array.dtype = dtype_of(tensor.scalar_type());
  at::Tensor dense = tensor.layout() == at::kStrided ? tensor : tensor.to_dense();  // sparse, mkldnn
  dense = dense.to(at::kCPU).resolve_neg().contiguous();
  array.shape = dense.sizes().vec();
  array.data.resize(dense.nbytes());
  if (!array.data.empty()) std::memcpy(array.data.data(), dense.data_ptr(), array.data.size());
  return array;
}

}  // namespace dipole::npz
