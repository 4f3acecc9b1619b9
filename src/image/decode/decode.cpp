// image_decode(): format sniffing, limit checks, allocation and orientation, shared by all
// formats; the format-specific work is in jpeg.cpp, png.cpp and webp.cpp (see codecs.h).
#include "image/decode/decode.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "image/decode/codecs.h"

namespace morsel {

namespace {

bool starts_with(const uint8_t* data, size_t size, size_t at, const char* magic, size_t n) {
  return size >= at + n && std::memcmp(data + at, magic, n) == 0;
}

// Names formats we recognize but do not decode, for the UNSUPPORTED message.
std::string describe_unsupported(const uint8_t* data, size_t size) {
  struct Magic {
    size_t at;
    const char* bytes;
    size_t n;
    const char* name;
  };
  static const Magic kMagics[] = {
      {0, "GIF87a", 6, "GIF"},
      {0, "GIF89a", 6, "GIF"},
      {0, "BM", 2, "BMP"},
      {0, "II*\0", 4, "TIFF"},
      {0, "MM\0*", 4, "TIFF"},
      {4, "ftypavif", 8, "AVIF"},
      {4, "ftypavis", 8, "AVIF"},
      {4, "ftypheic", 8, "HEIC"},
      {4, "ftypheix", 8, "HEIC"},
      {4, "ftypmif1", 8, "HEIF"},
      {4, "ftypmsf1", 8, "HEIF"},
      {0, "\xff\x0a", 2, "JPEG XL"},
      {0, "\0\0\0\x0cJXL \r\n\x87\n", 12, "JPEG XL"},
      {0, "\0\0\1\0", 4, "ICO"},
      {0, "8BPS", 4, "PSD"},
      {0, "qoif", 4, "QOI"},
      {0, "%PDF", 4, "PDF"},
      {0, "<svg", 4, "SVG"},
      {0, "<?xml", 5, "XML/SVG"},
      {0, "RIFF", 4, "RIFF (not WebP)"},
  };
  for (const Magic& m : kMagics) {
    if (starts_with(data, size, m.at, m.bytes, m.n)) return std::string(m.name) + " data";
  }
  std::string hex;
  for (size_t i = 0; i < size && i < 8; i++) hex += str_printf("%s%02x", i ? " " : "", data[i]);
  return "data of unknown format (first bytes: " + hex + ")";
}

// The format whose signature `data` is a proper prefix of (the file was cut inside it), or null.
const char* truncated_signature(const uint8_t* data, size_t size) {
  struct Sig {
    const char* bytes;
    size_t n;
    const char* name;
  };
  static const Sig kSigs[] = {
      {"\xff\xd8\xff", 3, "JPEG"}, {"\x89PNG\r\n\x1a\n", 8, "PNG"}, {"RIFF", 4, "WebP"}};
  for (const Sig& s : kSigs) {
    if (size < s.n && std::memcmp(data, s.bytes, size) == 0) return s.name;
  }
  // "RIFF" + size, cut before "WEBP".
  if (size > 4 && size < 12 && std::memcmp(data, "RIFF", 4) == 0) return "WebP";
  return nullptr;
}

Status check_limits(const ImageInfo& info, const DecodeLimits& limits) {
  const char* fmt = image_format_name(info.format);
  if (info.width < 1 || info.height < 1)
    return MORSEL_ERROR(INVALID_IMAGE, "%s header gives an empty image (%dx%d)", fmt, info.width,
                        info.height);
  if (info.width > limits.max_width || info.height > limits.max_height)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%s image is %dx%d pixels; the limit is %lldx%lld", fmt,
                        info.width, info.height, static_cast<long long>(limits.max_width),
                        static_cast<long long>(limits.max_height));
  const int64_t pixels = int64_t{info.width} * info.height;
  if (pixels > limits.max_pixels)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%s image is %dx%d = %lld pixels; the limit is %lld pixels",
                        fmt, info.width, info.height, static_cast<long long>(pixels),
                        static_cast<long long>(limits.max_pixels));
  return Status();
}

Status check_input(const uint8_t* data, size_t size) {
  if (size == 0) return MORSEL_ERROR(INVALID_IMAGE, "image data is empty (0 bytes)");
  if (data == nullptr)
    return MORSEL_ERROR(INVALID_ARGUMENT, "image data is null but size is %zu", size);
  return Status();
}

}  // namespace

ImageFormat image_sniff(const uint8_t* data, size_t size) {
  if (data == nullptr) return ImageFormat::UNKNOWN;
  if (starts_with(data, size, 0, "\xff\xd8\xff", 3)) return ImageFormat::JPEG;
  if (starts_with(data, size, 0, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::PNG;
  if (starts_with(data, size, 0, "RIFF", 4) && starts_with(data, size, 8, "WEBP", 4))
    return ImageFormat::WEBP;
  return ImageFormat::UNKNOWN;
}

const char* image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::JPEG:
      return "jpeg";
    case ImageFormat::PNG:
      return "png";
    case ImageFormat::WEBP:
      return "webp";
    case ImageFormat::UNKNOWN:
      break;
  }
  return "unknown";
}

