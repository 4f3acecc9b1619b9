// Reference preprocessing: crop, resize (bilinear x3, nearest, area), channel order, mean/std.
// Standard library only (it is part of morsel_runtime, hence of the WASM and arm64 builds).
// Plain scalar code on purpose: it is the oracle that later SIMD versions are tested against.
// To add a resize method: add it to ResizeMethod, to the name table below, and a resize_* here.
//
// Sampling semantics follow TensorFlow (tf.image.resize / TF.js resizeBilinear) exactly:
//   scale  = (in-1)/(out-1) for align-corners (0 when out == 1), else in/out
//   src    = dst*scale (align-corners, asymmetric) or (dst+0.5)*scale - 0.5 (half-pixel, >= 0)
//   i0     = floor(src), i1 = min(i0+1, in-1), frac = src - i0
//   top    = tl + (tr-tl)*xf;  bottom = bl + (br-bl)*xf;  out = top + (bottom-top)*yf   (float)
// Source coordinates are computed in double, as TF.js does (JS numbers): with a float scale the
// coordinate of a 4000-pixel source is off by up to ~1e-4 pixel, enough to miss a 1e-6 parity.
#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace morsel {

namespace {

constexpr int64_t kMaxSide = 8192;

struct MethodName {
  ResizeMethod method;
  const char* name;
};
constexpr MethodName kResizeNames[] = {
    {ResizeMethod::BILINEAR, "bilinear"},
    {ResizeMethod::BILINEAR_ALIGN_CORNERS, "bilinear_align_corners"},
    {ResizeMethod::BILINEAR_ASYMMETRIC, "bilinear_asymmetric"},
    {ResizeMethod::NEAREST, "nearest"},
    {ResizeMethod::AREA, "area"},
};

// A view of 8-bit interleaved pixels: `channels` bytes per pixel (the first 3 are R, G, B),
// `stride` bytes per row. Borrowed; the caller owns the memory.
struct SrcView {
  const uint8_t* data;
  int width;
  int height;
  int channels;
  int64_t stride;
};

// Output of the resizers: out[oh][ow][3] f32 in 0..255, already in the model's channel order.
struct DstView {
  float* data;
  int width;
  int height;
  int perm[3];  // out channel c takes source channel perm[c]
};

// value = (pixel - mean[c]) / std[c], a true division so that mean 0 / std 255 matches TF.js's
// x.div(255) bit for bit. Over `n` floats of interleaved pixels starting at channel 0, in blocks
// of 48 floats (16 pixels) against repeated mean/std patterns, so the loop vectorizes.
struct Normalizer {
  float mean48[48], std48[48];
  explicit Normalizer(const PreprocessSpec& spec) {
    for (int j = 0; j < 48; j++) mean48[j] = spec.mean[j % 3], std48[j] = spec.std[j % 3];
  }
  void apply(const float* in, int64_t n, float* out) const {
    int64_t i = 0;
    for (; i + 48 <= n; i += 48)
      for (int j = 0; j < 48; j++) out[i + j] = (in[i + j] - mean48[j]) / std48[j];
    for (; i < n; i++) out[i] = (in[i] - mean48[i % 3]) / std48[i % 3];
  }
};

// The source rectangle that CENTER crop keeps, in whole pixels so that it equals slicing the
// image first and resizing the slice (reproducible with tf.slice + tf.image.resize).
struct Rect {
  int x, y, w, h;
};

Rect crop_region(int width, int height, const PreprocessSpec& spec) {
  if (spec.crop == CropMode::NONE) return {0, 0, width, height};
  // Largest rectangle with the output's aspect ratio (out_w/out_h) that fits the source.
  const double aspect = static_cast<double>(spec.width) / static_cast<double>(spec.height);
  double cw = width, ch = height;
  if (static_cast<double>(width) > static_cast<double>(height) * aspect) {
    cw = height * aspect;  // source is wider: keep full height
  } else {
    ch = width / aspect;  // source is taller (or equal): keep full width
  }
  cw *= spec.crop_fraction;
  ch *= spec.crop_fraction;
  const int w = std::clamp(static_cast<int>(std::lround(cw)), 1, width);
  const int h = std::clamp(static_cast<int>(std::lround(ch)), 1, height);
  return {(width - w) / 2, (height - h) / 2, w, h};
}

// One output coordinate of a two-tap (bilinear) or one-tap (nearest) sampler along an axis.
struct Tap {
  int64_t i0, i1;  // source indices (x tables hold byte offsets within a row: index * channels)
  float frac;      // weight of i1
};

enum class Grid { HALF_PIXEL, ALIGN_CORNERS, ASYMMETRIC };

std::vector<Tap> bilinear_taps(int in, int out, Grid grid, int64_t unit) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  double scale;
  if (grid == Grid::ALIGN_CORNERS) {
    scale = out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
  } else {
    scale = static_cast<double>(in) / static_cast<double>(out);
  }
  for (int d = 0; d < out; d++) {
    double src = grid == Grid::HALF_PIXEL ? (d + 0.5) * scale - 0.5 : d * scale;
    src = std::max(src, 0.0);
    const int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), int64_t{in} - 1);
    const int64_t i1 = std::min(i0 + 1, int64_t{in} - 1);
    taps[static_cast<size_t>(d)] = {i0 * unit, i1 * unit,
                                    static_cast<float>(src - static_cast<double>(i0))};
  }
  return taps;
}

