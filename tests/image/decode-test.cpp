// Decoder tests: each format round-trips known pixels (exact for lossless), every colour type is
// converted to RGB8, and broken, truncated, oversized and foreign inputs fail with the right code.
#include <gtest/gtest.h>
#include <spng.h>
#include <turbojpeg.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "image/decode/decode.h"
#include "image/image-test-util.h"

namespace morsel {
namespace {

using test::Bytes;

Result<Image> decode(const Bytes& b, const DecodeLimits& limits = {}) {
  return image_decode(b.data(), b.size(), limits);
}

// ---- sniffing and names ----

TEST(ImageSniff, MagicBytes) {
  const Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xE0};
  const Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  const Bytes webp = {'R', 'I', 'F', 'F', 1, 2, 3, 4, 'W', 'E', 'B', 'P'};
  const Bytes riff_wav = {'R', 'I', 'F', 'F', 1, 2, 3, 4, 'W', 'A', 'V', 'E'};
  EXPECT_EQ(image_sniff(jpeg.data(), jpeg.size()), ImageFormat::JPEG);
  EXPECT_EQ(image_sniff(png.data(), png.size()), ImageFormat::PNG);
  EXPECT_EQ(image_sniff(webp.data(), webp.size()), ImageFormat::WEBP);
  EXPECT_EQ(image_sniff(riff_wav.data(), riff_wav.size()), ImageFormat::UNKNOWN);
  EXPECT_EQ(image_sniff(png.data(), 7), ImageFormat::UNKNOWN);  // too short
  EXPECT_EQ(image_sniff(jpeg.data(), 2), ImageFormat::UNKNOWN);
  EXPECT_EQ(image_sniff(nullptr, 0), ImageFormat::UNKNOWN);
}

TEST(ImageSniff, NamesAndMimeTypes) {
  EXPECT_STREQ(image_format_name(ImageFormat::JPEG), "jpeg");
  EXPECT_STREQ(image_format_name(ImageFormat::PNG), "png");
  EXPECT_STREQ(image_format_name(ImageFormat::WEBP), "webp");
  EXPECT_STREQ(image_format_name(ImageFormat::UNKNOWN), "unknown");
  EXPECT_STREQ(image_format_mime_type(ImageFormat::JPEG), "image/jpeg");
  EXPECT_STREQ(image_format_mime_type(ImageFormat::PNG), "image/png");
  EXPECT_STREQ(image_format_mime_type(ImageFormat::WEBP), "image/webp");
  EXPECT_STREQ(image_format_mime_type(ImageFormat::UNKNOWN), "application/octet-stream");
  EXPECT_EQ(image_format_from_mime_type("image/jpeg"), ImageFormat::JPEG);
  EXPECT_EQ(image_format_from_mime_type("IMAGE/JPG"), ImageFormat::JPEG);
  EXPECT_EQ(image_format_from_mime_type("image/png; charset=binary"), ImageFormat::PNG);
  EXPECT_EQ(image_format_from_mime_type("image/webp"), ImageFormat::WEBP);
  EXPECT_EQ(image_format_from_mime_type("image/gif"), ImageFormat::UNKNOWN);
  EXPECT_EQ(image_format_from_mime_type(""), ImageFormat::UNKNOWN);
}

// ---- JPEG ----

TEST(DecodeJpeg, RgbWithinTolerance) {
  const Image src = test::gradient_image(37, 23);  // odd sizes: partial MCUs
  const Bytes jpeg = test::encode_jpeg(src, 95);
  ASSERT_FALSE(jpeg.empty());
  auto img = decode(jpeg);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(img->width, 37);
  EXPECT_EQ(img->height, 23);
  EXPECT_LE(test::max_abs_diff(*img, src), 6);
}

TEST(DecodeJpeg, Subsampled420) {
  const Image src = test::gradient_image(33, 17);
  const Bytes jpeg = test::encode_jpeg(src.rgb.data(), 33, 17, TJPF_RGB, TJSAMP_420, 95);
  auto img = decode(jpeg);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(img->width, 33);
  EXPECT_EQ(img->height, 17);
  EXPECT_LE(test::max_abs_diff(*img, src), 12);
}

TEST(DecodeJpeg, GrayscaleBecomesRgb) {
  std::vector<uint8_t> gray(16 * 8);
  for (size_t i = 0; i < gray.size(); i++) gray[i] = static_cast<uint8_t>(i * 2);
  const Bytes jpeg = test::encode_jpeg(gray.data(), 16, 8, TJPF_GRAY, TJSAMP_GRAY, 100);
  auto img = decode(jpeg);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  ASSERT_EQ(img->rgb.size(), 16u * 8 * 3);
  for (size_t i = 0; i < gray.size(); i++) {
    EXPECT_EQ(img->rgb[i * 3], img->rgb[i * 3 + 1]);
    EXPECT_EQ(img->rgb[i * 3], img->rgb[i * 3 + 2]);
    EXPECT_NEAR(img->rgb[i * 3], gray[i], 3) << "pixel " << i;
  }
}

TEST(DecodeJpeg, AdobeCmykBecomesRgb) {
  // libjpeg-turbo writes an Adobe APP14 marker for CMYK, so the stored values are read as
  // inverted (Photoshop convention): R = C'*K'/255. With K' = 255, R = C', so storing (R,G,B,255)
  // must decode back to about (R,G,B).
  const Image src = test::gradient_image(16, 16);
  std::vector<uint8_t> cmyk(16 * 16 * 4);
  for (size_t i = 0; i < 16 * 16; i++) {
    for (int c = 0; c < 3; c++) cmyk[i * 4 + c] = src.rgb[i * 3 + c];
    cmyk[i * 4 + 3] = 255;
  }
  const Bytes jpeg = test::encode_jpeg(cmyk.data(), 16, 16, TJPF_CMYK, TJSAMP_444, 100);
  ASSERT_FALSE(jpeg.empty());
  auto img = decode(jpeg);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_LE(test::max_abs_diff(*img, src), 4);

  // Half the black ink (K' = 128) halves every channel.
  for (size_t i = 0; i < 16 * 16; i++) cmyk[i * 4 + 3] = 128;
  auto dark = decode(test::encode_jpeg(cmyk.data(), 16, 16, TJPF_CMYK, TJSAMP_444, 100));
  ASSERT_TRUE(dark.ok()) << dark.status().to_string();
  for (size_t i = 0; i < src.rgb.size(); i++)
    EXPECT_NEAR(dark->rgb[i], src.rgb[i] * 128 / 255, 4) << i;
}

TEST(DecodeJpeg, TruncatedIsInvalidImage) {
  const Bytes jpeg = test::encode_jpeg(test::gradient_image(64, 64), 90);
  for (double frac : {0.1, 0.5, 0.9}) {
    Bytes cut(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() * frac));
    auto img = decode(cut);
    ASSERT_FALSE(img.ok()) << "cut at " << frac;
    EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
  }
  // Only the EOI marker missing: libjpeg calls this a warning; morsel makes it an error.
  Bytes no_eoi(jpeg.begin(), jpeg.end() - 2);
  auto img = decode(no_eoi);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
}

