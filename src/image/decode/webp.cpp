// WebP through libwebp (lossy and lossless, still images): features, EXIF chunk (found by our
// own RIFF walk, so libwebpdemux is not needed), decode straight into the RGB8 output buffer.
// Animated WebP is UNSUPPORTED.
#include <webp/decode.h>

#include <algorithm>
#include <cstring>

#include "image/decode/codecs.h"

namespace morsel::detail {

namespace {

Status webp_status(VP8StatusCode code, const char* what) {
  switch (code) {
    case VP8_STATUS_OK:
      return Status();
    case VP8_STATUS_OUT_OF_MEMORY:
      return MORSEL_ERROR(OUT_OF_MEMORY, "out of memory decoding WebP (%s)", what);
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return MORSEL_ERROR(UNSUPPORTED, "WebP (%s) uses a feature libwebp cannot decode here", what);
    case VP8_STATUS_NOT_ENOUGH_DATA:
      return MORSEL_ERROR(INVALID_IMAGE, "truncated WebP (%s)", what);
    case VP8_STATUS_BITSTREAM_ERROR:
      return MORSEL_ERROR(INVALID_IMAGE, "corrupt WebP bitstream (%s)", what);
    case VP8_STATUS_INVALID_PARAM:
      return MORSEL_ERROR(INVALID_IMAGE, "invalid WebP data (%s)", what);
    case VP8_STATUS_SUSPENDED:
    case VP8_STATUS_USER_ABORT:
      break;
  }
  return MORSEL_ERROR(INVALID_IMAGE, "WebP decoding failed (%s, status %d)", what,
                      static_cast<int>(code));
}

}  // namespace

ByteSpan webp_find_exif(const uint8_t* data, size_t size) {
  // "RIFF" (4), payload size (4, LE, counts from offset 8), "WEBP" (4), then chunks: FourCC (4),
  // size (4, LE), data padded to an even length.
  if (size < 12) return {};
  const size_t riff_end = std::min(size, size_t{read_le32(data + 4)} + 8);
  size_t pos = 12;
  while (pos + 8 <= riff_end) {
    const size_t len = read_le32(data + pos + 4);
    if (len > riff_end - pos - 8) break;
    if (std::memcmp(data + pos, "EXIF", 4) == 0) return {data + pos + 8, len};
    pos += 8 + len + (len & 1);
  }
  return {};
}

Status webp_read_info(const uint8_t* data, size_t size, ImageInfo* info) {
  WebPBitstreamFeatures f;
  MORSEL_RETURN_IF_ERROR(webp_status(WebPGetFeatures(data, size, &f), "header"));
  info->format = ImageFormat::WEBP;
  info->width = f.width;
  info->height = f.height;
  const ByteSpan exif = webp_find_exif(data, size);
  info->orientation = exif_orientation(exif.data, exif.size);
  return Status();
}

Status webp_decode(const uint8_t* data, size_t size, const ImageInfo& info, Image* out) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return MORSEL_ERROR(INTERNAL, "libwebp version mismatch");
  MORSEL_RETURN_IF_ERROR(webp_status(WebPGetFeatures(data, size, &config.input), "header"));
  if (config.input.has_animation)
    return MORSEL_ERROR(UNSUPPORTED, "animated WebP is not supported; send a still image");
  if (config.input.width != info.width || config.input.height != info.height ||
      out->rgb.size() != size_t(info.width) * size_t(info.height) * 3)
    return MORSEL_ERROR(INTERNAL, "webp_decode: output is not sized for %dx%d", config.input.width,
                        config.input.height);
  // Decode into our buffer (MODE_RGB drops alpha, unpremultiplied); libwebp allocates no output.
  config.output.colorspace = MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = out->rgb.data();
  config.output.u.RGBA.stride = info.width * 3;
  config.output.u.RGBA.size = out->rgb.size();
  const VP8StatusCode code = WebPDecode(data, size, &config);
  WebPFreeDecBuffer(&config.output);
  return webp_status(code, "pixels");
}

}  // namespace morsel::detail
