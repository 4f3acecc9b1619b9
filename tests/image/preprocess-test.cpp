// Preprocessing tests: every resize method on cases small enough to check by hand (the expected
// values are worked out in the comments), crop geometry, channel order, mean/std, strides and
// RGBA, and argument validation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "image/preprocess.h"

namespace morsel {
namespace {

// A w x h RGB image from one value per pixel: channel c holds v + c (so channels are told apart).
std::vector<uint8_t> rgb_from(const std::vector<int>& v) {
  std::vector<uint8_t> out;
  for (int x : v) out.insert(out.end(), {uint8_t(x), uint8_t(x + 1), uint8_t(x + 2)});
  return out;
}

PreprocessSpec raw_spec(int w, int h, ResizeMethod m) {  // output = resized pixel values
  PreprocessSpec s;
  s.width = w;
  s.height = h;
  s.resize = m;
  for (int c = 0; c < 3; c++) {
    s.mean[c] = 0;
    s.std[c] = 1;
  }
  return s;
}

std::vector<float> run(const std::vector<uint8_t>& px, int w, int h, const PreprocessSpec& s,
                       int channels = 3) {
  std::vector<float> out(size_t(s.width * s.height * 3), -1.f);
  Status st = preprocess(px.data(), w, h, channels, int64_t{w} * channels, s, out.data());
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

// Checks channel 0 of every output pixel against `want` (row-major) and channels 1, 2 = +1, +2.
void expect_plane(const std::vector<float>& out, const std::vector<float>& want) {
  ASSERT_EQ(out.size(), want.size() * 3);
  for (size_t i = 0; i < want.size(); i++) {
    EXPECT_NEAR(out[i * 3], want[i], 1e-4) << "pixel " << i;
    EXPECT_NEAR(out[i * 3 + 1], want[i] + 1, 1e-4) << "pixel " << i;
    EXPECT_NEAR(out[i * 3 + 2], want[i] + 2, 1e-4) << "pixel " << i;
  }
}

const ResizeMethod kAllMethods[] = {ResizeMethod::BILINEAR, ResizeMethod::BILINEAR_ALIGN_CORNERS,
                                    ResizeMethod::BILINEAR_ASYMMETRIC, ResizeMethod::NEAREST,
                                    ResizeMethod::AREA};

TEST(Preprocess, IdentityResizeReturnsThePixels) {
  std::mt19937 rng(5);
  std::vector<uint8_t> px(7 * 5 * 3);
  for (uint8_t& v : px) v = static_cast<uint8_t>(rng());
  for (ResizeMethod m : kAllMethods) {
    const std::vector<float> out = run(px, 7, 5, raw_spec(7, 5, m));
    for (size_t i = 0; i < px.size(); i++)
      ASSERT_EQ(out[i], float(px[i])) << resize_method_name(m) << " " << i;
  }
}

TEST(Preprocess, BilinearAlignCorners2x2To3x3) {
  // Source  0 10     scale = (2-1)/(3-1) = 0.5, so sample points are 0, 0.5, 1 on both axes:
  //        20 30     row 0: 0 5 10; row 1 (halfway): 10 15 20; row 2: 20 25 30.
  const auto out =
      run(rgb_from({0, 10, 20, 30}), 2, 2, raw_spec(3, 3, ResizeMethod::BILINEAR_ALIGN_CORNERS));
  expect_plane(out, {0, 5, 10, 10, 15, 20, 20, 25, 30});
}

TEST(Preprocess, BilinearAlignCornersToOnePixelTakesTheCorner) {
  // out == 1: scale is 0, the single sample is source (0, 0).
  const auto out =
      run(rgb_from({40, 10, 20, 30}), 2, 2, raw_spec(1, 1, ResizeMethod::BILINEAR_ALIGN_CORNERS));
  expect_plane(out, {40});
}

TEST(Preprocess, BilinearAsymmetric2x2To4x4) {
  // scale = 2/4 = 0.5, src = dst * 0.5 = 0, 0.5, 1, 1.5. Index 1.5 has i0 = 1, i1 = min(2, 1) = 1,
  // so it repeats the edge. Along x (0, 10): 0 5 10 10; along y (0, 20): 0 10 20 20; sum them.
  const auto out =
      run(rgb_from({0, 10, 20, 30}), 2, 2, raw_spec(4, 4, ResizeMethod::BILINEAR_ASYMMETRIC));
  expect_plane(out, {0, 5, 10, 10, 10, 15, 20, 20, 20, 25, 30, 30, 20, 25, 30, 30});
}

TEST(Preprocess, BilinearHalfPixel2x2To4x4) {
  // src = (dst + 0.5) * 0.5 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (edge repeated).
  // Along x (0, 10): 0 2.5 7.5 10; along y (0, 20): 0 5 15 20; the output is their sum.
  const auto out = run(rgb_from({0, 10, 20, 30}), 2, 2, raw_spec(4, 4, ResizeMethod::BILINEAR));
  expect_plane(out, {0, 2.5, 7.5, 10, 5, 7.5, 12.5, 15, 15, 17.5, 22.5, 25, 20, 22.5, 27.5, 30});
}

TEST(Preprocess, BilinearHalfPixelDownscaleAveragesPairs) {
  // 4x1 -> 2x1: src = (dst + 0.5) * 2 - 0.5 = 0.5, 2.5: the mean of pixels (0,1) and (2,3).
  const auto out = run(rgb_from({0, 10, 100, 200}), 4, 1, raw_spec(2, 1, ResizeMethod::BILINEAR));
  expect_plane(out, {5, 150});
}

TEST(Preprocess, BilinearUsesTensorFlowInterpolationOrder) {
  // top = tl + (tr - tl) * xf, bottom likewise, out = top + (bottom - top) * yf, in float.
  // 3x3 -> 2x2 asymmetric: scale 1.5, samples at 0 and 1.5 on both axes.
  const std::vector<int> v = {3, 7, 11, 20, 50, 90, 130, 170, 250};
  const auto out = run(rgb_from(v), 3, 3, raw_spec(2, 2, ResizeMethod::BILINEAR_ASYMMETRIC));
  auto lerp2 = [](float tl, float tr, float bl, float br, float xf, float yf) {
    const float top = tl + (tr - tl) * xf;
    const float bottom = bl + (br - bl) * xf;
    return top + (bottom - top) * yf;
  };
  // (1,1): x0=1, x1=2, xf=0.5; y0=1, y1=2, yf=0.5 -> lerp of 50 90 / 170 250 = 140.
  EXPECT_EQ(out[(1 * 2 + 1) * 3], lerp2(50, 90, 170, 250, 0.5f, 0.5f));
  EXPECT_EQ(out[(1 * 2 + 1) * 3], 140.f);
  EXPECT_EQ(out[(0 * 2 + 1) * 3], lerp2(7, 11, 7, 11, 0.5f, 0.f));      // 9
  EXPECT_EQ(out[(1 * 2 + 0) * 3], lerp2(20, 20, 130, 130, 0.f, 0.5f));  // 75
}

TEST(Preprocess, NearestHalfPixelFloor) {
  // 4x4 -> 2x2: src = floor((dst + 0.5) * 2) = 1, 3. Values are 10*y + x.
  std::vector<int> v;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) v.push_back(10 * y + x);
  expect_plane(run(rgb_from(v), 4, 4, raw_spec(2, 2, ResizeMethod::NEAREST)), {11, 13, 31, 33});
  // 2 -> 5 along x: floor((dst + 0.5) * 0.4) = floor(0.2, 0.6, 1.0, 1.4, 1.8) = 0 0 1 1 1.
  expect_plane(run(rgb_from({7, 9}), 2, 1, raw_spec(5, 1, ResizeMethod::NEAREST)), {7, 7, 9, 9, 9});
}

TEST(Preprocess, Area4x4To2x2IsBlockMeans) {
  // Blocks: {0,1,4,5} -> 2.5, {2,3,6,7} -> 4.5, {8,9,12,13} -> 10.5, {10,11,14,15} -> 12.5
  std::vector<int> v(16);
  for (int i = 0; i < 16; i++) v[size_t(i)] = i;
  expect_plane(run(rgb_from(v), 4, 4, raw_spec(2, 2, ResizeMethod::AREA)), {2.5, 4.5, 10.5, 12.5});
}

TEST(Preprocess, AreaFractionalFootprint) {
  // 3 -> 2: each output covers 1.5 source pixels: out0 = (1*p0 + 0.5*p1) / 1.5, out1 = (0.5*p1 +
  // 1*p2) / 1.5. With 0, 30, 60: out0 = 15/1.5 = 10, out1 = 75/1.5 = 50.
  expect_plane(run(rgb_from({0, 30, 60}), 3, 1, raw_spec(2, 1, ResizeMethod::AREA)), {10, 50});
  // Upscaling 2 -> 3: footprints of 2/3: [0,.67) -> p0, [.67,1.33) -> (p0 + p1) / 2, [1.33,2) ->
  // p1.
  expect_plane(run(rgb_from({0, 90}), 2, 1, raw_spec(3, 1, ResizeMethod::AREA)), {0, 45, 90});
}

TEST(Preprocess, ConstantImageStaysConstant) {
  std::vector<uint8_t> px(13 * 9 * 3, 77);
  for (ResizeMethod m : kAllMethods) {
    for (auto [w, h] : {std::pair{5, 4}, std::pair{31, 17}, std::pair{1, 1}}) {
      const auto out = run(px, 13, 9, raw_spec(w, h, m));
      for (float f : out) ASSERT_NEAR(f, 77.f, 1e-4) << resize_method_name(m);
    }
  }
}

TEST(Preprocess, CenterCropPicksTheMiddle) {
  // 6x2 source, 2x2 output: the largest centered square is columns 2..3.
  std::vector<int> v;
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 6; x++) v.push_back(10 * y + x);
  PreprocessSpec s = raw_spec(2, 2, ResizeMethod::BILINEAR);
  s.crop = CropMode::CENTER;
  expect_plane(run(rgb_from(v), 6, 2, s), {2, 3, 12, 13});
  // Tall 2x6 source: rows 2..3.
  v.clear();
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 2; x++) v.push_back(10 * y + x);
  expect_plane(run(rgb_from(v), 2, 6, s), {20, 21, 30, 31});
}

