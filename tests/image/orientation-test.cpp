// EXIF orientation: the TIFF parser (including malformed blocks) and the eight transforms, applied
// end to end for JPEG (APP1), PNG (eXIf) and WebP (EXIF chunk). Expected layouts are written out
// by hand from the EXIF specification, not computed by the code under test.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "image/decode/decode.h"
#include "image/image-test-util.h"

namespace morsel {
namespace {

using test::Bytes;

// The stored image is 3x2 labelled pixels
//   a b c
//   d e f
// and kUpright[o] is what a viewer shows for orientation o, row by row.
struct Layout {
  int width, height;
  const char* labels;
};
const Layout kUpright[9] = {
    {0, 0, ""},       {3, 2, "abcdef"},  // 1: as stored
    {3, 2, "cbafed"},                    // 2: mirrored left-right
    {3, 2, "fedcba"},                    // 3: rotated 180
    {3, 2, "defabc"},                    // 4: mirrored top-bottom
    {2, 3, "adbecf"},                    // 5: transposed
    {2, 3, "daebfc"},                    // 6: rotated 90 clockwise
    {2, 3, "fcebda"},                    // 7: transversed
    {2, 3, "cfbead"},                    // 8: rotated 90 counter-clockwise
};
const uint8_t kColors[6][3] = {{255, 0, 0},   {0, 255, 0},   {0, 0, 255},
                               {255, 255, 0}, {0, 255, 255}, {255, 0, 255}};

// The labelled image with each label a `block` x `block` square (blocks keep JPEG exact enough).
Image labelled(const char* labels, int w, int h, int block) {
  return test::make_image(w * block, h * block, [&](int x, int y, int c) {
    return kColors[labels[(y / block) * w + x / block] - 'a'][c];
  });
}

// Compares the centre of every block with the expected label, within `tol`.
void expect_layout(const Image& img, int orientation, int block, int tol) {
  const Layout& l = kUpright[orientation];
  ASSERT_EQ(img.width, l.width * block) << "orientation " << orientation;
  ASSERT_EQ(img.height, l.height * block) << "orientation " << orientation;
  for (int by = 0; by < l.height; by++) {
    for (int bx = 0; bx < l.width; bx++) {
      const size_t at =
          (size_t(by * block + block / 2) * img.width + size_t(bx * block + block / 2)) * 3;
      const uint8_t* want = kColors[l.labels[by * l.width + bx] - 'a'];
      for (int c = 0; c < 3; c++)
        EXPECT_NEAR(img.rgb[at + c], want[c], tol)
            << "orientation " << orientation << " block (" << bx << "," << by << ") should be "
            << l.labels[by * l.width + bx];
    }
  }
}

TEST(ImageApplyOrientation, AllEightTransforms) {
  const Image stored = labelled("abcdef", 3, 2, 1);
  for (int o = 1; o <= 8; o++) {
    const Image out = image_apply_orientation(stored, o);
    EXPECT_EQ(test::max_abs_diff(
                  out, labelled(kUpright[o].labels, kUpright[o].width, kUpright[o].height, 1)),
              0)
        << "orientation " << o;
  }
  EXPECT_EQ(test::max_abs_diff(image_apply_orientation(stored, 0), stored), 0);
  EXPECT_EQ(test::max_abs_diff(image_apply_orientation(stored, 9), stored), 0);
}

TEST(ImageApplyOrientation, SinglePixelAndSingleRow) {
  const Image px = test::make_image(1, 1, [](int, int, int c) { return 10 + c; });
  for (int o = 1; o <= 8; o++) EXPECT_EQ(test::max_abs_diff(image_apply_orientation(px, o), px), 0);
  const Image row = test::make_image(4, 1, [](int x, int, int) { return x * 10; });
  const Image col = image_apply_orientation(row, 6);  // rotate 90 clockwise: left end on top
  ASSERT_EQ(col.width, 1);
  ASSERT_EQ(col.height, 4);
  for (int y = 0; y < 4; y++) EXPECT_EQ(col.rgb[size_t(y) * 3], y * 10);
}

TEST(ExifOrientation, ParsesBothByteOrders) {
  for (int o = 1; o <= 8; o++) {
    for (bool be : {false, true}) {
      const Bytes tiff = test::make_exif(o, be);
      EXPECT_EQ(exif_orientation(tiff.data(), tiff.size()), o) << (be ? "MM " : "II ") << o;
      Bytes with_prefix = {'E', 'x', 'i', 'f', 0, 0};
      with_prefix.insert(with_prefix.end(), tiff.begin(), tiff.end());
      EXPECT_EQ(exif_orientation(with_prefix.data(), with_prefix.size()), o);
    }
  }
}

TEST(ExifOrientation, MalformedBlocksMeanNoOrientation) {
  const Bytes good = test::make_exif(6);
  EXPECT_EQ(exif_orientation(nullptr, 0), 1);
  EXPECT_EQ(exif_orientation(good.data(), 0), 1);
  for (size_t n = 0; n < good.size(); n++) {  // every truncation
    const int o = exif_orientation(good.data(), n);
    EXPECT_TRUE(o == 1 || (o == 6 && n >= good.size() - 6))
        << "truncated to " << n << " gave " << o;
  }
  Bytes bad_magic = good;
  bad_magic[2] = 43;
  EXPECT_EQ(exif_orientation(bad_magic.data(), bad_magic.size()), 1);
  Bytes ifd_out_of_range = good;
  ifd_out_of_range[4] = 0xF0, ifd_out_of_range[5] = 0xFF, ifd_out_of_range[6] = 0xFF,
  ifd_out_of_range[7] = 0xFF;
  EXPECT_EQ(exif_orientation(ifd_out_of_range.data(), ifd_out_of_range.size()), 1);
  Bytes huge_count = good;
  huge_count[8] = 0xFF, huge_count[9] = 0xFF;  // 65535 entries claimed, 2 present
  EXPECT_EQ(exif_orientation(huge_count.data(), huge_count.size()), 6);  // found before running out
  huge_count[8 + 2 + 12] = 0x13;  // rename Orientation: the scan then runs off the end
  EXPECT_EQ(exif_orientation(huge_count.data(), huge_count.size()), 1);
  EXPECT_EQ(exif_orientation(test::make_exif(9).data(), test::make_exif(9).size()), 1);
  EXPECT_EQ(exif_orientation(test::make_exif(0).data(), test::make_exif(0).size()), 1);
  Bytes wrong_type = good;
  wrong_type[8 + 2 + 12 + 2] = 2;  // ASCII instead of SHORT
  EXPECT_EQ(exif_orientation(wrong_type.data(), wrong_type.size()), 1);
}

TEST(ExifOrientation, RandomMutationsStayInRange) {
  std::mt19937 rng(42);
  const Bytes good = test::make_exif(3, true);
  for (int trial = 0; trial < 5000; trial++) {
    Bytes b = good;
    for (int k = 0; k < 3; k++) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    const int o = exif_orientation(b.data(), b.size());
    EXPECT_GE(o, 1);
    EXPECT_LE(o, 8);
  }
}

TEST(DecodeOrientation, PngEveryOrientation) {
  const Image stored = labelled("abcdef", 3, 2, 1);
  for (int o = 1; o <= 8; o++) {
    const Bytes png =
        test::png_with_chunk(test::encode_png(stored), "eXIf", test::make_exif(o, o % 2 == 0));
    auto img = image_decode(png.data(), png.size());
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    expect_layout(*img, o, 1, 0);
  }
}

TEST(DecodeOrientation, WebpEveryOrientation) {
  const Image stored = labelled("abcdef", 3, 2, 1);
  for (int o = 1; o <= 8; o++) {
    const Bytes webp =
        test::webp_with_exif(test::encode_webp_lossless(stored), 3, 2, test::make_exif(o));
    auto img = image_decode(webp.data(), webp.size());
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    expect_layout(*img, o, 1, 0);
  }
}

TEST(DecodeOrientation, JpegEveryOrientation) {
  const Image stored = labelled("abcdef", 3, 2, 8);  // 24x16, one 8x8 block per label
  for (int o = 1; o <= 8; o++) {
    const Bytes jpeg =
        test::jpeg_with_exif(test::encode_jpeg(stored, 100), test::make_exif(o, o > 4));
    auto img = image_decode(jpeg.data(), jpeg.size());
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    expect_layout(*img, o, 8, 8);
  }
}

TEST(DecodeOrientation, MalformedExifIsIgnored) {
  const Image stored = labelled("abcdef", 3, 2, 1);
  const Bytes garbage = {'M', 'M', 0, '*', 0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3};
  const Bytes not_tiff = {'h', 'e', 'l', 'l', 'o', ' ', 'e', 'x', 'i', 'f'};
  const Bytes files[] = {
      test::png_with_chunk(test::encode_png(stored), "eXIf", garbage),
      test::png_with_chunk(test::encode_png(stored), "eXIf", not_tiff),
      test::webp_with_exif(test::encode_webp_lossless(stored), 3, 2, not_tiff),
      test::webp_with_exif(test::encode_webp_lossless(stored), 3, 2, garbage),
  };
  for (const Bytes& f : files) {
    auto img = image_decode(f.data(), f.size());
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    expect_layout(*img, 1, 1, 0);
  }
  const Bytes jpeg =
      test::jpeg_with_exif(test::encode_jpeg(labelled("abcdef", 3, 2, 8), 100), garbage);
  auto img = image_decode(jpeg.data(), jpeg.size());
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  expect_layout(*img, 1, 8, 8);
}

}  // namespace
}  // namespace morsel
