// Binds one graph node to a kernel: turns attributes and concrete shapes into kernel parameters
// once, at prepare time, and returns a closure that runs the kernel on fixed buffers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "graph/graph.h"
#include "kernels/f32/f32.h"
#include "kernels/ref/ref.h"

namespace morsel {

using KernelFn = std::function<void()>;

// The fused activation attributes of a conv/dense node as a clamp range.
ref::Activation activation_of(const Attrs& a);

// `g` has concrete shapes; ptrs[i] is the f32 storage of value i (allocated, stable).
Result<KernelFn> bind_reference(const Graph& g, const Node& n, const std::vector<float*>& ptrs);

// Weights prepacked for one node's optimized kernel; kept across prepares (batch changes).
struct PackedWeights {
  std::string layout;  // which kernel the packing is for, e.g. "gemm-nr32"
  std::vector<float> data;
  std::vector<float> bias;
  int64_t bytes() const { return static_cast<int64_t>((data.size() + bias.size()) * sizeof(float)); }
};

struct OptimizedBindContext {
  const kernels::F32Kernels* k = nullptr;
  ThreadPool* pool = nullptr;
  float* const* scratch = nullptr;  // per-thread scratch, at least scratch_floats each, set later
};

struct OptimizedKernel {
  KernelFn fn;
  std::string name;             // e.g. "f32-gemm-avx512", shown by the profile
  int64_t scratch_floats = 0;   // per-thread scratch this kernel needs
};

// Binds the optimized kernel for node `n`, or returns an empty fn when the node has none (the
// caller falls back to the reference). `packed` is the node's cache slot.
Result<OptimizedKernel> bind_optimized(const Graph& g, const Node& n,
                                       const std::vector<float*>& ptrs,
                                       const OptimizedBindContext& ctx,
                                       std::shared_ptr<PackedWeights>* packed);

// A pointwise conv (1x1, stride 1, no padding) whose only reader is a depthwise conv (multiplier
// 1, no dilation, stride <= window): the pair runs as one kernel that computes the expanded
// rows into a small per-thread ring of rows, so the wide intermediate tensor never goes to
// memory (MobileNet's expand + depthwise).
bool can_fuse_pointwise_depthwise(const Graph& g, const Node& pw, const Node& dw);
// Binds the pair; the depthwise node then runs nothing. The pointwise conv's output value needs
// no storage.
Result<OptimizedKernel> bind_pointwise_depthwise(const Graph& g, const Node& pw, const Node& dw,
                                                 const std::vector<float*>& ptrs,
                                                 const OptimizedBindContext& ctx,
                                                 std::shared_ptr<PackedWeights>* packed_pw,
                                                 std::shared_ptr<PackedWeights>* packed_dw);

}  // namespace morsel
