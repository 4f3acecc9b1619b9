// Test-only helpers for the image suite: encoders (libturbojpeg, libspng, libwebp) that turn
// known pixel patterns into files, and byte-level builders for EXIF blocks and for splicing
// metadata (JPEG APP1, PNG chunks, WebP VP8X/EXIF) into those files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/preprocess.h"

namespace morsel::test {

using Bytes = std::vector<uint8_t>;

// A w x h RGB image whose pixel (x, y) is fn(x, y, c).
template <typename F>
Image make_image(int w, int h, F fn) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(size_t(w) * size_t(h) * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        img.rgb[(size_t(y) * w + x) * 3 + c] = static_cast<uint8_t>(fn(x, y, c));
  return img;
}
// A smooth gradient (JPEG/lossy WebP compress it with small error).
Image gradient_image(int w, int h);

// JPEG from interleaved pixels: tj_pixel_format is a TJPF_* value (RGB, GRAY, CMYK), subsamp a
// TJSAMP_* value. Returns an empty vector if libturbojpeg fails.
Bytes encode_jpeg(const uint8_t* pixels, int w, int h, int tj_pixel_format, int subsamp,
                  int quality);
Bytes encode_jpeg(const Image& img, int quality = 95);

// PNG via libspng: `pixels` in the PNG's own layout (SPNG_FMT_PNG: samples per colour type,
// 16-bit samples as two bytes), `palette` as RGB triplets for colour type 3, `trns_alpha` one
// alpha per palette entry (may be empty).
Bytes encode_png(const uint8_t* pixels, size_t size, int w, int h, int color_type, int bit_depth,
                 const std::vector<uint8_t>& palette = {},
                 const std::vector<uint8_t>& trns_alpha = {}, bool interlaced = false);
Bytes encode_png(const Image& img);

// WebP via libwebp: lossless RGB / RGBA, or lossy RGB at `quality`.
Bytes encode_webp_lossless(const uint8_t* pixels, int w, int h, int channels);
Bytes encode_webp_lossless(const Image& img);
Bytes encode_webp_lossy(const Image& img, float quality);

// A TIFF/EXIF block (TIFF header onward) whose IFD0 holds a Make tag and then Orientation.
Bytes make_exif(int orientation, bool big_endian = false);

// Inserts an APP1 "Exif\0\0" segment right after SOI.
Bytes jpeg_with_exif(const Bytes& jpeg, const Bytes& tiff);
// Inserts a chunk (with a correct CRC) right after IHDR.
Bytes png_with_chunk(const Bytes& png, const char type[4], const Bytes& data);
// Rewrites a simple (VP8/VP8L) WebP as extended (VP8X) with an EXIF chunk at the end.
Bytes webp_with_exif(const Bytes& webp, int w, int h, const Bytes& tiff);

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);
void put_be32(Bytes* b, uint32_t v);
void put_le32(Bytes* b, uint32_t v);

// max |a - b| over the RGB bytes; 255 + 1 when the sizes differ.
int max_abs_diff(const Image& a, const Image& b);

}  // namespace morsel::test