TEST(DecodeJpeg, HugeHeaderIsLimitExceededBeforeDecoding) {
  Bytes jpeg = test::encode_jpeg(test::gradient_image(16, 16), 90);
  // Patch the SOF0 frame size to 60000 x 50000 (3 Gpixel): height at +5, width at +7.
  size_t sof = 0;
  for (size_t i = 2; i + 9 < jpeg.size(); i++) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      sof = i;
      break;
    }
  }
  ASSERT_NE(sof, 0u);
  jpeg[sof + 5] = 50000 >> 8, jpeg[sof + 6] = 50000 & 0xFF;
  jpeg[sof + 7] = 60000 >> 8, jpeg[sof + 8] = 60000 & 0xFF;
  const auto t0 = std::chrono::steady_clock::now();
  auto img = decode(jpeg);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::LIMIT_EXCEEDED);
  EXPECT_NE(img.status().message().find("60000x50000"), std::string::npos)
      << img.status().message();
  EXPECT_LT(ms, 500.0);
}

// ---- PNG ----

TEST(DecodePng, RgbExact) {
  const Image src = test::gradient_image(31, 19);
  auto img = decode(test::encode_png(src));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
}

TEST(DecodePng, InterlacedExact) {
  const Image src = test::gradient_image(13, 11);
  const Bytes png =
      test::encode_png(src.rgb.data(), src.rgb.size(), 13, 11, SPNG_COLOR_TYPE_TRUECOLOR, 8, {}, {},
                       /*interlaced=*/true);
  ASSERT_FALSE(png.empty());
  auto img = decode(png);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
}

