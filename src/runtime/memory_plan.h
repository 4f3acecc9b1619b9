// Memory plan: intermediate tensors share one arena. Each buffer is live from the node that
// writes it to the last node that reads it; buffers whose lifetimes overlap never overlap in
// memory. Greedy by size (largest first, lowest offset that fits), as TFLite's arena planner.
#pragma once

#include <cstdint>
#include <vector>

namespace morsel {

struct BufferLife {
  int64_t bytes = 0;
  int first = 0, last = 0;  // node indices, inclusive
};

// Returns the arena size; offsets[i] is buffer i's offset (multiples of `align`).
int64_t plan_memory(const std::vector<BufferLife>& buffers, std::vector<int64_t>* offsets,
                    int64_t align = 64);

}  // namespace morsel
