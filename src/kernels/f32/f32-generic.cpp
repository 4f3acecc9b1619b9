// f32 kernels for generic: the templates in f32-kernels.inc with 4-float vectors and a
// 4 x 8 GEMM register tile.
#define MORSEL_KNS generic
#define MORSEL_ISA_ENUM Isa::GENERIC
#define MORSEL_VW 4
#define MORSEL_GEMM_MR 4
#define MORSEL_GEMM_MR_NARROW 8
#define MORSEL_GEMM_NV 2
#include <array>
#include <utility>
#include "kernels/f32/f32-kernels.inc"
