// libFuzzer target: the ONNX reader (protobuf parsing, tensor decoding, every op converter, the
// layout bookkeeping) and shape inference on whatever graph it builds. Any input must come back
// as a Status; a crash, hang, leak or sanitizer report is a bug.
//   clang:  cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 -DMORSEL_FUZZ=ON
//           ninja -C build/fuzz fuzz_onnx_reader && build/fuzz/tests/fuzz/fuzz_onnx_reader CORPUS tests/fuzz/corpus/onnx
//   g++:    the same target links tests/fuzz/standalone-driver.cpp (seed replay + mutations).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "importers/onnx/onnx.h"
#include "runtime/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace morsel;
  for (bool nhwc : {false, true}) {
    onnx_import::ImportOptions opt;
    opt.nhwc_inputs = nhwc;
    auto r = onnx_import::import_model_buffer(data, size, "", opt);
    if (!r.ok()) continue;
    auto graph = std::make_shared<const Graph>(std::move(r.value().graph));
    auto sess = Session::create(graph);  // validation and shape inference, no allocation of activations
    (void)sess;
  }
  return 0;
}