TEST(DecodePng, RgbaDropsAlphaKeepingColour) {
  // Alpha 0 pixels keep their stored colour: alpha is dropped, not composited.
  const Image src = test::gradient_image(8, 5);
  std::vector<uint8_t> rgba;
  for (size_t i = 0; i < 8 * 5; i++) {
    rgba.insert(rgba.end(),
                {src.rgb[i * 3], src.rgb[i * 3 + 1], src.rgb[i * 3 + 2], uint8_t(i * 7)});
  }
  auto img =
      decode(test::encode_png(rgba.data(), rgba.size(), 8, 5, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
}

TEST(DecodePng, GrayAndGrayAlpha) {
  std::vector<uint8_t> gray(6 * 4), gray_alpha;
  for (size_t i = 0; i < gray.size(); i++) {
    gray[i] = uint8_t(i * 11);
    gray_alpha.insert(gray_alpha.end(), {gray[i], uint8_t(255 - i)});
  }
  const Image expect =
      test::make_image(6, 4, [&](int x, int y, int) { return gray[size_t(y) * 6 + x]; });
  auto g = decode(test::encode_png(gray.data(), gray.size(), 6, 4, SPNG_COLOR_TYPE_GRAYSCALE, 8));
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*g, expect), 0);
  auto ga = decode(test::encode_png(gray_alpha.data(), gray_alpha.size(), 6, 4,
                                    SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8));
  ASSERT_TRUE(ga.ok()) << ga.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*ga, expect), 0);
}

TEST(DecodePng, OneBitGrayScalesTo255) {
  // 8x2, 1 bit per pixel: row 0 = 10101010, row 1 = 11110000.
  const std::vector<uint8_t> bits = {0xAA, 0xF0};
  auto img = decode(test::encode_png(bits.data(), bits.size(), 8, 2, SPNG_COLOR_TYPE_GRAYSCALE, 1));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  const Image expect = test::make_image(
      8, 2, [&](int x, int y, int) { return (bits[size_t(y)] >> (7 - x)) & 1 ? 255 : 0; });
  EXPECT_EQ(test::max_abs_diff(*img, expect), 0);
}

TEST(DecodePng, PaletteWithTransparencyIgnoresAlpha) {
  const std::vector<uint8_t> palette = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  const std::vector<uint8_t> trns = {0, 128, 255, 7};
  std::vector<uint8_t> idx(5 * 3);
  for (size_t i = 0; i < idx.size(); i++) idx[i] = uint8_t(i % 4);
  auto img = decode(
      test::encode_png(idx.data(), idx.size(), 5, 3, SPNG_COLOR_TYPE_INDEXED, 8, palette, trns));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  const Image expect = test::make_image(
      5, 3, [&](int x, int y, int c) { return palette[idx[size_t(y) * 5 + x] * 3 + c]; });
  EXPECT_EQ(test::max_abs_diff(*img, expect), 0);
}

TEST(DecodePng, SixteenBitRgbAndGray) {
  // v * 257 has equal high and low bytes, so the expected 8-bit value is v whatever the rounding.
  const Image src = test::gradient_image(7, 3);
  std::vector<uint8_t> rgb16, gray16;
  for (size_t i = 0; i < src.rgb.size(); i++) rgb16.insert(rgb16.end(), {src.rgb[i], src.rgb[i]});
  for (size_t i = 0; i < 7 * 3; i++) gray16.insert(gray16.end(), {src.rgb[i * 3], src.rgb[i * 3]});
  auto img =
      decode(test::encode_png(rgb16.data(), rgb16.size(), 7, 3, SPNG_COLOR_TYPE_TRUECOLOR, 16));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
  auto g =
      decode(test::encode_png(gray16.data(), gray16.size(), 7, 3, SPNG_COLOR_TYPE_GRAYSCALE, 16));
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  const Image expect =
      test::make_image(7, 3, [&](int x, int y, int) { return src.rgb[(size_t(y) * 7 + x) * 3]; });
  EXPECT_EQ(test::max_abs_diff(*g, expect), 0);
}

