// Encoders and metadata splicers for the image tests (see image-test-util.h).
#include "image/image-test-util.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace morsel::test {

Image gradient_image(int w, int h) {
  return make_image(w, h, [&](int x, int y, int c) {
    if (c == 0) return 255 * x / std::max(1, w - 1);
    if (c == 1) return 255 * y / std::max(1, h - 1);
    return (x + y) * 255 / std::max(1, w + h - 2);
  });
}

Bytes encode_jpeg(const uint8_t* pixels, int w, int h, int tj_pixel_format, int subsamp,
                  int quality) {
  tjhandle tj = tjInitCompress();
  if (!tj) return {};
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  Bytes out;
  if (tjCompress2(tj, pixels, w, 0, h, tj_pixel_format, &buf, &size, subsamp, quality, 0) == 0)
    out.assign(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

Bytes encode_jpeg(const Image& img, int quality) {
  return encode_jpeg(img.rgb.data(), img.width, img.height, TJPF_RGB, TJSAMP_444, quality);
}

Bytes encode_png(const uint8_t* pixels, size_t size, int w, int h, int color_type, int bit_depth,
                 const std::vector<uint8_t>& palette, const std::vector<uint8_t>& trns_alpha,
                 bool interlaced) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  if (!ctx) return {};
  Bytes out;
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(w);
  ihdr.height = static_cast<uint32_t>(h);
  ihdr.bit_depth = static_cast<uint8_t>(bit_depth);
  ihdr.color_type = static_cast<uint8_t>(color_type);
  ihdr.interlace_method = interlaced ? SPNG_INTERLACE_ADAM7 : SPNG_INTERLACE_NONE;
  int err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  if (!err) err = spng_set_ihdr(ctx, &ihdr);
  if (!err && !palette.empty()) {
    spng_plte plte{};
    plte.n_entries = static_cast<uint32_t>(palette.size() / 3);
    for (uint32_t i = 0; i < plte.n_entries; i++) {
      plte.entries[i].red = palette[i * 3];
      plte.entries[i].green = palette[i * 3 + 1];
      plte.entries[i].blue = palette[i * 3 + 2];
    }
    err = spng_set_plte(ctx, &plte);
  }
  if (!err && !trns_alpha.empty()) {
    spng_trns trns{};
    trns.n_type3_entries = static_cast<uint32_t>(trns_alpha.size());
    std::memcpy(trns.type3_alpha, trns_alpha.data(), trns_alpha.size());
    err = spng_set_trns(ctx, &trns);
  }
  if (!err) err = spng_encode_image(ctx, pixels, size, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  if (!err) {
    size_t len = 0;
    void* buf = spng_get_png_buffer(ctx, &len, &err);
    if (buf && !err) out.assign(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + len);
    std::free(buf);
  }
  spng_ctx_free(ctx);
  return out;
}

Bytes encode_png(const Image& img) {
  return encode_png(img.rgb.data(), img.rgb.size(), img.width, img.height,
                    SPNG_COLOR_TYPE_TRUECOLOR, 8);
}

Bytes encode_webp_lossless(const uint8_t* pixels, int w, int h, int channels) {
  uint8_t* buf = nullptr;
  const size_t n = channels == 4 ? WebPEncodeLosslessRGBA(pixels, w, h, w * 4, &buf)
                                 : WebPEncodeLosslessRGB(pixels, w, h, w * 3, &buf);
  Bytes out(buf, buf + n);
  WebPFree(buf);
  return out;
}

Bytes encode_webp_lossless(const Image& img) {
  return encode_webp_lossless(img.rgb.data(), img.width, img.height, 3);
}

Bytes encode_webp_lossy(const Image& img, float quality) {
  uint8_t* buf = nullptr;
  const size_t n =
      WebPEncodeRGB(img.rgb.data(), img.width, img.height, img.width * 3, quality, &buf);
  Bytes out(buf, buf + n);
  WebPFree(buf);
  return out;
}

namespace {
void put16(Bytes* b, uint16_t v, bool be) {
  if (be) {
    b->push_back(uint8_t(v >> 8));
    b->push_back(uint8_t(v));
  } else {
    b->push_back(uint8_t(v));
    b->push_back(uint8_t(v >> 8));
  }
}
void put32(Bytes* b, uint32_t v, bool be) {
  if (be) {
    put_be32(b, v);
  } else {
    put_le32(b, v);
  }
}
}  // namespace

void put_be32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(uint8_t(v >> s));
}
void put_le32(Bytes* b, uint32_t v) {
  for (int s = 0; s <= 24; s += 8) b->push_back(uint8_t(v >> s));
}

Bytes make_exif(int orientation, bool be) {
  Bytes b;
  const char* order = be ? "MM" : "II";
  b.insert(b.end(), order, order + 2);
  put16(&b, 42, be);
  put32(&b, 8, be);  // IFD0 right after the header
  put16(&b, 2, be);  // two entries
  // Make (0x010F), ASCII, 4 bytes inline: "ab\0\0"
  put16(&b, 0x010F, be);
  put16(&b, 2, be);
  put32(&b, 4, be);
  b.insert(b.end(), {'a', 'b', 0, 0});
  // Orientation (0x0112), SHORT, 1 value, left-justified in the 4-byte field
  put16(&b, 0x0112, be);
  put16(&b, 3, be);
  put32(&b, 1, be);
  put16(&b, static_cast<uint16_t>(orientation), be);
  put16(&b, 0, be);
  put32(&b, 0, be);  // no next IFD
  return b;
}

Bytes jpeg_with_exif(const Bytes& jpeg, const Bytes& tiff) {
  Bytes out(jpeg.begin(), jpeg.begin() + 2);  // SOI
  const size_t len = 2 + 6 + tiff.size();
  out.insert(out.end(), {0xFF, 0xE1, uint8_t(len >> 8), uint8_t(len)});
  out.insert(out.end(), {'E', 'x', 'i', 'f', 0, 0});
  out.insert(out.end(), tiff.begin(), tiff.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < size; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

Bytes png_with_chunk(const Bytes& png, const char type[4], const Bytes& data) {
  const size_t after_ihdr = 8 + 12 + 13;
  Bytes chunk;
  put_be32(&chunk, static_cast<uint32_t>(data.size()));
  chunk.insert(chunk.end(), type, type + 4);
  chunk.insert(chunk.end(), data.begin(), data.end());
  put_be32(&chunk, crc32(chunk.data() + 4, chunk.size() - 4));
  Bytes out(png.begin(), png.begin() + after_ihdr);
  out.insert(out.end(), chunk.begin(), chunk.end());
  out.insert(out.end(), png.begin() + after_ihdr, png.end());
  return out;
}

Bytes webp_with_exif(const Bytes& webp, int w, int h, const Bytes& tiff) {
  Bytes out = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};
  // VP8X: flags (EXIF = 0x08), 3 reserved bytes, canvas width-1 and height-1 (24-bit LE each).
  out.insert(out.end(), {'V', 'P', '8', 'X', 10, 0, 0, 0, 0x08, 0, 0, 0});
  for (uint32_t v : {uint32_t(w - 1), uint32_t(h - 1)})
    out.insert(out.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16)});
  out.insert(out.end(), webp.begin() + 12, webp.end());  // the VP8/VP8L chunk
  out.insert(out.end(), {'E', 'X', 'I', 'F'});
  put_le32(&out, static_cast<uint32_t>(tiff.size()));
  out.insert(out.end(), tiff.begin(), tiff.end());
  if (tiff.size() & 1) out.push_back(0);
  const uint32_t riff = static_cast<uint32_t>(out.size() - 8);
  for (int i = 0; i < 4; i++) out[4 + i] = uint8_t(riff >> (8 * i));
  return out;
}

int max_abs_diff(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size()) return 256;
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); i++)
    m = std::max(m, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return m;
}

}  // namespace morsel::test
