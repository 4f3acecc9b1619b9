// PNG through libspng: IHDR, eXIf (found by our own chunk walk), decode to RGB8 for every colour
// type and bit depth (tRNS ignored: alpha is dropped, see decode.h). The spng context is owned by
// a unique_ptr so that it is freed on every path.
#include <spng.h>

#include <cstring>
#include <memory>

#include "image/decode/codecs.h"

namespace morsel::detail {

namespace {

struct SpngFree {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
using SpngCtx = std::unique_ptr<spng_ctx, SpngFree>;

// Bounds for ancillary chunks (text, ICC profiles): per chunk and in total after decompression.
constexpr size_t kMaxChunkBytes = size_t{64} << 20;
constexpr size_t kMaxChunkCacheBytes = size_t{64} << 20;

Status spng_status(int err, const char* what) {
  const StatusCode code = err == SPNG_EMEM ? StatusCode::OUT_OF_MEMORY : StatusCode::INVALID_IMAGE;
  return Status(code, str_printf("corrupt or truncated PNG (%s): %s", what, spng_strerror(err)));
}

// A decoder over `data` with its header read. Ancillary chunks with bad CRCs are dropped rather
// than failing the image (as libpng does); critical chunks must be intact.
Status open_png(const uint8_t* data, size_t size, SpngCtx* ctx, spng_ihdr* ihdr) {
  SpngCtx c(spng_ctx_new(0));
  if (!c) return MORSEL_ERROR(OUT_OF_MEMORY, "cannot create a PNG decoder");
  int err = spng_set_png_buffer(c.get(), data, size);
  if (err == 0) err = spng_set_crc_action(c.get(), SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
  if (err == 0) err = spng_set_chunk_limits(c.get(), kMaxChunkBytes, kMaxChunkCacheBytes);
  if (err != 0) return spng_status(err, "setup");
  err = spng_get_ihdr(c.get(), ihdr);
  if (err != 0) return spng_status(err, "header");
  *ctx = std::move(c);
  return Status();
}

}  // namespace

ByteSpan png_find_exif(const uint8_t* data, size_t size) {
  // Chunks after the 8-byte signature: length (4, BE, <= 2^31-1), type (4), data, CRC (4).
  size_t pos = 8;
  while (pos + 12 <= size) {
    const uint32_t len = read_be32(data + pos);
    if (len > 0x7fffffffu || len > size - pos - 12) break;
    const uint8_t* type = data + pos + 4;
    if (std::memcmp(type, "eXIf", 4) == 0) return {data + pos + 8, len};
    if (std::memcmp(type, "IEND", 4) == 0) break;
    pos += size_t{len} + 12;
  }
  return {};
}

Status png_read_info(const uint8_t* data, size_t size, ImageInfo* info) {
  SpngCtx ctx;
  spng_ihdr ihdr{};
  MORSEL_RETURN_IF_ERROR(open_png(data, size, &ctx, &ihdr));
  // spng accepts up to 2^31-1; anything past INT_MAX is out of any limit anyway.
  if (ihdr.width > 0x7fffffffu || ihdr.height > 0x7fffffffu)
    return MORSEL_ERROR(INVALID_IMAGE, "PNG header gives an impossible size %ux%u", ihdr.width,
                        ihdr.height);
  info->format = ImageFormat::PNG;
  info->width = static_cast<int>(ihdr.width);
  info->height = static_cast<int>(ihdr.height);
  const ByteSpan exif = png_find_exif(data, size);
  info->orientation = exif_orientation(exif.data, exif.size);
  return Status();
}

Status png_decode(const uint8_t* data, size_t size, const ImageInfo& info, Image* out) {
  SpngCtx ctx;
  spng_ihdr ihdr{};
  MORSEL_RETURN_IF_ERROR(open_png(data, size, &ctx, &ihdr));
  size_t len = 0;
  int err = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGB8, &len);
  if (err != 0) return spng_status(err, "size");
  if (int64_t{ihdr.width} != info.width || int64_t{ihdr.height} != info.height ||
      len != out->rgb.size())
    return MORSEL_ERROR(INTERNAL, "png_decode: output is not sized for %ux%u", ihdr.width,
                        ihdr.height);
  err = spng_decode_image(ctx.get(), out->rgb.data(), len, SPNG_FMT_RGB8, 0);
  if (err != 0) return spng_status(err, "pixels");
  return Status();
}

}  // namespace morsel::detail