TEST(DecodePng, TruncatedIsInvalidImage) {
  const Bytes png = test::encode_png(test::gradient_image(64, 64));
  for (double frac : {0.02, 0.3, 0.6, 0.95}) {
    Bytes cut(png.begin(), png.begin() + static_cast<long>(png.size() * frac));
    auto img = decode(cut);
    ASSERT_FALSE(img.ok()) << "cut at " << frac;
    EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
  }
}

TEST(DecodePng, CorruptCriticalCrcIsInvalidImage) {
  Bytes png = test::encode_png(test::gradient_image(8, 8));
  png[8 + 8 + 13] ^= 0x55;  // IHDR's CRC
  auto img = decode(png);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
}

Bytes png_header_only(uint32_t w, uint32_t h) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr = {'I', 'H', 'D', 'R'};
  test::put_be32(&ihdr, w);
  test::put_be32(&ihdr, h);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, adaptive filter, no interlace
  test::put_be32(&png, 13);
  png.insert(png.end(), ihdr.begin(), ihdr.end());
  test::put_be32(&png, test::crc32(ihdr.data(), ihdr.size()));
  // An empty IDAT and IEND, so the file is complete apart from its pixels.
  for (const char* type : {"IDAT", "IEND"}) {
    test::put_be32(&png, 0);
    png.insert(png.end(), type, type + 4);
    test::put_be32(&png, test::crc32(reinterpret_cast<const uint8_t*>(type), 4));
  }
  return png;
}

TEST(DecodePng, HugeHeaderFailsFastWithoutAllocating) {
  const Bytes png = png_header_only(100000, 100000);  // 30 GB of RGB if anyone allocated it
  const auto t0 = std::chrono::steady_clock::now();
  auto img = decode(png);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::LIMIT_EXCEEDED);
  EXPECT_NE(img.status().message().find("100000x100000"), std::string::npos)
      << img.status().message();
  EXPECT_NE(img.status().message().find("16384x16384"), std::string::npos)
      << img.status().message();
  EXPECT_LT(ms, 100.0);

  ImageInfo info;
  ASSERT_TRUE(image_read_info(png.data(), png.size(), &info).ok());
  EXPECT_EQ(info.width, 100000);
  EXPECT_EQ(info.height, 100000);
}

TEST(DecodePng, PixelLimitIsChecked) {
  const Bytes png = png_header_only(10000, 10000);  // within 16384 per side, over 50 Mpixel
  auto img = decode(png);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::LIMIT_EXCEEDED);
  EXPECT_NE(img.status().message().find("100000000 pixels"), std::string::npos)
      << img.status().message();
}

TEST(DecodePng, EmptyIdatIsInvalidImage) {
  auto img = decode(png_header_only(4, 4));
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
}

// ---- WebP ----

TEST(DecodeWebp, LosslessExact) {
  const Image src = test::gradient_image(29, 17);
  auto img = decode(test::encode_webp_lossless(src));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
}

TEST(DecodeWebp, LosslessRgbaDropsAlpha) {
  const Image src = test::gradient_image(9, 6);
  std::vector<uint8_t> rgba;
  for (size_t i = 0; i < 9 * 6; i++)  // alpha >= 1: the encoder may rewrite colour under alpha 0
    rgba.insert(rgba.end(),
                {src.rgb[i * 3], src.rgb[i * 3 + 1], src.rgb[i * 3 + 2], uint8_t(1 + i * 4)});
  auto img = decode(test::encode_webp_lossless(rgba.data(), 9, 6, 4));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
}

TEST(DecodeWebp, LossyWithinTolerance) {
  const Image src = test::gradient_image(48, 32);
  auto img = decode(test::encode_webp_lossy(src, 95));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  double sum = 0;
  for (size_t i = 0; i < src.rgb.size(); i++) sum += std::abs(int(img->rgb[i]) - int(src.rgb[i]));
  EXPECT_LT(sum / double(src.rgb.size()), 4.0);
  EXPECT_LE(test::max_abs_diff(*img, src), 40);
}

