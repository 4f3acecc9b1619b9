// The per-format halves of image_decode(), internal to morsel_image. Each format provides:
//   <fmt>_read_info: header + orientation, no pixels (validates what it reads);
//   <fmt>_decode:    fills `out` (already sized info.width x info.height RGB8 by the caller,
//                    after the size limits were checked) with the pixels as stored, unrotated;
//   <fmt>_find_exif: where its EXIF block (TIFF header onward) lies, if any.
// All take the whole file in memory; none keeps a pointer into it after returning.
#pragma once

#include <cstddef>
#include <cstdint>

#include "image/decode/decode.h"

namespace morsel::detail {

// A borrowed byte range inside the caller's buffer; {nullptr, 0} when absent.
struct ByteSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

inline uint16_t read_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t read_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
inline uint32_t read_le32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | uint32_t{p[0]};
}

Status jpeg_read_info(const uint8_t* data, size_t size, ImageInfo* info);
Status jpeg_decode(const uint8_t* data, size_t size, const ImageInfo& info, Image* out);
ByteSpan jpeg_find_exif(const uint8_t* data, size_t size);

Status png_read_info(const uint8_t* data, size_t size, ImageInfo* info);
Status png_decode(const uint8_t* data, size_t size, const ImageInfo& info, Image* out);
ByteSpan png_find_exif(const uint8_t* data, size_t size);

Status webp_read_info(const uint8_t* data, size_t size, ImageInfo* info);
Status webp_decode(const uint8_t* data, size_t size, const ImageInfo& info, Image* out);
ByteSpan webp_find_exif(const uint8_t* data, size_t size);

}  // namespace morsel::detail
