// PNG encoding (libspng) for images the tools write, e.g. `morsel eval`'s confusion matrix.
#include <spng.h>

#include <cstdio>
#include <memory>

#include "image/decode/decode.h"

namespace morsel {

Status image_write_png(const std::string& path, const Image& img) {
  if (img.width < 1 || img.height < 1 || img.rgb.size() != size_t(img.width) * img.height * 3)
    return MORSEL_ERROR(INVALID_ARGUMENT, "image to encode is empty or inconsistent");
  std::unique_ptr<spng_ctx, void (*)(spng_ctx*)> ctx(spng_ctx_new(SPNG_CTX_ENCODER), spng_ctx_free);
  if (!ctx) return MORSEL_ERROR(OUT_OF_MEMORY, "cannot create a PNG encoder");
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr = {};
  ihdr.width = static_cast<uint32_t>(img.width);
  ihdr.height = static_cast<uint32_t>(img.height);
  ihdr.bit_depth = 8;
  ihdr.color_type = SPNG_COLOR_TYPE_TRUECOLOR;
  spng_set_ihdr(ctx.get(), &ihdr);
  int err = spng_encode_image(ctx.get(), img.rgb.data(), img.rgb.size(), SPNG_FMT_PNG,
                              SPNG_ENCODE_FINALIZE);
  if (err) return MORSEL_ERROR(INTERNAL, "PNG encoding failed: %s", spng_strerror(err));
  size_t len = 0;
  void* buf = spng_get_png_buffer(ctx.get(), &len, &err);
  if (!buf || err) return MORSEL_ERROR(INTERNAL, "PNG encoding failed: %s", spng_strerror(err));
  std::unique_ptr<void, void (*)(void*)> owned(buf, free);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot write %s", path.c_str());
  const bool ok = std::fwrite(buf, 1, len, f) == len;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return MORSEL_ERROR(IO_ERROR, "cannot write %s", path.c_str());
  return Status();
}

}  // namespace morsel