TEST(DecodeWebp, TruncatedIsInvalidImage) {
  for (const Bytes& webp : {test::encode_webp_lossless(test::gradient_image(64, 64)),
                            test::encode_webp_lossy(test::gradient_image(64, 64), 90)}) {
    for (double frac : {0.2, 0.5, 0.9}) {
      Bytes cut(webp.begin(), webp.begin() + static_cast<long>(webp.size() * frac));
      auto img = decode(cut);
      ASSERT_FALSE(img.ok()) << "cut at " << frac;
      EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
    }
  }
}

TEST(DecodeWebp, LimitsUseTheHeader) {
  const Bytes webp = test::encode_webp_lossless(test::gradient_image(40, 30));
  DecodeLimits limits;
  limits.max_width = 39;
  auto img = decode(webp, limits);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::LIMIT_EXCEEDED);
  EXPECT_NE(img.status().message().find("40x30"), std::string::npos) << img.status().message();
  limits = {};
  limits.max_pixels = 40 * 30 - 1;
  EXPECT_EQ(decode(webp, limits).status().code(), StatusCode::LIMIT_EXCEEDED);
  limits.max_pixels = 40 * 30;
  EXPECT_TRUE(decode(webp, limits).ok());
}

TEST(DecodeWebp, AnimatedIsUnsupported) {
  // VP8X (animation flag 0x02) + ANIM + one ANMF frame wrapping a lossless 4x3 bitstream.
  const Bytes still = test::encode_webp_lossless(test::gradient_image(4, 3));
  const Bytes frame_chunk(still.begin() + 12, still.end());  // "VP8L" + size + data
  Bytes webp = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};
  webp.insert(webp.end(), {'V', 'P', '8', 'X', 10, 0, 0, 0, 0x02, 0, 0, 0, 3, 0, 0, 2, 0, 0});
  webp.insert(webp.end(), {'A', 'N', 'I', 'M', 6, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  webp.insert(webp.end(), {'A', 'N', 'M', 'F'});
  test::put_le32(&webp, static_cast<uint32_t>(16 + frame_chunk.size()));
  webp.insert(webp.end(), {0, 0, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 100, 0, 0, 0});
  webp.insert(webp.end(), frame_chunk.begin(), frame_chunk.end());
  const uint32_t riff = static_cast<uint32_t>(webp.size() - 8);
  for (int i = 0; i < 4; i++) webp[4 + size_t(i)] = uint8_t(riff >> (8 * i));

  ImageInfo info;
  ASSERT_TRUE(image_read_info(webp.data(), webp.size(), &info).ok());
  EXPECT_EQ(info.width, 4);
  EXPECT_EQ(info.height, 3);
  auto img = decode(webp);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::UNSUPPORTED) << img.status().to_string();
  EXPECT_NE(img.status().message().find("animated"), std::string::npos) << img.status().message();
}

// ---- foreign and broken input ----

TEST(DecodeErrors, EmptyAndNull) {
  auto img = image_decode(nullptr, 0);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE);
  EXPECT_NE(img.status().message().find("empty"), std::string::npos);
  const uint8_t byte = 0;
  EXPECT_EQ(image_decode(&byte, 0).status().code(), StatusCode::INVALID_IMAGE);
  EXPECT_EQ(image_decode(nullptr, 10).status().code(), StatusCode::INVALID_ARGUMENT);
  // A cut inside the signature is a truncated file, not a foreign format.
  const uint8_t png_prefix[] = {0x89, 'P', 'N'};
  auto cut = image_decode(png_prefix, sizeof png_prefix);
  EXPECT_EQ(cut.status().code(), StatusCode::INVALID_IMAGE);
  EXPECT_NE(cut.status().message().find("truncated PNG"), std::string::npos)
      << cut.status().message();
  ImageInfo info;
  EXPECT_EQ(image_read_info(nullptr, 0, &info).code(), StatusCode::INVALID_IMAGE);
}

TEST(DecodeErrors, GifAndBmpAreUnsupported) {
  const Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
  const Bytes bmp = {'B', 'M', 0x3A, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0};
  auto g = decode(gif);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::UNSUPPORTED);
  EXPECT_NE(g.status().message().find("GIF"), std::string::npos) << g.status().message();
  auto b = decode(bmp);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::UNSUPPORTED);
  EXPECT_NE(b.status().message().find("BMP"), std::string::npos) << b.status().message();
}

