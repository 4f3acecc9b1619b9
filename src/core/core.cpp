// dtype names, shape helpers and Tensor.
#include <climits>

#include "core/dtype.h"
#include "core/fp16.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace morsel {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::I8: return "i8";
    case DType::U8: return "u8";
    case DType::I32: return "i32";
  }
  return "?";
}

bool dtype_from_name(const std::string& name, DType* out) {
  static const std::pair<const char*, DType> kNames[] = {
      {"f32", DType::F32}, {"f16", DType::F16}, {"i8", DType::I8},
      {"u8", DType::U8},   {"i32", DType::I32}};
  for (const auto& [n, t] : kNames) {
    if (name == n) {
      *out = t;
      return true;
    }
  }
  return false;
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return -1;
    if (d == 0) return 0;
    if (n > INT64_MAX / d) return INT64_MAX;
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) {
    if (i) out += ",";
    out += s[i] < 0 ? std::string("?") : std::to_string(s[i]);
  }
  return out + "]";
}

bool shape_is_static(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) return false;
  return true;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  storage_ = std::make_shared<std::vector<uint8_t>>(nbytes());
  data_ = storage_->data();
}

Tensor Tensor::borrow(DType dtype, Shape shape, const void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw_mut(), data_, nbytes());
  return t;
}

Tensor tensor_to_f32(const Tensor& t) {
  if (t.dtype() == DType::F32) return t;
  Tensor out(DType::F32, t.shape());
  float* o = out.mut<float>();
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::F16:
      for (int64_t i = 0; i < n; i++) o[i] = fp16_to_f32(t.data<uint16_t>()[i]);
      break;
    case DType::I8:
      for (int64_t i = 0; i < n; i++) o[i] = t.data<int8_t>()[i];
      break;
    case DType::U8:
      for (int64_t i = 0; i < n; i++) o[i] = t.data<uint8_t>()[i];
      break;
    case DType::I32:
      for (int64_t i = 0; i < n; i++) o[i] = static_cast<float>(t.data<int32_t>()[i]);
      break;
    case DType::F32: break;
  }
  return out;
}

}  // namespace morsel
