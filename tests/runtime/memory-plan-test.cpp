// Memory plan and thread pool: buffers alive at the same time never overlap; the arena is no
// bigger than the sum and as small as the largest set of simultaneously live buffers on a chain;
// parallel_for runs every task exactly once on every pool size.
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "core/threadpool.h"
#include "runtime/memory_plan.h"

namespace morsel {
namespace {

TEST(MemoryPlan, LiveBuffersNeverOverlap) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 50; trial++) {
    std::vector<BufferLife> bufs;
    const int n = 1 + static_cast<int>(rng() % 40);
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
      const int first = static_cast<int>(rng() % 30);
      bufs.push_back({1 + static_cast<int64_t>(rng() % 5000), first, first + static_cast<int>(rng() % 6)});
      sum += (bufs.back().bytes + 63) / 64 * 64;
    }
    std::vector<int64_t> off;
    const int64_t total = plan_memory(bufs, &off);
    EXPECT_LE(total, sum);
    for (int i = 0; i < n; i++) {
      EXPECT_EQ(off[static_cast<size_t>(i)] % 64, 0);
      EXPECT_LE(off[static_cast<size_t>(i)] + bufs[static_cast<size_t>(i)].bytes, total);
      for (int j = i + 1; j < n; j++) {
        const auto &a = bufs[static_cast<size_t>(i)], &b = bufs[static_cast<size_t>(j)];
        if (a.first > b.last || b.first > a.last) continue;  // never alive together
        const int64_t a0 = off[static_cast<size_t>(i)], b0 = off[static_cast<size_t>(j)];
        EXPECT_TRUE(a0 + a.bytes <= b0 || b0 + b.bytes <= a0) << "buffers " << i << " and " << j;
      }
    }
  }
}

TEST(MemoryPlan, ChainReusesMemory) {
  // A chain x0 -> x1 -> ... : each buffer lives from its producer to its one reader, so two
  // buffers are enough whatever the length.
  std::vector<BufferLife> chain;
  for (int i = 0; i < 20; i++) chain.push_back({1024, i, i + 1});
  std::vector<int64_t> off;
  EXPECT_EQ(plan_memory(chain, &off), 2 * 1024);
}

TEST(ThreadPool, EveryTaskRunsOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
    EXPECT_EQ(pool.threads(), 1);  // a wasm build without pthreads runs on the caller
#else
    EXPECT_EQ(pool.threads(), threads);
#endif
    for (int64_t tasks : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
      std::atomic<int> bad_tid{0};
      for (int rep = 0; rep < 20; rep++)
        pool.parallel_for(tasks, [&](int64_t t, int tid) {
          hits[static_cast<size_t>(t)]++;
          if (tid < 0 || tid >= threads) bad_tid++;
        });
      for (auto& h : hits) EXPECT_EQ(h.load(), 20);
      EXPECT_EQ(bad_tid.load(), 0);
    }
  }
}

}  // namespace
}  // namespace morsel