TEST(DecodeErrors, RandomGarbage) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 50; trial++) {
    Bytes junk(1 + rng() % 2000);
    for (uint8_t& v : junk) v = static_cast<uint8_t>(rng());
    if (image_sniff(junk.data(), junk.size()) != ImageFormat::UNKNOWN) continue;
    auto img = decode(junk);
    ASSERT_FALSE(img.ok());
    EXPECT_EQ(img.status().code(), StatusCode::UNSUPPORTED);
    EXPECT_NE(img.status().message().find("unknown format"), std::string::npos)
        << img.status().message();
  }
}

TEST(DecodeErrors, RightMagicThenGarbageIsInvalidImage) {
  std::mt19937 rng(99);
  const Bytes magics[] = {{0xFF, 0xD8, 0xFF},
                          {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
                          {'R', 'I', 'F', 'F', 0, 1, 0, 0, 'W', 'E', 'B', 'P'}};
  for (const Bytes& magic : magics) {
    for (int trial = 0; trial < 20; trial++) {
      Bytes b = magic;
      for (int i = 0; i < 500; i++) b.push_back(static_cast<uint8_t>(rng()));
      auto img = decode(b);
      ASSERT_FALSE(img.ok());
      EXPECT_EQ(img.status().code(), StatusCode::INVALID_IMAGE) << img.status().to_string();
    }
  }
}

TEST(DecodeErrors, CorruptedBytesNeverCrash) {
  // Flip bytes all over valid files: the result may decode or fail, but must be a clean status.
  const Image src = test::gradient_image(24, 16);
  const Bytes files[] = {test::encode_jpeg(src, 80), test::encode_png(src),
                         test::encode_webp_lossless(src), test::encode_webp_lossy(src, 80)};
  std::mt19937 rng(7);
  for (const Bytes& f : files) {
    for (int trial = 0; trial < 100; trial++) {
      Bytes b = f;
      for (int k = 0; k < 4; k++) b[rng() % b.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      auto img = decode(b);
      if (img.ok()) {
        EXPECT_EQ(img->rgb.size(), size_t(img->width) * size_t(img->height) * 3);
      } else {
        const StatusCode c = img.status().code();
        EXPECT_TRUE(c == StatusCode::INVALID_IMAGE || c == StatusCode::UNSUPPORTED ||
                    c == StatusCode::LIMIT_EXCEEDED)
            << img.status().to_string();
      }
    }
  }
}

// ---- header-only info and files ----

TEST(ImageReadInfo, ReportsStoredSizeAndOrientation) {
  const Image src = test::gradient_image(20, 10);
  const Bytes tiff = test::make_exif(6);
  struct Case {
    Bytes bytes;
    ImageFormat format;
  };
  const Case cases[] = {
      {test::jpeg_with_exif(test::encode_jpeg(src), tiff), ImageFormat::JPEG},
      {test::png_with_chunk(test::encode_png(src), "eXIf", tiff), ImageFormat::PNG},
      {test::webp_with_exif(test::encode_webp_lossless(src), 20, 10, tiff), ImageFormat::WEBP}};
  for (const Case& c : cases) {
    ImageInfo info;
    Status st = image_read_info(c.bytes.data(), c.bytes.size(), &info);
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(info.format, c.format);
    EXPECT_EQ(info.width, 20);
    EXPECT_EQ(info.height, 10);
    EXPECT_EQ(info.orientation, 6);
  }
  const Bytes plain = test::encode_png(src);
  ImageInfo info;
  ASSERT_TRUE(image_read_info(plain.data(), plain.size(), &info).ok());
  EXPECT_EQ(info.orientation, 1);
}

TEST(ImageDecodeFile, ReadsAndReportsIoErrors) {
  const Image src = test::gradient_image(12, 9);
  const Bytes png = test::encode_png(src);
  const std::string path = ::testing::TempDir() + "/morsel_decode_file_test.png";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  }
  auto img = image_decode_file(path);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(test::max_abs_diff(*img, src), 0);
  std::remove(path.c_str());

  auto missing = image_decode_file(::testing::TempDir() + "/no/such/file.jpg");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::IO_ERROR);
  auto dir = image_decode_file(::testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::IO_ERROR);
}

}  // namespace
}  // namespace morsel
