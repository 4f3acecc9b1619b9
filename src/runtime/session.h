// Session: runs a Graph. create() validates, prepare(batch) fixes shapes, converts weights to the
// kernels' dtype and binds one kernel per node; run() executes the nodes in order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "graph/graph.h"
#include "kernels/f32/f32.h"

namespace morsel {

struct PackedWeights;

class Session;

struct SessionOptions {
  int threads = 0;       // 0: one per physical core
  bool profile = false;  // record time per node
  // Kernels: the optimized ones for the best ISA (lowered by MORSEL_ISA), or the scalar
  // references only (the oracle; serial).
  bool reference_kernels = false;
  int isa = -1;  // -1: isa_default(); otherwise an Isa value, capped at isa_supported()
  // Fused depthwise blocks (see FusedBlock in runtime/bind.h): 0 none, 1 expand + depthwise,
  // 2 also the projection. MORSEL_FUSE in the environment overrides it (diagnostics). Native
  // builds default to 2 (MobileNetV2, alternating `MORSEL_FUSE=1|2 morsel bench -t 1|2`: 3.18
  // against 3.07 ms at 1 thread, 1.65 against 1.63 at 2); the WebAssembly build keeps 1, where
  // 2 has not been measured.
#if defined(__EMSCRIPTEN__)
  int fusion = 1;
#else
  int fusion = 2;
#endif
  // A pool shared by sessions that never run at the same time (the browser engine: one wasm
  // module's models take turns on its one set of workers); its size replaces `threads`.
  // Null: the session starts its own pool of `threads`.
  std::shared_ptr<ThreadPool> pool;
  // A session of the same model and options whose packed weights this one shares (read-only,
  // reference counted) instead of packing its own copy: the server's sessions for other run
  // sizes on one worker. Only read by Session::create; the other session may go away later.
  const Session* share_packed_from = nullptr;
};

struct OpProfile {
  std::string node;
  std::string op;
  std::string kernel;  // e.g. "f32-gemm-avx512" or "ref"
  Shape out_shape;
  double total_ms = 0;
  int64_t calls = 0;
};

class Session {
 public:
  // The graph (and whatever backs its constant tensors) must stay alive: keep the shared_ptr.
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Graph> graph,
                                                 SessionOptions options = {});
  ~Session();

  // Fixes the batch size (the first dim of every input whose first dim is -1), infers every
  // shape, checks them, allocates buffers and binds kernels. Called by run() when needed.
  Status prepare(int64_t batch);
  int64_t batch() const { return batch_; }
  // How many times prepare() built a plan (a call with the prepared batch is free).
  int64_t prepare_count() const { return prepare_count_; }

  // inputs: one f32 tensor per graph input, NHWC; a batch different from the prepared one
  // re-prepares. outputs: one tensor per graph output (owned copies).
  Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs);
  // The session's own storage for input i at the prepared batch (prepare() first; an empty
  // tensor before it or for an index out of range), as a tensor that shares it. Writing the
  // input there and passing this tensor to run() saves run() the copy (0.6 MB for a 224x224
  // image: about 57 us, 1% of MobileNetV2 at 1 thread on Zen 4). A prepare() for another batch
  // replaces the storage; run() then copies from the old tensor like from any other.
  Tensor input_tensor(size_t i) const;

  // Shapes after prepare (with -1 before it).
  const Shape& input_shape(size_t i) const;
  const Shape& output_shape(size_t i) const;
  size_t num_inputs() const;
  size_t num_outputs() const;

  // Per-node timings accumulated since the last reset (SessionOptions::profile).
  std::vector<OpProfile> profile() const;
  void reset_profile();
  // Bytes of the arena that intermediate tensors share (planned by prepare from their
  // lifetimes), of prepacked weights, and of per-thread scratch.
  int64_t activation_bytes() const { return activation_bytes_; }
  // activation_bytes() of the batch-1 plan, from the last prepare(1); -1 before one.
  int64_t batch1_activation_bytes() const { return batch1_activation_bytes_; }
  int64_t packed_weight_bytes() const;
  // Bytes of packed weights this session holds in the same objects as `other` (share_packed_from).
  int64_t packed_bytes_shared_with(const Session& other) const;
  int64_t scratch_bytes() const { return scratch_bytes_; }
  // Bytes the intermediates would take with one buffer each (no sharing).
  int64_t unplanned_activation_bytes() const { return unplanned_bytes_; }
  int threads() const { return pool_ ? pool_->threads() : 1; }
  const char* isa() const;  // "ref" for reference kernels

 private:
  Session() = default;
  struct BoundNode;

  std::shared_ptr<const Graph> source_;
  Graph graph_;  // copy with concrete shapes; constants share storage with source_
  SessionOptions options_;
  int64_t batch_ = -1;
  std::shared_ptr<ThreadPool> pool_;
  const kernels::F32Kernels* kernels_ = nullptr;  // null: reference kernels only
  std::vector<Tensor> const_f32_;    // constants as f32 (shared with the model when f32)
  std::vector<Tensor> io_buffers_;   // graph inputs and outputs
  std::vector<float*> ptrs_;         // value id -> storage
  aligned_vector<float> arena_;         // intermediates, placed by the memory plan
  std::vector<aligned_vector<float>> scratch_;  // per thread
  std::vector<float*> scratch_ptrs_;
  aligned_vector<float> shared_scratch_;
  float* shared_scratch_ptr_ = nullptr;
  std::vector<std::shared_ptr<PackedWeights>> packed_;  // per node, kept across prepares
  std::vector<BoundNode> bound_;
  std::vector<OpProfile> profile_;
  int64_t activation_bytes_ = 0, unplanned_bytes_ = 0, scratch_bytes_ = 0;
  int64_t batch1_activation_bytes_ = -1;
  int64_t prepare_count_ = 0;
};

// Runs a batch of independent images ([N, ...] in, [N, ...] out, one output) in micro-batches
// whose intermediates fit in cache: images per run = the largest divisor of N whose arena stays
// under `cache_bytes` (at least 1). Large activations at batch N would otherwise stream through
// memory; per-image runs keep them in L2/L3. Only for graphs that treat images independently
// (classifiers do). cache_bytes 0: 4 MB per session thread. Measured on MobileNetV2 (a 4.0 MB
// arena per image, `morsel bench -b 4`): at 1 thread per-image runs were 6% faster than pairs,
// at 2 threads pairs 2% faster than per-image runs (more rows to split between the threads).
Status run_micro_batched(Session& s, const Tensor& input, Tensor* output, int64_t cache_bytes = 0);
// The default cache budget of run_micro_batched for a session with `threads` threads.
inline int64_t micro_batch_bytes(int threads) { return (int64_t{4} << 20) * (threads > 1 ? threads : 1); }

}  // namespace morsel
