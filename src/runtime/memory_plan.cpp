#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace morsel {

int64_t plan_memory(const std::vector<BufferLife>& buffers, std::vector<int64_t>* offsets,
                    int64_t align) {
  const size_t n = buffers.size();
  offsets->assign(n, 0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  int64_t total = 0;
  for (size_t i : order) {
    const BufferLife& bi = buffers[i];
    const int64_t size = (bi.bytes + align - 1) / align * align;
    // Placed buffers alive at the same time, by offset.
    std::vector<size_t> live;
    for (size_t j : placed)
      if (buffers[j].first <= bi.last && bi.first <= buffers[j].last) live.push_back(j);
    std::sort(live.begin(), live.end(), [&](size_t a, size_t b) { return (*offsets)[a] < (*offsets)[b]; });
    int64_t offset = 0;
    for (size_t j : live) {
      const int64_t jsize = (buffers[j].bytes + align - 1) / align * align;
      if ((*offsets)[j] - offset >= size) break;  // fits in the gap before j
      offset = std::max(offset, (*offsets)[j] + jsize);
    }
    (*offsets)[i] = offset;
    total = std::max(total, offset + size);
    placed.push_back(i);
  }
  return total;
}

}  // namespace morsel