TEST(Preprocess, CenterCropFraction) {
  // 8x8, crop_fraction 0.5 -> the 4x4 region starting at (2, 2), resized 4x4 -> 4x4 (identity).
  std::vector<int> v;
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++) v.push_back(10 * y + x);
  PreprocessSpec s = raw_spec(4, 4, ResizeMethod::NEAREST);
  s.crop = CropMode::CENTER;
  s.crop_fraction = 0.5f;
  expect_plane(run(rgb_from(v), 8, 8, s),
               {22, 23, 24, 25, 32, 33, 34, 35, 42, 43, 44, 45, 52, 53, 54, 55});
}

TEST(Preprocess, CenterCropWithNonSquareOutput) {
  // 8x8 source to a 4x2 (2:1) output: the region is 8x4 at rows 2..5; nearest 8x4 -> 4x2 picks
  // source columns floor((d + 0.5) * 2) = 1, 3, 5, 7 and region rows 1, 3 -> source rows 3, 5.
  std::vector<int> v;
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++) v.push_back(10 * y + x);
  PreprocessSpec s = raw_spec(4, 2, ResizeMethod::NEAREST);
  s.crop = CropMode::CENTER;
  expect_plane(run(rgb_from(v), 8, 8, s), {31, 33, 35, 37, 51, 53, 55, 57});
}

