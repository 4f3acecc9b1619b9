// Preprocessing: pixels -> the model's input tensor. Defined once by the model file's metadata
// and implemented once here, so the server, the browser (WASM) and phones (arm64) agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace morsel {

// An 8-bit image, RGB interleaved, row-major, no padding between rows.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes
};

enum class ResizeMethod : uint8_t {
  BILINEAR,                // half-pixel centers (TF2 tf.image.resize, PIL/OpenCV w/o antialias)
  BILINEAR_ALIGN_CORNERS,  // TF1 align_corners=true: corners map to corners (nsfwjs)
  BILINEAR_ASYMMETRIC,     // TF1 default: src = dst * in/out (tf.image.resizeBilinear default)
  NEAREST,                 // half-pixel centers, round down
  AREA,                    // box filter over the source footprint (antialiased downscaling)
};
enum class CropMode : uint8_t {
  NONE,    // stretch the whole image to the input size
  CENTER,  // take the largest centered region with the input's aspect ratio, scaled by
           // crop_fraction (0.875 = the classic "resize 256, crop 224"), then resize it
};
enum class ChannelOrder : uint8_t { RGB, BGR };

struct PreprocessSpec {
  int64_t height = 224, width = 224;  // model input size (NHWC, 3 channels)
  ResizeMethod resize = ResizeMethod::BILINEAR;
  CropMode crop = CropMode::NONE;
  float crop_fraction = 1.0f;
  ChannelOrder channel_order = ChannelOrder::RGB;
  // value = (pixel - mean[c]) / std[c], pixel in 0..255, c in the model's channel order.
  // (scale/offset form: value = pixel * scale + offset, i.e. mean = -offset/scale, std = 1/scale)
  float mean[3] = {0, 0, 0};
  float std[3] = {255, 255, 255};
};

const char* resize_method_name(ResizeMethod m);  // "bilinear", "bilinear_align_corners", ...
bool resize_method_from_name(const std::string& s, ResizeMethod* out);
const char* crop_mode_name(CropMode m);           // "none", "center"
bool crop_mode_from_name(const std::string& s, CropMode* out);

// Checks ranges (sizes 1..8192, std != 0, crop_fraction in (0,1]).
Status preprocess_spec_validate(const PreprocessSpec& spec);

// Converts `width`x`height` pixels with `channels` = 3 (RGB) or 4 (RGBA, alpha ignored) and
// `stride` bytes per row into out[spec.height][spec.width][3] (f32, HWC).
Status preprocess(const uint8_t* pixels, int width, int height, int channels, int64_t stride,
                  const PreprocessSpec& spec, float* out);
inline Status preprocess(const Image& img, const PreprocessSpec& spec, float* out) {
  return preprocess(img.rgb.data(), img.width, img.height, 3, int64_t{img.width} * 3, spec, out);
}

}  // namespace morsel
