// Binds one graph node to a kernel: turns attributes and concrete shapes into kernel parameters
// once, at prepare time, and returns a closure that runs the kernel on fixed buffers.
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace morsel {

using KernelFn = std::function<void()>;

// `g` has concrete shapes; buffers[i] is the f32 storage of value i (allocated, stable).
Result<KernelFn> bind_reference(const Graph& g, const Node& n, std::vector<Tensor>& buffers);

}  // namespace morsel