TEST(Preprocess, CenterCropEqualsResizingTheSlice) {
  // Cropping then resizing must equal resizing a copy of the cropped region, for every method.
  std::mt19937 rng(11);
  const int w = 40, h = 25;
  std::vector<uint8_t> px(size_t(w) * h * 3);
  for (uint8_t& b : px) b = static_cast<uint8_t>(rng());
  for (ResizeMethod m : kAllMethods) {
    PreprocessSpec s = raw_spec(9, 9, m);
    s.crop = CropMode::CENTER;
    s.crop_fraction = 0.8f;
    const auto cropped = run(px, w, h, s);
    // Region: square side min(40, 25) * 0.8 = 20 at x = (40 - 20) / 2 = 10, y = (25 - 20) / 2 = 2.
    std::vector<uint8_t> slice;
    for (int y = 2; y < 22; y++)
      slice.insert(slice.end(), px.begin() + (y * w + 10) * 3, px.begin() + (y * w + 30) * 3);
    s.crop = CropMode::NONE;
    const auto direct = run(slice, 20, 20, s);
    for (size_t i = 0; i < direct.size(); i++)
      ASSERT_EQ(cropped[i], direct[i]) << resize_method_name(m) << " " << i;
  }
}

TEST(Preprocess, BgrSwapsChannelsAndMeanStdFollowModelOrder) {
  const std::vector<uint8_t> px = {10, 20, 30};
  PreprocessSpec s = raw_spec(1, 1, ResizeMethod::BILINEAR);
  s.channel_order = ChannelOrder::BGR;
  std::vector<float> out = run(px, 1, 1, s);
  EXPECT_EQ(out, (std::vector<float>{30, 20, 10}));
  // Caffe-style: mean/std are given in the model's (BGR) order.
  s.mean[0] = 1, s.mean[1] = 2, s.mean[2] = 3;
  s.std[0] = 2, s.std[1] = 4, s.std[2] = 7;
  out = run(px, 1, 1, s);
  EXPECT_EQ(out, (std::vector<float>{(30 - 1) / 2.f, (20 - 2) / 4.f, (10 - 3) / 7.f}));
}

