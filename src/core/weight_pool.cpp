#include "core/weight_pool.h"

#include <algorithm>
#include <cstdint>
#include <mutex>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#define MORSEL_WEIGHT_CHUNKS 1
#else
#define MORSEL_WEIGHT_CHUNKS 0
#endif

namespace morsel {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kHuge = std::size_t{2} << 20;   // the x86-64 and arm64 THP size
constexpr std::size_t kChunk = std::size_t{16} << 20;  // chunks hold several layers' weights

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

void* fallback_alloc(std::size_t bytes) {
  return ::operator new(round_up(std::max<std::size_t>(bytes, 1), kAlign), std::align_val_t{kAlign});
}
void fallback_free(void* p) { ::operator delete(p, std::align_val_t{kAlign}); }

#if MORSEL_WEIGHT_CHUNKS
struct Chunk {
  char* base = nullptr;
  std::size_t size = 0, used = 0, live = 0;
};

struct Pool {
  std::mutex mu;
  std::vector<Chunk> chunks;  // the last one takes new blocks
  std::size_t fallback_live = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: weights may be freed by static destructors
  return *p;
}

// A 2 MiB-aligned anonymous mapping of `size` bytes (a multiple of 2 MiB), or nullptr.
char* map_chunk(std::size_t size) {
  void* m = mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  char* raw = static_cast<char*>(m);
  char* base = reinterpret_cast<char*>(round_up(reinterpret_cast<std::uintptr_t>(raw), kHuge));
  if (base > raw) munmap(raw, static_cast<std::size_t>(base - raw));
  const std::size_t tail = static_cast<std::size_t>(raw + size + kHuge - (base + size));
  if (tail > 0) munmap(base + size, tail);
#if defined(MADV_HUGEPAGE)
  madvise(base, size, MADV_HUGEPAGE);  // advice only: without THP the chunk keeps 4 KiB pages
#endif
  return base;
}
#endif

}  // namespace

void* weight_alloc(std::size_t bytes) {
#if MORSEL_WEIGHT_CHUNKS
  const std::size_t need = round_up(std::max<std::size_t>(bytes, 1), kAlign);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.chunks.empty() || p.chunks.back().size - p.chunks.back().used < need) {
    const std::size_t size = std::max(kChunk, round_up(need, kHuge));
    char* base = map_chunk(size);
    if (!base) {
      p.fallback_live++;
      return fallback_alloc(bytes);
    }
    p.chunks.push_back(Chunk{base, size, 0, 0});
  }
  Chunk& c = p.chunks.back();
  void* out = c.base + c.used;
  c.used += need;
  c.live++;
  return out;
#else
  return fallback_alloc(bytes);
#endif
}

void weight_free(void* ptr, std::size_t /*bytes*/) {
  if (!ptr) return;
#if MORSEL_WEIGHT_CHUNKS
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  char* q = static_cast<char*>(ptr);
  for (auto it = p.chunks.begin(); it != p.chunks.end(); ++it) {
    if (q < it->base || q >= it->base + it->size) continue;
    if (--it->live == 0) {
      munmap(it->base, it->size);
      p.chunks.erase(it);
    }
    return;
  }
  p.fallback_live--;
#endif
  fallback_free(ptr);
}

WeightPoolStats weight_pool_stats() {
  WeightPoolStats s;
#if MORSEL_WEIGHT_CHUNKS
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  s.chunks = p.chunks.size();
  for (const Chunk& c : p.chunks) {
    s.chunk_bytes += c.size;
    s.live += c.live;
  }
  s.live += p.fallback_live;
  s.huge_pages = true;
#endif
  return s;
}

}  // namespace morsel
