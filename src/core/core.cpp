// dtype names, shape helpers and Tensor.
#include <climits>
#include <cmath>

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
    case DType::QU8:
      return "qu8";
    case DType::QU16:
      return "qu16";
  }
  return "?";
}

bool dtype_from_name(const std::string& name, DType* out) {
  static const std::pair<const char*, DType> kNames[] = {
      {"f32", DType::F32}, {"f16", DType::F16}, {"i8", DType::I8},    {"u8", DType::U8},
      {"i32", DType::I32}, {"qu8", DType::QU8}, {"qu16", DType::QU16}};
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

Tensor Tensor::with_affine(AffineQuant q) const {
  Tensor t = *this;
  t.affine_ = std::make_shared<const AffineQuant>(std::move(q));
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  if (affine_ && !affine_->channel_scale.empty()) {
    // The channel axis keeps its meaning where the new shape has an axis of the same size with
    // the same number of elements before it.
    const size_t a = static_cast<size_t>(affine_->axis);
    int64_t before = 1;
    for (size_t i = 0; i < a; i++) before *= shape_[i];
    int64_t acc = 1;
    int new_axis = -1;
    for (size_t k = 0; k < shape.size() && acc <= before; k++) {
      if (acc == before && shape[k] == shape_[a]) {
        new_axis = static_cast<int>(k);
        break;
      }
      acc *= shape[k];
    }
    if (new_axis < 0) return tensor_to_f32(*this).reshaped(std::move(shape));
    AffineQuant q = *affine_;
    q.axis = new_axis;
    t = t.with_affine(std::move(q));
  }
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw_mut(), data_, nbytes());
  t.affine_ = affine_;
  return t;
}

namespace {

// value[i] = float(q[i] * scale + offset) * channel_scale[c(i)] (see AffineQuant). The first
// part takes one of 2^bits values: a table of them (when the tensor is larger than the table)
// gives the same bits without a double multiply per element. The tensor is walked as
// [outer, channels, inner] so that the loops need no division.
template <typename Q>
void affine_dequantize(const Tensor& t, float* o) {
  const Q* q = t.data<Q>();
  const int64_t n = t.numel();
  if (n == 0) return;
  const AffineQuant none;
  const AffineQuant& a = t.affine() ? *t.affine() : none;
  const double scale = a.scale, offset = a.offset;
  constexpr int64_t kLevels = int64_t{1} << (8 * sizeof(Q));
  std::vector<float> table;
  if (n > kLevels) {
    table.resize(static_cast<size_t>(kLevels));
    for (int64_t v = 0; v < kLevels; v++)
      table[static_cast<size_t>(v)] = static_cast<float>(v * scale + offset);
  }
  const float* lut = table.empty() ? nullptr : table.data();
  auto value = [&](Q x) { return lut ? lut[x] : static_cast<float>(x * scale + offset); };
  if (a.channel_scale.empty()) {
    for (int64_t i = 0; i < n; i++) o[i] = value(q[i]);
    return;
  }
  const float* cs = a.channel_scale.data();
  const int64_t channels = t.dim(a.axis);
  int64_t inner = 1;
  for (int d = a.axis + 1; d < t.rank(); d++) inner *= t.dim(d);
  const int64_t outer = n / (channels * inner);
  for (int64_t r = 0; r < outer; r++) {
    const Q* qr = q + r * channels * inner;
    float* orow = o + r * channels * inner;
    if (inner == 1) {  // channels innermost (Conv2D, Dense): one row of channels
      for (int64_t c = 0; c < channels; c++) orow[c] = value(qr[c]) * cs[c];
      continue;
    }
    for (int64_t c = 0; c < channels; c++) {
      const float m = cs[c];
      for (int64_t i = 0; i < inner; i++) orow[c * inner + i] = value(qr[c * inner + i]) * m;
    }
  }
}

}  // namespace

Status affine_quant_check(const AffineQuant& q, const Shape& shape, const std::string& what) {
  if (!std::isfinite(q.scale) || !std::isfinite(q.offset))
    return MORSEL_ERROR(INVALID_MODEL, "%s: affine scale %g and offset %g must be finite",
                        what.c_str(), q.scale, q.offset);
  if (q.channel_scale.empty()) {
    if (q.axis != -1)
      return MORSEL_ERROR(INVALID_MODEL, "%s: affine axis %d without channel scales", what.c_str(),
                          q.axis);
    return Status();
  }
  if (q.axis < 0 || q.axis >= static_cast<int>(shape.size()))
    return MORSEL_ERROR(INVALID_MODEL, "%s: affine axis %d is not an axis of shape %s",
                        what.c_str(), q.axis, shape_str(shape).c_str());
  if (static_cast<int64_t>(q.channel_scale.size()) != shape[static_cast<size_t>(q.axis)])
    return MORSEL_ERROR(INVALID_MODEL, "%s: %zu channel scales for axis %d of shape %s (want %lld)",
                        what.c_str(), q.channel_scale.size(), q.axis, shape_str(shape).c_str(),
                        static_cast<long long>(shape[static_cast<size_t>(q.axis)]));
  for (size_t c = 0; c < q.channel_scale.size(); c++)
    if (!std::isfinite(q.channel_scale[c]))
      return MORSEL_ERROR(INVALID_MODEL, "%s: channel scale %zu is not finite", what.c_str(), c);
  return Status();
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
    case DType::QU8:
      affine_dequantize<uint8_t>(t, o);
      break;
    case DType::QU16:
      affine_dequantize<uint16_t>(t, o);
      break;
    case DType::F32: break;
  }
  return out;
}

}  // namespace morsel