// Nearest with half-pixel centers, rounding down: src = floor((dst + 0.5) * in/out).
std::vector<int64_t> nearest_taps(int in, int out, int64_t unit) {
  std::vector<int64_t> taps(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int d = 0; d < out; d++) {
    const int64_t i =
        std::min(static_cast<int64_t>(std::floor((d + 0.5) * scale)), int64_t{in} - 1);
    taps[static_cast<size_t>(d)] = i * unit;
  }
  return taps;
}

// Area (box) filter along one axis: output d covers source [d*in/out, (d+1)*in/out); each source
// pixel i contributes the length of its overlap with that span, divided by the span's length, so
// the weights of one output sum to 1. Weights of output d are weights[begin[d] .. begin[d+1]).
struct AreaTaps {
  std::vector<size_t> begin;    // out + 1 entries
  std::vector<int64_t> offset;  // source index * unit
  std::vector<double> weight;
};

AreaTaps area_taps(int in, int out, int64_t unit) {
  AreaTaps t;
  t.begin.reserve(static_cast<size_t>(out) + 1);
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int d = 0; d < out; d++) {
    t.begin.push_back(t.offset.size());
    const double lo = d * scale;
    const double hi = std::min((d + 1) * scale, static_cast<double>(in));
    const int64_t first = static_cast<int64_t>(std::floor(lo));
    const int64_t last = std::min(static_cast<int64_t>(std::ceil(hi)), int64_t{in});  // exclusive
    for (int64_t i = first; i < last; i++) {
      const double overlap =
          std::min(hi, static_cast<double>(i + 1)) - std::max(lo, static_cast<double>(i));
      if (overlap <= 0) continue;
      t.offset.push_back(i * unit);
      t.weight.push_back(overlap / scale);
    }
  }
  t.begin.push_back(t.offset.size());
  return t;
}