TEST(Preprocess, MeanStdNormalization) {
  std::vector<uint8_t> px(256 * 3);
  for (int i = 0; i < 256; i++)
    px[size_t(i) * 3] = px[size_t(i) * 3 + 1] = px[size_t(i) * 3 + 2] = uint8_t(i);
  // Default spec: mean 0, std 255 -> p / 255 exactly as TF.js's x.div(255) (one float division).
  PreprocessSpec unit = raw_spec(256, 1, ResizeMethod::BILINEAR);
  for (int c = 0; c < 3; c++) unit.std[c] = 255.f;
  auto out = run(px, 256, 1, unit);
  for (int i = 0; i < 256; i++) ASSERT_EQ(out[size_t(i) * 3 + 1], float(i) / 255.f) << i;
  // [-1, 1] (MobileNet): mean 127.5, std 127.5.
  PreprocessSpec sym = unit;
  for (int c = 0; c < 3; c++) sym.mean[c] = sym.std[c] = 127.5f;
  out = run(px, 256, 1, sym);
  EXPECT_EQ(out[0], -1.f);
  EXPECT_EQ(out[255 * 3], 1.f);
  for (int i = 0; i < 256; i++) ASSERT_EQ(out[size_t(i) * 3], (float(i) - 127.5f) / 127.5f);
  // ImageNet mean/std per channel.
  PreprocessSpec imagenet = unit;
  const float mean[3] = {123.675f, 116.28f, 103.53f}, stdv[3] = {58.395f, 57.12f, 57.375f};
  for (int c = 0; c < 3; c++) imagenet.mean[c] = mean[c], imagenet.std[c] = stdv[c];
  out = run(px, 256, 1, imagenet);
  for (int c = 0; c < 3; c++) EXPECT_EQ(out[200 * 3 + size_t(c)], (200.f - mean[c]) / stdv[c]);
}

TEST(Preprocess, RgbaAndPaddedStride) {
  // 3x2 RGBA with a 16-byte stride (4 bytes of padding per row): alpha and padding are ignored,
  // the result equals the packed RGB image's.
  std::mt19937 rng(3);
  std::vector<uint8_t> rgb(3 * 2 * 3), rgba(16 * 2, 0xEE);
  for (size_t i = 0; i < rgb.size(); i++) rgb[i] = static_cast<uint8_t>(rng());
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++) {
      std::memcpy(&rgba[size_t(y) * 16 + size_t(x) * 4], &rgb[(size_t(y) * 3 + x) * 3], 3);
      rgba[size_t(y) * 16 + size_t(x) * 4 + 3] = static_cast<uint8_t>(rng());
    }
  for (ResizeMethod m : kAllMethods) {
    const PreprocessSpec s = raw_spec(5, 4, m);
    const auto want = run(rgb, 3, 2, s);
    std::vector<float> got(want.size());
    Status st = preprocess(rgba.data(), 3, 2, 4, 16, s, got.data());
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(got, want) << resize_method_name(m);
    // RGB with a padded stride too.
    std::vector<uint8_t> padded(2 * 11, 0xEE);
    for (int y = 0; y < 2; y++) std::memcpy(&padded[size_t(y) * 11], &rgb[size_t(y) * 9], 9);
    st = preprocess(padded.data(), 3, 2, 3, 11, s, got.data());
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(got, want) << resize_method_name(m);
  }
}

