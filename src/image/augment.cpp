// Random resized crop + horizontal flip + colour jitter (see augment.h).
#include "image/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/random.h"

namespace morsel {

uint64_t augment_params_hash(const AugmentParams& p) {
  const float v[] = {p.crop_area_min, p.crop_ratio_min, p.crop_ratio_max, p.flip ? 1.0f : 0.0f,
                     p.brightness,    p.contrast,       p.saturation};
  uint64_t h = 0x6175676D656E7431ull;  // "augment1": bump when the algorithm changes
  for (float f : v) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    h = seed_mix(h, bits);
  }
  return h;
}

Status augment_params_validate(const AugmentParams& p) {
  if (!(p.crop_area_min > 0 && p.crop_area_min <= 1))
    return MORSEL_ERROR(INVALID_ARGUMENT, "crop area minimum %g must be in (0, 1]", p.crop_area_min);
  if (!(p.crop_ratio_min > 0 && p.crop_ratio_min <= p.crop_ratio_max && p.crop_ratio_max < 100))
    return MORSEL_ERROR(INVALID_ARGUMENT, "crop aspect ratio range [%g, %g] is invalid",
                        p.crop_ratio_min, p.crop_ratio_max);
  for (float j : {p.brightness, p.contrast, p.saturation})
    if (!(j >= 0 && j < 1))
      return MORSEL_ERROR(INVALID_ARGUMENT, "colour jitter %g must be in [0, 1)", j);
  return Status();
}

namespace {

uint8_t clamp_u8(float v) {
  v = std::nearbyint(v);
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

Image augment_image(const Image& in, const AugmentParams& p, uint64_t seed) {
  Rng rng(seed);
  const int W = in.width, H = in.height;
  // 1. Crop rectangle [x0, x0+cw) x [y0, y0+ch). Up to 10 tries, then the whole image.
  int x0 = 0, y0 = 0, cw = W, ch = H;
  if (p.crop_area_min < 1) {
    const double area = double(W) * H;
    const double lr0 = std::log(p.crop_ratio_min), lr1 = std::log(p.crop_ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
      const double target = area * rng.uniform(p.crop_area_min, 1.0f);
      const double ratio = std::exp(lr0 + (lr1 - lr0) * rng.uniform());
      const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
      const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
      if (w >= 1 && h >= 1 && w <= W && h <= H) {
        cw = w;
        ch = h;
        x0 = static_cast<int>(rng.below(static_cast<uint64_t>(W - w + 1)));
        y0 = static_cast<int>(rng.below(static_cast<uint64_t>(H - h + 1)));
        break;
      }
    }
  }
  const bool flip = p.flip && (rng.next() >> 63) != 0;
  const float b = 1 + rng.uniform(-p.brightness, p.brightness);
  const float c = 1 + rng.uniform(-p.contrast, p.contrast);
  const float s = 1 + rng.uniform(-p.saturation, p.saturation);

  Image out;
  out.width = cw;
  out.height = ch;
  out.rgb.resize(size_t(cw) * ch * 3);
  // 2. Copy (mirrored when flipping) and take the mean grey level for contrast.
  double grey_sum = 0;
  for (int y = 0; y < ch; y++) {
    const uint8_t* src = in.rgb.data() + (size_t(y0 + y) * W + x0) * 3;
    uint8_t* dst = out.rgb.data() + size_t(y) * cw * 3;
    for (int x = 0; x < cw; x++) {
      const uint8_t* px = src + size_t(flip ? cw - 1 - x : x) * 3;
      dst[3 * x] = px[0];
      dst[3 * x + 1] = px[1];
      dst[3 * x + 2] = px[2];
      grey_sum += 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
    }
  }
  if (b == 1 && c == 1 && s == 1) return out;
  // 3. Jitter, in this order: brightness (scale), contrast (towards the mean grey), saturation
  // (towards each pixel's grey).
  const float mean = static_cast<float>(grey_sum / (double(cw) * ch)) * b;
  for (size_t i = 0; i < out.rgb.size(); i += 3) {
    float r = out.rgb[i] * b, g = out.rgb[i + 1] * b, bl = out.rgb[i + 2] * b;
    r = mean + (r - mean) * c;
    g = mean + (g - mean) * c;
    bl = mean + (bl - mean) * c;
    const float grey = 0.299f * r + 0.587f * g + 0.114f * bl;
    out.rgb[i] = clamp_u8(grey + (r - grey) * s);
    out.rgb[i + 1] = clamp_u8(grey + (g - grey) * s);
    out.rgb[i + 2] = clamp_u8(grey + (bl - grey) * s);
  }
  return out;
}

}  // namespace morsel
