// Binds one graph node to a kernel: turns attributes and concrete shapes into kernel parameters
// once, at prepare time, and returns a closure that runs the kernel on fixed buffers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/aligned.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "core/weight_pool.h"
#include "graph/graph.h"
#include "kernels/f32/f32.h"
#include "kernels/ref/ref.h"

namespace morsel {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Splits [0, total) into `parts` contiguous ranges (fewer when that would make a range shorter
// than `min_size`) whose lengths, in units of `align`, differ by at most one unit, so a parallel
// loop over them is balanced (6 panels in 4 parts: 2, 2, 1, 1 -- not 2, 2, 2, which leaves one
// of two threads with twice the work). `size` is the longest range.
struct Chunks {
  int64_t total = 0, size = 1, count = 1, units = 1, align = 1;
  Chunks(int64_t t, int64_t parts, int64_t min_size, int64_t al = 1) : total(t), align(std::max<int64_t>(1, al)) {
    units = std::max<int64_t>(1, ceil_div(t, align));
    parts = std::max<int64_t>(1, std::min(parts, ceil_div(t, std::max<int64_t>(1, min_size))));
    count = std::min(parts, units);
    size = ceil_div(units, count) * align;
  }
  // The longer ranges come first, so the threads that take the last (shorter) ones even out.
  int64_t begin(int64_t i) const {
    return std::min(total, (i * (units / count) + std::min(i, units % count)) * align);
  }
  int64_t end(int64_t i) const { return begin(i + 1); }
};

using KernelFn = std::function<void()>;

// The fused activation attributes of a conv/dense node as a clamp range.
ref::Activation activation_of(const Attrs& a);

// `g` has concrete shapes; ptrs[i] is the f32 storage of value i (allocated, stable).
Result<KernelFn> bind_reference(const Graph& g, const Node& n, const std::vector<float*>& ptrs);

// Weights prepacked for one node's optimized kernel; kept across prepares (batch changes).
struct PackedWeights {
  std::string layout;  // which kernel the packing is for, e.g. "gemm-nr32"
  weight_vector<float> data;  // in huge-page chunks where the system has them (core/weight_pool.h)
  aligned_vector<float> bias;
  int64_t bytes() const { return static_cast<int64_t>((data.size() + bias.size()) * sizeof(float)); }
};

// The GEMM variant for N columns: the short tile for small K, the tile that pads N least (wide,
// default, three-vector or narrow), or the K-pair kernel for N = 8 and 24 (gemm_variant in
// runtime/bind-optimized.cpp).
struct GemmVariant {
  int mr, nr;
  void (*fn)(const kernels::GemmArgs&, int64_t, int64_t, int64_t, int64_t);
  const char* name;
  bool kpair = false;  // gemm_kpair: B packed by pack_gemm_b_kpair (one panel of nr = 2N)
};
// kpair: the caller packs B with pack_for_gemm, so the K-pair kernel may be chosen for N = 8
// or 24 (GemmVariant::kpair); the Winograd GEMM, which packs its own, passes false.
// kdim: K when known (0 otherwise); K <= kernels::kGemmShortK may pick the short tile.
GemmVariant gemm_variant(const kernels::F32Kernels& k, int64_t n, bool kpair = false,
                         int64_t kdim = 0);

// A profile name for an f32 kernel: "f32-<op>-<isa>".
std::string kname(const kernels::F32Kernels& k, const char* op);

// Depthwise weights [taps][C] and their bias (zeros when null) in the layout the depthwise
// kernels read ("dw"), cached in *slot across prepares.
std::shared_ptr<PackedWeights> pack_depthwise(int64_t taps, int64_t C, const float* w,
                                              const float* bias,
                                              std::shared_ptr<PackedWeights>* slot);

// The depthwise row kernel's arguments for input `in` [N,H,W,C], kernel `w_shape` [KH,KW,...],
// window `win` (no dilation), weights `p` (pack_depthwise) and the fused activation.
kernels::DwConvArgs depthwise_row_args(const Shape& in, const Shape& w_shape, const Window2D& win,
                                       const PackedWeights& p, const ref::Activation& act);

// A fused block's depthwise input rows, made on demand into a per-thread ring of da.kh rows of
// `row_floats` (slot iy % kh holds row iy of the current image): the da.kh input rows of
// depthwise output row `r` (image r / da.oh) go to rowp, nullptr for padding rows, each offset
// by `offset` floats; fill(n, iy, dst) produces a row the ring does not hold. One RowRing per
// thread. `slots` rows (0: da.kh; at most 8): da.kh + da.sh keeps the rows of two consecutive
// output rows at once.
struct RowRing {
  float* ring = nullptr;
  int64_t row_floats = 0;
  int64_t slots = 0;
  int64_t held[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  const float* at[8] = {};  // where the row of each slot is: the slot, or what fill returned
  int64_t image = -1;

  template <class Fill>
  void rows(const kernels::DwConvArgs& da, int64_t r, int64_t offset, const float** rowp, Fill&& fill) {
    const int64_t n = r / da.oh, oy = r % da.oh;
    const int64_t ns = slots > 0 ? slots : da.kh;
    if (n != image) {
      for (int64_t s = 0; s < ns; s++) held[s] = -1;
      image = n;
    }
    for (int64_t ky = 0; ky < da.kh; ky++) {
      const int64_t iy = oy * da.sh - da.pad_top + ky;
      if (iy < 0 || iy >= da.h) {
        rowp[ky] = nullptr;
        continue;
      }
      const int64_t s = iy % ns;
      if (held[s] != iy) {
        float* dst = ring + s * row_floats;
        // fill(n, iy, dst) writes the row to dst; a fill that returns a pointer may return
        // the row's storage elsewhere instead (a row computed before, shared by threads).
        if constexpr (std::is_void_v<decltype(fill(n, iy, dst))>) {
          fill(n, iy, dst);
          at[s] = dst;
        } else {
          at[s] = fill(n, iy, dst);
        }
        held[s] = iy;
      }
      rowp[ky] = at[s] + offset;
    }
  }
};

struct OptimizedBindContext {
  const kernels::F32Kernels* k = nullptr;
  ThreadPool* pool = nullptr;
  float* const* scratch = nullptr;  // per-thread scratch, at least scratch_floats each, set later
  float* const* shared_scratch = nullptr;  // one buffer for all threads, set later
};

struct OptimizedKernel {
  KernelFn fn;
  std::string name;             // e.g. "f32-gemm-avx512", shown by the profile
  int64_t scratch_floats = 0;   // per-thread scratch this kernel needs
  int64_t shared_scratch_floats = 0;  // one scratch buffer shared by the threads
};

// Binds the optimized kernel for node `n`, or returns an empty fn when the node has none (the
// caller falls back to the reference). `packed` is the node's cache slot.
Result<OptimizedKernel> bind_optimized(const Graph& g, const Node& n,
                                       const std::vector<float*>& ptrs,
                                       const OptimizedBindContext& ctx,
                                       std::shared_ptr<PackedWeights>* packed);

// A Conv2D with a 3x3 window, stride 1, no dilation, one group and constant weights on the
// Winograd F(4x4, 3x3) kernel (runtime/bind-winograd.cpp), where that measured faster than
// im2col + GEMM; an empty fn otherwise. MORSEL_WINOGRAD=0 in the environment turns it off,
// MORSEL_WINOGRAD=1 uses it for every such conv. `win` is the node's resolved window.
Result<OptimizedKernel> bind_winograd(const Graph& g, const Node& n, const Window2D& win,
                                      const std::vector<float*>& ptrs,
                                      const OptimizedBindContext& ctx,
                                      std::shared_ptr<PackedWeights>* packed);

// The int8 nodes (QConv2D, QDepthwiseConv2D, QDense; runtime/bind-quant.cpp): reference kernels,
// and the qs8 GEMM kernels (empty fn where there is none). The i8 weights are read from the graph.
Result<KernelFn> bind_quantized_reference(const Graph& g, const Node& n, const std::vector<float*>& ptrs);
Result<OptimizedKernel> bind_quantized(const Graph& g, const Node& n, const std::vector<float*>& ptrs,
                                       const OptimizedBindContext& ctx,
                                       std::shared_ptr<PackedWeights>* packed);

// A depthwise block that runs as one kernel: [pointwise expand] -> depthwise -> [pointwise
// project] (MobileNet's inverted residual). The kernel walks the depthwise output rows; expanded
// rows are computed into a small per-thread ring and each depthwise output row is projected at
// once, so neither wide intermediate tensor goes to memory. Node indices; -1 when absent. The
// depthwise conv has multiplier 1, no dilation, stride <= window; the pointwise convs are 1x1,
// stride 1, unpadded, with constant weights; each intermediate has exactly one reader.
struct FusedBlock {
  int expand = -1, dw = -1, project = -1;
  int add = -1;  // the residual ADD that is the projection's only reader (see block_residual)
  // f32 only: the expand node is a direct conv on the image (MobileNetV2's 3x3 stem) instead
  // of a pointwise conv; its output rows fill the ring the same way.
  bool direct_expand = false;
  int first() const { return expand >= 0 ? expand : dw; }
  int last() const { return add >= 0 ? add : project >= 0 ? project : dw; }
};
std::vector<FusedBlock> find_fused_blocks(const Graph& g);
// The int8 form (runtime/bind-quant.cpp): QConv2D expand + QDepthwiseConv2D, or [expand ->]
// depthwise -> QConv2D project [-> residual ADD] where int8_block_projects.
Result<OptimizedKernel> bind_fused_block_q(const Graph& g, const FusedBlock& block,
                                           const std::vector<float*>& ptrs,
                                           const OptimizedBindContext& ctx,
                                           std::vector<std::shared_ptr<PackedWeights>>* packed);
// Whether an int8 block (QDepthwiseConv2D) runs its QConv2D projection too: both nodes have
// static input parameters and an int8 GEMM faster than f32 exists (runtime/bind-quant.cpp).
// Otherwise int8 blocks stop at the depthwise conv.
bool int8_block_projects(const Graph& g, const FusedBlock& block, const kernels::F32Kernels& k);
// For a block with a projection (int8, or f32 at fusion 2): the ADD node (two same-shape inputs)
// that is the only reader of the projection's output, when its other input exists before the
// block runs; else -1. The block then adds it to each projected row and writes the ADD's output.
int block_residual(const Graph& g, const FusedBlock& block);
// Binds the block (run at node first()); the block's other nodes then run nothing, and the
// intermediate values need no storage.
Result<OptimizedKernel> bind_fused_block(const Graph& g, const FusedBlock& block,
                                         const std::vector<float*>& ptrs,
                                         const OptimizedBindContext& ctx,
                                         std::vector<std::shared_ptr<PackedWeights>>* packed);

// A classifier head that runs as one kernel: a pointwise conv on the f32 GEMM (with its fused
// residual ADD, if any) whose output is only averaged over each image's pixels (MEAN over H and
// W, or an AVG_POOL whose one window is the whole unpadded image), passed through RESHAPE /
// SQUEEZE nodes and multiplied by a DENSE layer's constant weights. Each task computes panels
// of the conv's output channels, averages them, and adds their share of the dense layer (its
// rows for those channels) to the sum of its panel range. There are at most 16 ranges whatever
// the thread count, added in order at the end, so the output has the same bits at any thread
// count. The conv's tiles fetch those dense rows into L2 while they compute, so the dense
// weights (5 MB on MobileNetV2, larger than L2) no longer stream in after the conv with nothing
// else to do. Neither the conv output nor the pooled vector goes to memory.
//
// For DENSE node `dense`: the MEAN (or AVG_POOL) and RESHAPE / SQUEEZE nodes between it and
// the value the MEAN reads (*pooled: rank 4, [N, H, W, C] with C the dense layer's K), each the
// only reader of its input, none a graph output; false when its input is not such a chain.
bool pooled_dense_chain(const Graph& g, int dense, std::vector<int>* chain, int* pooled);
// Whether conv node `n` (a CONV2D) can run the head: pointwise, constant weights, and at most
// 1024 pixels per image.
bool pooled_dense_conv(const Graph& g, const Node& n);
// Binds the head: `conv` (its residual ADD folded in by the caller, as for bind_optimized)
// writes `dense`'s output. conv_slot and dense_slot: the two nodes' packed-weight caches.
Result<OptimizedKernel> bind_pooled_dense(const Graph& g, const Node& conv, const Node& dense,
                                          const std::vector<float*>& ptrs,
                                          const OptimizedBindContext& ctx,
                                          std::shared_ptr<PackedWeights>* conv_slot,
                                          std::shared_ptr<PackedWeights>* dense_slot);

}  // namespace morsel