TEST(Preprocess, ImageOverload) {
  Image img;
  img.width = 2;
  img.height = 1;
  img.rgb = {1, 2, 3, 4, 5, 6};
  PreprocessSpec s = raw_spec(2, 1, ResizeMethod::NEAREST);
  std::vector<float> out(6);
  ASSERT_TRUE(preprocess(img, s, out.data()).ok());
  EXPECT_EQ(out, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Preprocess, RejectsBadArguments) {
  const std::vector<uint8_t> px(4 * 4 * 4, 0);
  std::vector<float> out(2 * 2 * 3);
  const PreprocessSpec s = raw_spec(2, 2, ResizeMethod::BILINEAR);
  auto code = [&](const uint8_t* p, int w, int h, int ch, int64_t stride, const PreprocessSpec& sp,
                  float* o) {
    Status st = preprocess(p, w, h, ch, stride, sp, o);
    EXPECT_FALSE(st.message().empty() && !st.ok());
    return st.code();
  };
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  EXPECT_EQ(code(px.data(), 4, 4, 3, 12, s, out.data()), StatusCode::OK);
  EXPECT_EQ(code(nullptr, 4, 4, 3, 12, s, out.data()), bad);
  EXPECT_EQ(code(px.data(), 4, 4, 3, 12, s, nullptr), bad);
  EXPECT_EQ(code(px.data(), 0, 4, 3, 12, s, out.data()), bad);
  EXPECT_EQ(code(px.data(), 4, -1, 3, 12, s, out.data()), bad);
  for (int ch : {0, 1, 2, 5}) EXPECT_EQ(code(px.data(), 4, 4, ch, 20, s, out.data()), bad) << ch;
  EXPECT_EQ(code(px.data(), 4, 4, 3, 11, s, out.data()), bad);
  EXPECT_EQ(code(px.data(), 4, 4, 4, 12, s, out.data()), bad);

  auto spec_code = [&](auto mutate) {
    PreprocessSpec sp = s;
    mutate(&sp);
    EXPECT_EQ(preprocess_spec_validate(sp).code(), bad);
    return code(px.data(), 4, 4, 3, 12, sp, out.data());
  };
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->height = 0; }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->width = 8193; }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->std[1] = 0; }), bad);
  EXPECT_EQ(
      spec_code([](PreprocessSpec* p) { p->std[2] = std::numeric_limits<float>::infinity(); }),
      bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->mean[0] = std::nanf(""); }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->crop_fraction = 0; }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->crop_fraction = 1.5f; }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->crop_fraction = std::nanf(""); }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->resize = static_cast<ResizeMethod>(99); }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->crop = static_cast<CropMode>(7); }), bad);
  EXPECT_EQ(spec_code([](PreprocessSpec* p) { p->channel_order = static_cast<ChannelOrder>(3); }),
            bad);
  EXPECT_TRUE(preprocess_spec_validate(PreprocessSpec{}).ok());
}

TEST(Preprocess, MethodAndCropNamesRoundTrip) {
  for (ResizeMethod m : kAllMethods) {
    ResizeMethod back{};
    ASSERT_TRUE(resize_method_from_name(resize_method_name(m), &back)) << resize_method_name(m);
    EXPECT_EQ(back, m);
  }
  EXPECT_STREQ(resize_method_name(ResizeMethod::BILINEAR_ALIGN_CORNERS), "bilinear_align_corners");
  ResizeMethod m{};
  EXPECT_FALSE(resize_method_from_name("bicubic", &m));
  for (CropMode c : {CropMode::NONE, CropMode::CENTER}) {
    CropMode back{};
    ASSERT_TRUE(crop_mode_from_name(crop_mode_name(c), &back));
    EXPECT_EQ(back, c);
  }
  CropMode c{};
  EXPECT_FALSE(crop_mode_from_name("left", &c));
}

}  // namespace
}  // namespace morsel
