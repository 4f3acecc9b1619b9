// A std::vector whose storage starts on a 64-byte boundary (one cache line, one AVX-512 vector).
// The activation arena, scratch and packed weights use it: glibc's malloc aligns large blocks to
// 16 bytes only, and a 64-byte vector load from a 16-byte boundary spans two cache lines, which
// halves the load rate of the kernels that stream activations (the depthwise rows ran 2x slower
// on a misaligned arena, `morsel bench MODEL --profile`).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace morsel {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kCacheLine}); }
  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const { return true; }
};

template <class T>
using aligned_vector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace morsel
