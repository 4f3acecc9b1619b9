// JPEG through libturbojpeg (TurboJPEG 2.1 API): header, EXIF APP1 / Adobe APP14 scan, decode
// to RGB8 (CMYK/YCCK converted here). libjpeg "warnings" (truncated or corrupt entropy data) are
// errors: a truncated upload must not silently decode to a grey lower half.
#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <vector>

#include "image/decode/codecs.h"

namespace morsel::detail {

namespace {

struct TjDestroy {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDestroy>;

// What the marker segments before the first scan say: the EXIF block and whether an Adobe
// APP14 segment is present (Adobe writes CMYK inverted).
struct JpegMarkers {
  ByteSpan exif;
  bool adobe = false;
};

// Walks the marker segments from SOI up to SOS. Stops quietly at anything malformed: the
// decoder itself reports structural errors.
JpegMarkers jpeg_scan_markers(const uint8_t* data, size_t size) {
  JpegMarkers m;
  size_t pos = 2;  // after SOI
  while (pos + 2 <= size) {
    if (data[pos] != 0xFF) break;
    const uint8_t marker = data[pos + 1];
    if (marker == 0xFF) {  // fill byte
      pos++;
      continue;
    }
    pos += 2;
    if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7))
      continue;                                   // no length
    if (marker == 0xDA || marker == 0xD9) break;  // SOS / EOI: no metadata after this
    if (pos + 2 > size) break;
    const size_t len = read_be16(data + pos);  // includes its own two bytes
    if (len < 2 || len > size - pos) break;
    const uint8_t* seg = data + pos + 2;
    const size_t seg_size = len - 2;
    if (marker == 0xE1 && m.exif.data == nullptr && seg_size >= 6 &&
        std::memcmp(seg, "Exif\0\0", 6) == 0) {
      m.exif = {seg + 6, seg_size - 6};
    } else if (marker == 0xEE && seg_size >= 5 && std::memcmp(seg, "Adobe", 5) == 0) {
      m.adobe = true;
    }
    pos += len;
  }
  return m;
}

Status tj_error(void* handle, const char* what) {
  return MORSEL_ERROR(INVALID_IMAGE, "corrupt or truncated JPEG (%s): %s", what,
                      tjGetErrorStr2(handle));
}

// Creates a decompressor and reads the frame header.
Status open_jpeg(const uint8_t* data, size_t size, TjHandle* tj, int* w, int* h, int* colorspace) {
  tj->reset(tjInitDecompress());
  if (!*tj)
    return MORSEL_ERROR(OUT_OF_MEMORY, "cannot create a JPEG decoder: %s", tjGetErrorStr2(nullptr));
  int subsamp = 0;
  if (tjDecompressHeader3(tj->get(), data, static_cast<unsigned long>(size), w, h, &subsamp,
                          colorspace) != 0)
    return tj_error(tj->get(), "header");
  return Status();
}

}  // namespace

ByteSpan jpeg_find_exif(const uint8_t* data, size_t size) {
  return jpeg_scan_markers(data, size).exif;
}

Status jpeg_read_info(const uint8_t* data, size_t size, ImageInfo* info) {
  TjHandle tj;
  int w = 0, h = 0, colorspace = 0;
  MORSEL_RETURN_IF_ERROR(open_jpeg(data, size, &tj, &w, &h, &colorspace));
  info->format = ImageFormat::JPEG;
  info->width = w;
  info->height = h;
  const ByteSpan exif = jpeg_find_exif(data, size);
  info->orientation = exif_orientation(exif.data, exif.size);
  return Status();
}

Status jpeg_decode(const uint8_t* data, size_t size, const ImageInfo& info, Image* out) {
  TjHandle tj;
  int w = 0, h = 0, colorspace = 0;
  MORSEL_RETURN_IF_ERROR(open_jpeg(data, size, &tj, &w, &h, &colorspace));
  if (w != info.width || h != info.height || out->rgb.size() != size_t(w) * size_t(h) * 3)
    return MORSEL_ERROR(INTERNAL, "jpeg_decode: output is not sized for %dx%d", w, h);
  // Accurate DCT and fancy upsampling are the defaults; stop on warnings; cap progressive scans.
  const int flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;

  if (colorspace != TJCS_CMYK && colorspace != TJCS_YCCK) {
    if (tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), out->rgb.data(), w, w * 3,
                      h, TJPF_RGB, flags) != 0)
      return tj_error(tj.get(), "pixels");
    return Status();
  }

  // CMYK and YCCK decode only to CMYK. Adobe files store inverted values (255 = no ink).
  std::vector<uint8_t> cmyk(size_t(w) * size_t(h) * 4);
  if (tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), cmyk.data(), w, w * 4, h,
                    TJPF_CMYK, flags) != 0)
    return tj_error(tj.get(), "pixels");
  const bool inverted = jpeg_scan_markers(data, size).adobe;
  const size_t n = size_t(w) * size_t(h);
  const uint8_t* s = cmyk.data();
  uint8_t* d = out->rgb.data();
  for (size_t i = 0; i < n; i++, s += 4, d += 3) {
    // With ink amounts c, k in 0..255: R = (255 - c) * (255 - k) / 255 (rounded), etc.
    const int k = inverted ? s[3] : 255 - s[3];
    for (int c = 0; c < 3; c++) {
      const int v = inverted ? s[c] : 255 - s[c];
      d[c] = static_cast<uint8_t>((v * k + 127) / 255);
    }
  }
  return Status();
}

}  // namespace morsel::detail
