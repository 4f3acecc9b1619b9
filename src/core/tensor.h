// Tensor: a shape, a dtype and a buffer. The buffer is either owned (std::vector storage) or
// borrowed from a longer-lived owner such as an mmapped model file. QU8/QU16 tensors also carry
// an AffineQuant record that says which f32 values their integers stand for.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"

namespace morsel {

// Compact (affine-quantized) weights, kept as the source stored them: element i of a QU8/QU16
// tensor with stored integer q[i] is the f32 value
//
//   value[i] = float(q[i] * scale + offset) * channel_scale[c(i)]
//
// The first part is computed in double and rounded to f32 once, exactly as TF.js decodes its
// uint8/uint16 weights, so a compact tensor expands to the same bits as an f32 import. Passes
// that rescale output channels (BatchNorm folding) fill channel_scale, an f32 factor per index
// c(i) along `axis` (the product is an f32 multiply, as when the pass scales f32 weights).
// Empty channel_scale: factor 1 and axis -1.
struct AffineQuant {
  double scale = 1, offset = 0;
  int axis = -1;
  std::vector<float> channel_scale;  // empty, or shape[axis] factors
};

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

  // QU8/QU16 only (null otherwise, and for a QU8/QU16 tensor that was never given one, which
  // then means scale 1, offset 0).
  const AffineQuant* affine() const { return affine_.get(); }
  // The same bytes (shared) with `q` as their affine record; for QU8/QU16 tensors.
  Tensor with_affine(AffineQuant q) const;
  template <typename T> T* mut() { return static_cast<T*>(raw_mut()); }

  // Same data, new shape with the same element count (shares storage). A channel_scale moves
  // to the axis that keeps its channel; where the new shape has none, the result is f32.
  Tensor reshaped(Shape shape) const;
  // A deep copy with owned storage.
  Tensor clone() const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<std::vector<uint8_t>> storage_;
  const void* data_ = nullptr;
  std::shared_ptr<const AffineQuant> affine_;
};

// Converts any numeric tensor to f32 (f16, i8, u8, i32 expanded; qu8/qu16 dequantized through
// their AffineQuant record).
Tensor tensor_to_f32(const Tensor& t);

// Checks an AffineQuant record against a tensor shape: finite scale/offset, axis in range and
// shape[axis] finite channel_scale factors (or none). `what` names the tensor in the message.
Status affine_quant_check(const AffineQuant& q, const Shape& shape, const std::string& what);

}  // namespace morsel
