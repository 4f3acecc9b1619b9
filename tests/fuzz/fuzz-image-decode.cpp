// libFuzzer targets: one per image decoder (fuzz_jpeg_decoder, fuzz_png_decoder,
// fuzz_webp_decoder), built from this file with MORSEL_FUZZ_FORMAT set to the format. Each runs
// what a request's image goes through: sniffing, the header and EXIF reader, the size limits,
// the decoder, the orientation fix-up and preprocessing to a model input. Inputs that sniff as
// another format return early, so the fuzzer's time goes to its own decoder. Any input must
// come back as a Status; a crash, hang, leak or sanitizer report is a bug, and so is a decoded
// image whose size disagrees with its header.
//   clang:  cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 -DMORSEL_FUZZ=ON
//           ninja -C build/fuzz fuzz_png_decoder && build/fuzz/tests/fuzz/fuzz_png_decoder CORPUS tests/fuzz/corpus/png
//   g++:    the same targets link tests/fuzz/standalone-driver.cpp (seed replay + mutations).
// Seeds: tests/fuzz/make-seeds.py.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "image/decode/decode.h"
#include "image/preprocess.h"

#ifndef MORSEL_FUZZ_FORMAT
#error "build with -DMORSEL_FUZZ_FORMAT=JPEG, PNG or WEBP"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace morsel;
  if (image_sniff(data, size) != ImageFormat::MORSEL_FUZZ_FORMAT) return 0;
  ImageInfo info;
  if (!image_read_info(data, size, &info).ok()) return 0;
  DecodeLimits limits;
  limits.max_pixels = 4'000'000;  // smaller than the default, for speed; the same code paths
  Result<Image> img = image_decode(data, size, limits);
  if (!img.ok()) return 0;
  const Image& im = img.value();
  const bool swapped = info.orientation >= 5;  // EXIF 5..8 swap width and height
  const int w = swapped ? info.height : info.width, h = swapped ? info.width : info.height;
  if (im.width != w || im.height != h ||
      im.rgb.size() != static_cast<size_t>(im.width) * static_cast<size_t>(im.height) * 3) {
    std::fprintf(stderr, "decoded %dx%d, header says %dx%d (orientation %d)\n", im.width,
                 im.height, info.width, info.height, info.orientation);
    std::abort();
  }
  PreprocessSpec spec;
  spec.width = spec.height = 16;
  std::vector<float> x(16 * 16 * 3);
  (void)preprocess(im, spec, x.data());
  return 0;
}
