// Randomized robustness: thousands of mutated .morsel files (byte flips, truncations, header
// fields, JSON edits), each must load into a valid model or fail with a Status — never crash,
// hang, throw or read out of bounds (the asan preset runs this too). Seeded, so reproducible;
// MORSEL_FORMAT_FUZZ_ITERS=200000 runs a longer campaign locally.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "format/format-test-util.h"

namespace morsel {
namespace {

using namespace morsel::test;

enum Mutation { FLIP, FLIP_RESEALED, TRUNCATE, HEADER_FIELD, JSON_CHAR, JSON_SPLICE, NUM_MUTATIONS };

std::vector<uint8_t> mutate(const std::vector<uint8_t>& good, Mutation kind, std::mt19937& rng) {
  auto pick = [&](size_t n) { return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng) : 0; };
  std::vector<uint8_t> b = good;
  switch (kind) {
    case FLIP:
    case FLIP_RESEALED: {
      const size_t flips = 1 + pick(8);
      for (size_t i = 0; i < flips; i++) b[pick(b.size())] ^= static_cast<uint8_t>(1 + pick(255));
      if (kind == FLIP_RESEALED) reseal(b);
      break;
    }
    case TRUNCATE: {
      b.resize(pick(b.size()));
      if (pick(2)) reseal(b);
      break;
    }
    case HEADER_FIELD: {
      static const std::pair<size_t, int> kFields[] = {
          {H_MAJOR, 2},       {H_MINOR, 2},     {H_FLAGS, 4},       {H_HEADER_SIZE, 4},
          {H_CHECKSUM_ALGO, 4}, {H_META_OFFSET, 8}, {H_META_SIZE, 8}, {H_DATA_OFFSET, 8},
          {H_DATA_SIZE, 8},   {H_FILE_SIZE, 8}};
      const auto [off, n] = kFields[pick(std::size(kFields))];
      const uint64_t old = get_le(b, off, n);
      uint64_t v;
      switch (pick(4)) {
        case 0: v = old + pick(130) - 65; break;  // near the real value
        case 1: v = old ^ (uint64_t{1} << pick(static_cast<size_t>(8 * n))); break;
        case 2: v = static_cast<uint64_t>(rng()) | (static_cast<uint64_t>(rng()) << 32); break;
        default: v = pick(2) ? 0 : UINT64_MAX; break;
      }
      put_le(b, off, v, n);
      reseal(b);
      break;
    }
    case JSON_CHAR:
    case JSON_SPLICE: {
      std::string text = metadata_text(b);
      static const char kChars[] = "{}[]\":,-0123456789.eE \\ntfa";
      const size_t edits = 1 + pick(4);
      for (size_t i = 0; i < edits; i++) {
        const size_t at = pick(text.size());
        if (kind == JSON_CHAR) {
          text[at] = kChars[pick(sizeof kChars - 1)];
        } else {
          // Copy a random slice of the text over another place: keeps JSON-ish structure.
          const size_t from = pick(text.size()), len = pick(40);
          const std::string piece = text.substr(from, len);
          text.replace(at, pick(len + 1), piece);
        }
      }
      b = with_metadata_text(b, text);
      break;
    }
    case NUM_MUTATIONS: break;
  }
  return b;
}

// Touches every constant byte (ASan catches a tensor that points outside the buffer).
uint64_t touch_constants(const Graph& g) {
  uint64_t sum = 0;
  for (const Value& v : g.values) {
    if (!v.is_const()) continue;
    const uint8_t* p = v.data.data<uint8_t>();
    for (size_t i = 0; i < v.data.nbytes(); i++) sum += p[i];
  }
  return sum;
}

// Mutates `good` many times; each result must load or fail with a clear status.
void mutation_campaign(const std::vector<uint8_t>& good, uint32_t seed) {
  ASSERT_FALSE(good.empty());
  std::mt19937 rng(seed);
  const char* env = std::getenv("MORSEL_FORMAT_FUZZ_ITERS");
  const int iters = env ? std::max(static_cast<int>(NUM_MUTATIONS), std::atoi(env)) : 2000;
  int accepted = 0, rejected[NUM_MUTATIONS] = {};
  uint64_t sink = 0;
  for (int iter = 0; iter < iters; iter++) {
    const Mutation kind = static_cast<Mutation>(iter % NUM_MUTATIONS);
    const std::vector<uint8_t> b = mutate(good, kind, rng);
    Result<Model> r = model_load_buffer(b.data(), b.size(), /*copy=*/true);
    if (r.ok()) {
      accepted++;
      ASSERT_TRUE(r->graph.validate().ok()) << "iteration " << iter;
      sink += touch_constants(r->graph);
      for (const Value& v : r->graph.values)  // compact tensors expand within their bounds
        if (v.is_const()) sink += static_cast<uint64_t>(tensor_to_f32(v.data).numel());
    } else {
      rejected[kind]++;
      const StatusCode c = r.status().code();
      ASSERT_TRUE(c == StatusCode::INVALID_MODEL || c == StatusCode::UNSUPPORTED ||
                  c == StatusCode::LIMIT_EXCEEDED)
          << "iteration " << iter << ": " << r.status().to_string();
      ASSERT_FALSE(r.status().message().empty());
    }
    // The metadata-only reader must be just as robust.
    Result<ModelMetadata> md = model_read_metadata_buffer(b.data(), b.size());
    (void)md;
  }
  // Most mutations must be caught; resealed ones must reach (and fail) the deeper checks.
  for (int k = 0; k < NUM_MUTATIONS; k++) EXPECT_GT(rejected[k], 0) << "mutation kind " << k;
  EXPECT_LT(accepted, iters);
  ::testing::Test::RecordProperty("accepted", accepted);
  (void)sink;
}

TEST(FormatRobustness, RandomMutationsNeverCrash) { mutation_campaign(save_or_die(make_test_model()), 20240501); }

// Compact weights (qu8/qu16 with affine records and channel-scale tensors) under the same mutations.
TEST(FormatRobustness, CompactModelMutationsNeverCrash) {
  mutation_campaign(save_or_die(make_compact_test_model()), 20261127);
}

TEST(FormatRobustness, EveryTruncationIsRejected) {
  const std::vector<uint8_t> good = save_or_die(make_test_model());
  for (size_t n = 0; n < good.size(); n++) {
    std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(n));
    Result<Model> r = model_load_buffer(b.data(), b.size(), true);
    ASSERT_FALSE(r.ok()) << "truncated to " << n << " bytes was accepted";
    ASSERT_EQ(r.status().code(), StatusCode::INVALID_MODEL) << n << ": " << r.status().to_string();
  }
}

TEST(FormatRobustness, EverySingleBitFlipIsRejected) {
  const std::vector<uint8_t> good = save_or_die(make_test_model());
  for (size_t i = 0; i < good.size(); i++) {
    std::vector<uint8_t> b = good;
    b[i] ^= static_cast<uint8_t>(1u << (i % 8));
    ASSERT_FALSE(load_status(b).ok()) << "bit flip at byte " << i << " was accepted";
  }
}

}  // namespace
}  // namespace morsel