const char* image_format_mime_type(ImageFormat f) {
  switch (f) {
    case ImageFormat::JPEG:
      return "image/jpeg";
    case ImageFormat::PNG:
      return "image/png";
    case ImageFormat::WEBP:
      return "image/webp";
    case ImageFormat::UNKNOWN:
      break;
  }
  return "application/octet-stream";
}

ImageFormat image_format_from_mime_type(const std::string& mime) {
  std::string t;
  for (char c : mime) {
    if (c == ';') break;
    if (c != ' ' && c != '\t') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (t == "image/jpeg" || t == "image/jpg" || t == "image/pjpeg") return ImageFormat::JPEG;
  if (t == "image/png" || t == "image/x-png") return ImageFormat::PNG;
  if (t == "image/webp") return ImageFormat::WEBP;
  return ImageFormat::UNKNOWN;
}

Status image_read_info(const uint8_t* data, size_t size, ImageInfo* info) {
  MORSEL_RETURN_IF_ERROR(check_input(data, size));
  ImageInfo out;
  out.format = image_sniff(data, size);
  switch (out.format) {
    case ImageFormat::JPEG:
      MORSEL_RETURN_IF_ERROR(detail::jpeg_read_info(data, size, &out));
      break;
    case ImageFormat::PNG:
      MORSEL_RETURN_IF_ERROR(detail::png_read_info(data, size, &out));
      break;
    case ImageFormat::WEBP:
      MORSEL_RETURN_IF_ERROR(detail::webp_read_info(data, size, &out));
      break;
    case ImageFormat::UNKNOWN:
      if (const char* fmt = truncated_signature(data, size))
        return MORSEL_ERROR(INVALID_IMAGE, "truncated %s data (only %zu bytes)", fmt, size);
      return MORSEL_ERROR(UNSUPPORTED, "cannot decode %s; supported formats are JPEG, PNG and WebP",
                          describe_unsupported(data, size).c_str());
  }
  *info = out;
  return Status();
}

Result<Image> image_decode(const uint8_t* data, size_t size, const DecodeLimits& limits) {
  ImageInfo info;
  MORSEL_RETURN_IF_ERROR(image_read_info(data, size, &info));
  MORSEL_RETURN_IF_ERROR(check_limits(info, limits));
  try {
    Image img;
    img.width = info.width;
    img.height = info.height;
    img.rgb.resize(static_cast<size_t>(info.width) * static_cast<size_t>(info.height) * 3);
    switch (info.format) {
      case ImageFormat::JPEG:
        MORSEL_RETURN_IF_ERROR(detail::jpeg_decode(data, size, info, &img));
        break;
      case ImageFormat::PNG:
        MORSEL_RETURN_IF_ERROR(detail::png_decode(data, size, info, &img));
        break;
      case ImageFormat::WEBP:
        MORSEL_RETURN_IF_ERROR(detail::webp_decode(data, size, info, &img));
        break;
      case ImageFormat::UNKNOWN:
        return MORSEL_ERROR(INTERNAL, "image_decode: unknown format after sniffing");
    }
    return image_apply_orientation(std::move(img), info.orientation);
  } catch (const std::bad_alloc&) {
    return MORSEL_ERROR(OUT_OF_MEMORY, "out of memory decoding a %dx%d %s image", info.width,
                        info.height, image_format_name(info.format));
  }
}

Result<Image> image_decode_file(const std::string& path, const DecodeLimits& limits) {
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open image file: %s", std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0)
    return MORSEL_ERROR(IO_ERROR, "cannot stat image file: %s", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return MORSEL_ERROR(IO_ERROR, "not a regular file");
  if (st.st_size > kImageMaxFileBytes)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "image file is %lld bytes; the limit is %lld bytes",
                        static_cast<long long>(st.st_size),
                        static_cast<long long>(kImageMaxFileBytes));
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(static_cast<size_t>(st.st_size));
  } catch (const std::bad_alloc&) {
    return MORSEL_ERROR(OUT_OF_MEMORY, "out of memory reading a %lld-byte image file",
                        static_cast<long long>(st.st_size));
  }
  if (!bytes.empty() && std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    return MORSEL_ERROR(IO_ERROR, "cannot read image file: %s",
                        std::ferror(f.get()) ? std::strerror(errno) : "file shrank while reading");
  return image_decode(bytes.data(), bytes.size(), limits);
}

}  // namespace morsel
