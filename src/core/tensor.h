// Tensor: a shape, a dtype and a buffer. The buffer is either owned (std::vector storage) or
// borrowed from a longer-lived owner such as an mmapped model file.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"

namespace morsel {

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled owned storage. shape must be static.
  Tensor(DType dtype, Shape shape);
  // Borrows `data`, which must outlive the tensor (and every copy of it).
  static Tensor borrow(DType dtype, Shape shape, const void* data);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr; }
  bool owns_data() const { return storage_ != nullptr; }

  const void* raw() const { return data_; }
  // Writable access; only valid for owned tensors.
  void* raw_mut() { return storage_ ? const_cast<void*>(data_) : nullptr; }

  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  template <typename T> T* mut() { return static_cast<T*>(raw_mut()); }

  // Same data, new shape with the same element count (shares storage).
  Tensor reshaped(Shape shape) const;
  // A deep copy with owned storage.
  Tensor clone() const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<std::vector<uint8_t>> storage_;
  const void* data_ = nullptr;
};

// Converts any numeric tensor to f32 (f16, i8, u8, i32 expanded).
Tensor tensor_to_f32(const Tensor& t);

}  // namespace morsel
