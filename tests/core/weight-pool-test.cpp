// The weight pool (core/weight_pool.h): alignment, blocks that do not overlap, chunks unmapped
// when their last block is freed, blocks larger than a chunk, and use from several threads.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "core/weight_pool.h"

namespace morsel {
namespace {

TEST(WeightPool, AlignedDisjointBlocksAndChunksFreed) {
  const WeightPoolStats before = weight_pool_stats();
  std::vector<std::pair<char*, std::size_t>> blocks;
  for (std::size_t bytes : {1, 63, 64, 100, 4096, 614400, 5 << 20, 3}) {
    char* p = static_cast<char*>(weight_alloc(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << bytes;
    std::memset(p, static_cast<int>(blocks.size() + 1), bytes);
    blocks.push_back({p, bytes});
  }
  // Every block still holds its own fill: none overlaps another.
  for (std::size_t i = 0; i < blocks.size(); i++)
    for (std::size_t j = 0; j < blocks[i].second; j++)
      ASSERT_EQ(blocks[i].first[j], static_cast<char>(i + 1)) << "block " << i << " byte " << j;
  const WeightPoolStats during = weight_pool_stats();
  if (during.huge_pages) {
    EXPECT_EQ(during.live, before.live + blocks.size());
    EXPECT_GT(during.chunks, before.chunks);
    EXPECT_EQ(during.chunk_bytes % (std::size_t{2} << 20), 0u);
  }
  for (auto& b : blocks) weight_free(b.first, b.second);
  const WeightPoolStats after = weight_pool_stats();
  EXPECT_EQ(after.live, before.live);
  EXPECT_EQ(after.chunks, before.chunks);  // emptied chunks are unmapped
  EXPECT_EQ(after.chunk_bytes, before.chunk_bytes);
}

TEST(WeightPool, BlockLargerThanAChunk) {
  const WeightPoolStats before = weight_pool_stats();
  const std::size_t bytes = std::size_t{40} << 20;
  char* p = static_cast<char*>(weight_alloc(bytes));
  p[0] = 1;
  p[bytes - 1] = 2;
  const WeightPoolStats during = weight_pool_stats();
  if (during.huge_pages) {
    EXPECT_GE(during.chunk_bytes - before.chunk_bytes, bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % (std::size_t{2} << 20), 0u);  // a new chunk
  }
  EXPECT_EQ(p[0] + p[bytes - 1], 3);
  weight_free(p, bytes);
  EXPECT_EQ(weight_pool_stats().chunk_bytes, before.chunk_bytes);
}

TEST(WeightPool, WeightVectorAndThreads) {
  const WeightPoolStats before = weight_pool_stats();
  std::vector<int> ok(4, 0);
  auto body = [&ok](int t) {
    int good = 1;
    for (int round = 0; round < 50; round++) {
      weight_vector<float> v(static_cast<std::size_t>(1000 + 997 * round));
      for (std::size_t i = 0; i < v.size(); i++) v[i] = static_cast<float>(t * 100000 + i);
      for (std::size_t i = 0; i < v.size(); i++) good &= v[i] == static_cast<float>(t * 100000 + i);
      good &= reinterpret_cast<std::uintptr_t>(v.data()) % 64 == 0;
    }
    ok[static_cast<std::size_t>(t)] = good;
  };
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
  for (int t = 0; t < 4; t++) body(t);  // no threads in this build
#else
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) threads.emplace_back(body, t);
  for (auto& th : threads) th.join();
#endif
  for (int t = 0; t < 4; t++) EXPECT_EQ(ok[static_cast<std::size_t>(t)], 1) << "thread " << t;
  const WeightPoolStats after = weight_pool_stats();
  EXPECT_EQ(after.live, before.live);
  EXPECT_EQ(after.chunks, before.chunks);
}

}  // namespace
}  // namespace morsel
