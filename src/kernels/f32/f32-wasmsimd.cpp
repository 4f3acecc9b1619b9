// f32 kernels for wasmsimd (WASM SIMD128, the wasm build only): the templates in
// f32-kernels.inc with 4-float vectors and a 5 x 8 GEMM register tile. Browser engines keep wasm
// locals in 16 xmm registers on x86-64 and have no FMA (a multiply and an add per tap). In V8
// (node 20, bench/compare/wasm-builds.js on MobileNetV2) 5 x 8 ran 1-7% faster than 4 x 8; 3 x 8
// was 23% slower, and 6 x 8 (16-22%), 4 x 16 (28-34%) and 5 x 8 with the K loop unrolled twice
// (13%) spill registers.
#define MORSEL_KNS wasmsimd
#define MORSEL_ISA_ENUM Isa::WASM_SIMD128
#define MORSEL_VW 4
#define MORSEL_GEMM_MR 5
#define MORSEL_GEMM_MR_NARROW 8
#define MORSEL_GEMM_NV 2
#include <array>
#include <utility>
#include "kernels/f32/f32-kernels.inc"