// TF's bilinear formula, top = tl + (tr - tl) * fx, bottom likewise, out = top + (bottom - top) *
// fy, computed in two passes with the same float operations: each source row needed is
// interpolated horizontally once (consecutive output rows share source rows when upsampling),
// then output rows blend two such rows in a loop the compiler vectorizes.
// The normalization is applied to each output row as it is blended (one pass over the output
// instead of two; the same float operations in the same order).
void resize_bilinear(const SrcView& src, Grid grid, const DstView& dst, const Normalizer& norm) {
  const std::vector<Tap> xs = bilinear_taps(src.width, dst.width, grid, src.channels);
  const std::vector<Tap> ys = bilinear_taps(src.height, dst.height, grid, src.stride);
  const size_t row_floats = static_cast<size_t>(dst.width) * 3;
  std::vector<float> cache(2 * row_floats), blended(row_floats);
  // Per output float of a row: its two source floats and weight (the channel order folded in),
  // and one source row as floats (each byte converted once, not once per tap).
  std::vector<int32_t> left(row_floats), right(row_floats);
  std::vector<float> frac(row_floats);
  for (size_t t = 0; t < xs.size(); t++)
    for (int c = 0; c < 3; c++) {
      left[t * 3 + static_cast<size_t>(c)] = static_cast<int32_t>(xs[t].i0 + dst.perm[c]);
      right[t * 3 + static_cast<size_t>(c)] = static_cast<int32_t>(xs[t].i1 + dst.perm[c]);
      frac[t * 3 + static_cast<size_t>(c)] = xs[t].frac;
    }
  std::vector<float> row_f(static_cast<size_t>(src.width) * static_cast<size_t>(src.channels));
  int64_t cached[2] = {-1, -1};  // source row offset held by cache slot 0 / 1
  auto horizontal = [&](int64_t row_offset) -> const float* {
    for (int k = 0; k < 2; k++)
      if (cached[k] == row_offset) return cache.data() + static_cast<size_t>(k) * row_floats;
    // Replace the slot not holding the other row of the current pair.
    const int k = cached[0] == -1 ? 0 : (cached[1] == -1 ? 1 : 0);
    float* h = cache.data() + static_cast<size_t>(k) * row_floats;
    const uint8_t* row = src.data + row_offset;
    for (size_t i = 0; i < row_f.size(); i++) row_f[i] = float(row[i]);
    const float* f = row_f.data();
    for (size_t i = 0; i < row_floats; i++) {
      const float l = f[left[i]], r = f[right[i]];
      h[i] = l + (r - l) * frac[i];
    }
    cached[k] = row_offset;
    return cache.data() + static_cast<size_t>(k) * row_floats;
  };
  float* out = dst.data;
  for (const Tap& y : ys) {
    // Keep the pair's rows: evict a slot only if it holds neither row of this output row.
    if (cached[0] != y.i0 && cached[0] != y.i1) cached[0] = -1;
    if (cached[1] != y.i0 && cached[1] != y.i1) cached[1] = -1;
    const float* top = horizontal(y.i0);
    const float* bottom = horizontal(y.i1);
    const float fy = y.frac;
    for (size_t i = 0; i < row_floats; i++) blended[i] = top[i] + (bottom[i] - top[i]) * fy;
    norm.apply(blended.data(), static_cast<int64_t>(row_floats), out);
    out += row_floats;
  }
}

void resize_nearest(const SrcView& src, const DstView& dst) {
  const std::vector<int64_t> xs = nearest_taps(src.width, dst.width, src.channels);
  const std::vector<int64_t> ys = nearest_taps(src.height, dst.height, src.stride);
  float* out = dst.data;
  for (int64_t y : ys) {
    const uint8_t* row = src.data + y;
    for (int64_t x : xs) {
      for (int c = 0; c < 3; c++) out[c] = float(row[x + dst.perm[c]]);
      out += 3;
    }
  }
}

void resize_area(const SrcView& src, const DstView& dst) {
  const AreaTaps xs = area_taps(src.width, dst.width, src.channels);
  const AreaTaps ys = area_taps(src.height, dst.height, src.stride);
  float* out = dst.data;
  for (int oy = 0; oy < dst.height; oy++) {
    for (int ox = 0; ox < dst.width; ox++) {
      double acc[3] = {0, 0, 0};
      for (size_t j = ys.begin[oy]; j < ys.begin[oy + 1]; j++) {
        const uint8_t* row = src.data + ys.offset[j];
        double row_acc[3] = {0, 0, 0};
        for (size_t i = xs.begin[ox]; i < xs.begin[ox + 1]; i++) {
          const uint8_t* p = row + xs.offset[i];
          for (int c = 0; c < 3; c++) row_acc[c] += xs.weight[i] * p[dst.perm[c]];
        }
        for (int c = 0; c < 3; c++) acc[c] += ys.weight[j] * row_acc[c];
      }
      for (int c = 0; c < 3; c++) out[c] = static_cast<float>(acc[c]);
      out += 3;
    }
  }
}

}  // namespace

const char* resize_method_name(ResizeMethod m) {
  for (const MethodName& n : kResizeNames)
    if (n.method == m) return n.name;
  return "unknown";
}

bool resize_method_from_name(const std::string& s, ResizeMethod* out) {
  for (const MethodName& n : kResizeNames) {
    if (s == n.name) {
      *out = n.method;
      return true;
    }
  }
  return false;
}

