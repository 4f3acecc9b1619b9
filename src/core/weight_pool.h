// Storage for prepacked weights: 64-byte-aligned blocks carved from 2 MiB-aligned chunks that
// Linux may back with transparent huge pages (madvise(MADV_HUGEPAGE); the default "madvise"
// THP mode gives none to plain malloc memory). Inference streams every weight once per run;
// with 4 KiB pages that is a TLB miss every 4 KiB (MobileNetV2: 14 MB, about 3,500 pages, more
// than the second-level TLB holds), and the hardware prefetchers stop at each page boundary.
// MobileNetV2 at 1 thread on Zen 4 ran about 3% faster with its packed weights in huge pages
// (docs/benchmarks.md).
//
// A chunk hands out blocks in order and is unmapped when its last block is freed; freed space
// inside a live chunk is not reused (weights are packed once per node and kept for the
// session's life). Elsewhere (wasm, other systems) blocks come from aligned operator new.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace morsel {

// bytes > 0; the result is 64-byte aligned. Throws std::bad_alloc when out of memory.
void* weight_alloc(std::size_t bytes);
void weight_free(void* p, std::size_t bytes);

struct WeightPoolStats {
  std::size_t chunks = 0;       // chunks mapped now
  std::size_t chunk_bytes = 0;  // their total size
  std::size_t live = 0;         // blocks handed out and not freed
  bool huge_pages = false;      // chunks are 2 MiB aligned and advised for huge pages
};
WeightPoolStats weight_pool_stats();

template <class T>
struct WeightAllocator {
  using value_type = T;
  WeightAllocator() = default;
  template <class U>
  WeightAllocator(const WeightAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(weight_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) { weight_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const WeightAllocator<U>&) const { return true; }
};

template <class T>
using weight_vector = std::vector<T, WeightAllocator<T>>;

}  // namespace morsel
