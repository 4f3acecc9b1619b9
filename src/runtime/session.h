// Session: runs a Graph. create() validates, prepare(batch) fixes shapes, converts weights to the
// kernels' dtype and binds one kernel per node; run() executes the nodes in order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace morsel {

struct SessionOptions {
  int threads = 1;       // reserved for the threaded kernels; the reference path is serial
  bool profile = false;  // record time per node
};

struct OpProfile {
  std::string node;
  std::string op;
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

  // inputs: one f32 tensor per graph input, NHWC; a batch different from the prepared one
  // re-prepares. outputs: one tensor per graph output (owned copies).
  Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs);

  // Shapes after prepare (with -1 before it).
  const Shape& input_shape(size_t i) const;
  const Shape& output_shape(size_t i) const;
  size_t num_inputs() const;
  size_t num_outputs() const;

  // Per-node timings accumulated since the last reset (SessionOptions::profile).
  std::vector<OpProfile> profile() const;
  void reset_profile();
  // Bytes of intermediate buffers allocated by prepare.
  int64_t activation_bytes() const { return activation_bytes_; }

 private:
  Session() = default;
  struct BoundNode;

  std::shared_ptr<const Graph> source_;
  Graph graph_;  // copy with concrete shapes; constants share storage with source_
  SessionOptions options_;
  int64_t batch_ = -1;
  std::vector<Tensor> buffers_;      // one per value: constants (f32) and computed values
  std::vector<BoundNode> bound_;
  std::vector<OpProfile> profile_;
  int64_t activation_bytes_ = 0;
};

}  // namespace morsel