const char* crop_mode_name(CropMode m) {
  switch (m) {
    case CropMode::NONE:
      return "none";
    case CropMode::CENTER:
      return "center";
  }
  return "unknown";
}

bool crop_mode_from_name(const std::string& s, CropMode* out) {
  if (s == "none") {
    *out = CropMode::NONE;
  } else if (s == "center") {
    *out = CropMode::CENTER;
  } else {
    return false;
  }
  return true;
}

Status preprocess_spec_validate(const PreprocessSpec& spec) {
  if (spec.height < 1 || spec.height > kMaxSide || spec.width < 1 || spec.width > kMaxSide)
    return MORSEL_ERROR(INVALID_ARGUMENT,
                        "preprocess: input size %lldx%lld (WxH) is outside 1..%lld",
                        static_cast<long long>(spec.width), static_cast<long long>(spec.height),
                        static_cast<long long>(kMaxSide));
  if (std::strcmp(resize_method_name(spec.resize), "unknown") == 0)
    return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: unknown resize method %d",
                        static_cast<int>(spec.resize));
  if (spec.crop != CropMode::NONE && spec.crop != CropMode::CENTER)
    return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: unknown crop mode %d",
                        static_cast<int>(spec.crop));
  if (spec.channel_order != ChannelOrder::RGB && spec.channel_order != ChannelOrder::BGR)
    return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: unknown channel order %d",
                        static_cast<int>(spec.channel_order));
  if (!(spec.crop_fraction > 0.0f && spec.crop_fraction <= 1.0f))  // also rejects NaN
    return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: crop_fraction %g must be in (0, 1]",
                        static_cast<double>(spec.crop_fraction));
  for (int c = 0; c < 3; c++) {
    if (!std::isfinite(spec.mean[c]))
      return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: mean[%d] is not a finite number", c);
    if (!std::isfinite(spec.std[c]) || spec.std[c] == 0.0f)
      return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: std[%d] = %g must be finite and non-zero",
                          c, static_cast<double>(spec.std[c]));
  }
  return Status();
}

Status preprocess(const uint8_t* pixels, int width, int height, int channels, int64_t stride,
                  const PreprocessSpec& spec, float* out) {
  if (pixels == nullptr) return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: pixels is null");
  if (out == nullptr) return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: output buffer is null");
  if (width < 1 || height < 1)
    return MORSEL_ERROR(INVALID_ARGUMENT, "preprocess: image size %dx%d must be at least 1x1",
                        width, height);
  if (channels != 3 && channels != 4)
    return MORSEL_ERROR(INVALID_ARGUMENT,
                        "preprocess: channels is %d; expected 3 (RGB) or 4 (RGBA)", channels);
  if (stride < int64_t{width} * channels)
    return MORSEL_ERROR(
        INVALID_ARGUMENT,
        "preprocess: stride %lld bytes is smaller than one row (%d pixels x %d channels)",
        static_cast<long long>(stride), width, channels);
  MORSEL_RETURN_IF_ERROR(preprocess_spec_validate(spec));

  const Rect r = crop_region(width, height, spec);
  const SrcView src{pixels + int64_t{r.y} * stride + int64_t{r.x} * channels, r.w, r.h, channels,
                    stride};
  DstView dst{out, static_cast<int>(spec.width), static_cast<int>(spec.height), {0, 1, 2}};
  if (spec.channel_order == ChannelOrder::BGR) {
    dst.perm[0] = 2;
    dst.perm[2] = 0;
  }

  const Normalizer norm(spec);
  const int64_t n = spec.width * spec.height * 3;
  switch (spec.resize) {
    case ResizeMethod::BILINEAR:
      resize_bilinear(src, Grid::HALF_PIXEL, dst, norm);
      return Status();
    case ResizeMethod::BILINEAR_ALIGN_CORNERS:
      resize_bilinear(src, Grid::ALIGN_CORNERS, dst, norm);
      return Status();
    case ResizeMethod::BILINEAR_ASYMMETRIC:
      resize_bilinear(src, Grid::ASYMMETRIC, dst, norm);
      return Status();
    case ResizeMethod::NEAREST:
      resize_nearest(src, dst);
      break;
    case ResizeMethod::AREA:
      resize_area(src, dst);
      break;
  }
  norm.apply(out, n, out);
  return Status();
}

}  // namespace morsel
