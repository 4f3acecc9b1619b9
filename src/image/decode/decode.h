// Image decoding for native builds (library morsel_image): JPEG (libturbojpeg), PNG (libspng) and
// WebP (libwebp) bytes -> an upright 8-bit RGB Image. The WASM and mobile builds leave this out
// (the browser and the phone decode images themselves) and start at preprocess().
// To add a format: a value in ImageFormat, its magic bytes in image_sniff(), and a file beside this
// one with <format>_read_info()/<format>_decode() declared in codecs.h.
//
// Every input is untrusted: all failures are Status values (never abort, never an exception), the
// size limits are checked from the header before any pixel memory is allocated, and metadata
// (EXIF) is parsed with bounds checks and ignored when malformed.
//
// Conversions, the same for every format:
//   - grayscale, gray+alpha, palette, RGBA, 16-bit and CMYK all become RGB8;
//   - alpha is DROPPED (the stored colour is kept, not composited on any background), as Pillow's
//     convert("RGB"), tf.io.decode_png(channels=3) and TF.js's fromPixels(img, 3) do, so that
//     morsel sees the same pixels as the peers it is compared against;
//   - 16-bit samples are reduced to 8 bits by libspng's conversion; PNG gamma (gAMA) and ICC
//     profiles are ignored (no colour management), like the peers;
//   - JPEG uses the accurate integer DCT and fancy upsampling (libjpeg-turbo's defaults, as in
//     browsers and Pillow); CMYK/YCCK JPEGs are converted naively (no ICC): R = C*K/255 etc. for
//     Adobe (inverted) files, R = (255-C)*(255-K)/255 otherwise;
//   - the EXIF orientation (tag 0x0112 in a JPEG APP1 "Exif" segment, a PNG eXIf chunk or a WebP
//     EXIF chunk) is applied, so the returned image is upright; width/height are after rotation;
//   - animated WebP is UNSUPPORTED; an animated PNG yields its default image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "image/preprocess.h"

namespace morsel {

enum class ImageFormat { UNKNOWN, JPEG, PNG, WEBP };

// The format named by the first bytes (JPEG FF D8 FF, PNG's 8-byte signature, RIFF....WEBP);
// UNKNOWN for anything else, including too-short input.
ImageFormat image_sniff(const uint8_t* data, size_t size);
const char* image_format_name(ImageFormat f);       // "jpeg", "png", "webp", "unknown"
const char* image_format_mime_type(ImageFormat f);  // "image/jpeg", ..., "application/octet-stream"
// The format for a Content-Type value ("image/png", "image/jpeg; q=1", "IMAGE/JPG"); UNKNOWN if
// it names none of the supported formats.
ImageFormat image_format_from_mime_type(const std::string& mime);

// Decoding refuses images larger than these (LIMIT_EXCEEDED), checked on the stored (pre-rotation)
// size read from the header. 50 Mpixel RGB is 150 MB of output.
struct DecodeLimits {
  int64_t max_width = 16384;
  int64_t max_height = 16384;
  int64_t max_pixels = 50'000'000;
};

struct ImageInfo {
  ImageFormat format = ImageFormat::UNKNOWN;
  int width = 0;  // as stored in the file, before the EXIF orientation is applied
  int height = 0;
  int orientation =
      1;  // EXIF orientation 1..8; 1 when absent or malformed. 5..8 swap width/height.
};

// Reads the header (and the metadata before the pixel data) only; decodes no pixels.
// UNSUPPORTED for formats other than JPEG/PNG/WebP, INVALID_IMAGE for corrupt headers.
Status image_read_info(const uint8_t* data, size_t size, ImageInfo* info);

// Decodes `size` bytes (format chosen by magic bytes, not by any name or MIME type) into an upright
// RGB8 image. Errors: UNSUPPORTED (GIF, BMP, animated WebP, unknown bytes), LIMIT_EXCEEDED (header
// size over `limits`), INVALID_IMAGE (truncated or corrupt data, including what libjpeg calls a
// warning), OUT_OF_MEMORY.
Result<Image> image_decode(const uint8_t* data, size_t size, const DecodeLimits& limits = {});

// Reads the file (at most 256 MiB; IO_ERROR if it cannot be read, LIMIT_EXCEEDED if larger) and
// decodes it. Error messages do not repeat the path; callers add it with with_context().
Result<Image> image_decode_file(const std::string& path, const DecodeLimits& limits = {});
constexpr int64_t kImageMaxFileBytes = int64_t{256} << 20;

// The orientation value (1..8) of an EXIF block that starts at its TIFF header ("II*\0" or
// "MM\0*"; a leading "Exif\0\0" is skipped). Returns 1 when the tag is absent, out of range, or
// the block is malformed in any way; never reads outside [tiff, tiff + size).
int exif_orientation(const uint8_t* tiff, size_t size);

// Returns `img` transformed for display according to EXIF `orientation`:
// 1 as is, 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom, 5 transpose,
// 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise. Values outside 1..8 act as 1.
// Throws std::bad_alloc if the copy cannot be allocated (image_decode turns that into a Status).
Image image_apply_orientation(Image img, int orientation);

// Encodes `img` as an 8-bit RGB PNG (libspng) and writes it to `path` (for reports such as the
// confusion matrix of `morsel eval`). IO_ERROR if the file cannot be written.
Status image_write_png(const std::string& path, const Image& img);

}  // namespace morsel
