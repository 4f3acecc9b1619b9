// EXIF orientation: a minimal, bounds-checked TIFF reader that finds tag 0x0112 in IFD0, and the
// eight display transforms. Reads untrusted bytes: every offset is checked against the block's
// size before use, and anything unexpected means "no orientation" (1), never an error.
#include <cstring>

#include "image/decode/codecs.h"
#include "image/decode/decode.h"

namespace morsel {

namespace {

constexpr uint16_t kTagOrientation = 0x0112;
constexpr uint16_t kTypeShort = 3;
constexpr uint16_t kTypeLong = 4;

struct TiffReader {
  const uint8_t* p;
  size_t size;
  bool big_endian;

  bool u16(size_t at, uint16_t* v) const {
    if (at > size || size - at < 2) return false;
    *v = big_endian ? static_cast<uint16_t>(p[at] << 8 | p[at + 1])
                    : static_cast<uint16_t>(p[at + 1] << 8 | p[at]);
    return true;
  }
  bool u32(size_t at, uint32_t* v) const {
    if (at > size || size - at < 4) return false;
    *v = big_endian ? detail::read_be32(p + at) : detail::read_le32(p + at);
    return true;
  }
};

}  // namespace

int exif_orientation(const uint8_t* tiff, size_t size) {
  if (tiff == nullptr) return 1;
  // Some writers (and WebP files made by some tools) keep the APP1 "Exif\0\0" prefix.
  if (size >= 6 && std::memcmp(tiff, "Exif\0\0", 6) == 0) {
    tiff += 6;
    size -= 6;
  }
  if (size < 8) return 1;
  TiffReader r{tiff, size, false};
  if (std::memcmp(tiff, "II*\0", 4) == 0) {
    r.big_endian = false;
  } else if (std::memcmp(tiff, "MM\0*", 4) == 0) {
    r.big_endian = true;
  } else {
    return 1;
  }
  // TIFF header: byte order (2), magic 42 (2), offset of IFD0 (4) from the start of the header.
  uint32_t ifd = 0;
  uint16_t count = 0;
  if (!r.u32(4, &ifd) || !r.u16(ifd, &count)) return 1;
  // IFD: entry count (2), then 12-byte entries: tag (2), type (2), value count (4), value or
  // offset (4). A SHORT value sits in the first two bytes of the value field.
  for (uint32_t i = 0; i < count; i++) {
    const size_t entry = size_t{ifd} + 2 + size_t{i} * 12;
    uint16_t tag = 0, type = 0;
    uint32_t n = 0;
    if (!r.u16(entry, &tag) || !r.u16(entry + 2, &type) || !r.u32(entry + 4, &n)) return 1;
    if (tag != kTagOrientation) continue;
    if (n != 1) return 1;
    uint32_t value = 0;
    if (type == kTypeShort) {
      uint16_t v16 = 0;
      if (!r.u16(entry + 8, &v16)) return 1;
      value = v16;
    } else if (type == kTypeLong) {  // off-spec, but unambiguous
      if (!r.u32(entry + 8, &value)) return 1;
    } else {
      return 1;
    }
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

Image image_apply_orientation(Image img, int orientation) {
  if (orientation < 2 || orientation > 8) return img;
  const int64_t w = img.width, h = img.height;
  const bool swap = orientation >= 5;
  Image out;
  out.width = swap ? img.height : img.width;
  out.height = swap ? img.width : img.height;
  out.rgb.resize(img.rgb.size());
  // Output pixel (x, y) is source pixel base + x*dx + y*dy (pixel units, row-major source).
  int64_t base = 0, dx = 1, dy = w;
  switch (orientation) {
    case 2:
      base = w - 1, dx = -1, dy = w;
      break;  // mirror left-right
    case 3:
      base = (h - 1) * w + w - 1, dx = -1, dy = -w;
      break;  // rotate 180
    case 4:
      base = (h - 1) * w, dx = 1, dy = -w;
      break;  // mirror top-bottom
    case 5:
      base = 0, dx = w, dy = 1;
      break;  // transpose
    case 6:
      base = (h - 1) * w, dx = -w, dy = 1;
      break;  // rotate 90 clockwise
    case 7:
      base = (h - 1) * w + w - 1, dx = -w, dy = -1;
      break;  // transverse
    case 8:
      base = w - 1, dx = w, dy = -1;
      break;  // rotate 90 counter-clockwise
  }
  const uint8_t* src = img.rgb.data();
  uint8_t* dst = out.rgb.data();
  for (int64_t y = 0; y < out.height; y++) {
    int64_t s = base + y * dy;
    for (int64_t x = 0; x < out.width; x++, s += dx, dst += 3) {
      std::memcpy(dst, src + s * 3, 3);
    }
  }
  return out;
}

}  // namespace morsel
