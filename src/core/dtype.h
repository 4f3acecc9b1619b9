// Element types a tensor can hold. QU8/QU16 are affine-quantized weights: the stored unsigned
// integers stand for f32 values through the tensor's AffineQuant record (core/tensor.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace morsel {

enum class DType : uint8_t { F32 = 0, F16 = 1, I8 = 2, U8 = 3, I32 = 4, QU8 = 5, QU16 = 6 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::I8: return 1;
    case DType::U8: return 1;
    case DType::I32: return 4;
    case DType::QU8: return 1;
    case DType::QU16: return 2;
  }
  return 0;
}

// "f32", "f16", "i8", "u8", "i32", "qu8", "qu16"
const char* dtype_name(DType t);
// Inverse of dtype_name; false if the name is unknown.
bool dtype_from_name(const std::string& name, DType* out);

}  // namespace morsel
