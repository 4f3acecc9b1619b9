// The LZ4 block codec of the metadata block, and model files with compressed metadata: round
// trips on varied inputs, and every damaged block gives an error (never a crash or a wrong size).
#include <gtest/gtest.h>

#include <random>

#include "format/format-test-util.h"
#include "format/lz4.h"

namespace morsel {
namespace {

using namespace morsel::test;

std::vector<uint8_t> roundtrip(const std::vector<uint8_t>& in) {
  const std::vector<uint8_t> packed = lz4::compress(in.data(), in.size());
  std::vector<uint8_t> out;
  const Status st = lz4::decompress(packed.data(), packed.size(), in.size(), &out);
  EXPECT_TRUE(st.ok()) << st.to_string() << " (input " << in.size() << " bytes)";
  return out;
}

TEST(Lz4, RoundTripsVariedInputs) {
  std::mt19937 rng(5);
  std::vector<std::vector<uint8_t>> inputs = {{}, {'a'}, std::vector<uint8_t>(12, 'x'),
                                              std::vector<uint8_t>(13, 'x'),
                                              std::vector<uint8_t>(100000, 0)};
  for (size_t n : {1, 5, 17, 64, 300, 4096, 70000, 200000}) {
    std::vector<uint8_t> noise(n), words(n), runs(n);
    const char* vocab[] = {"{\"dtype\":\"f32\",", "\"shape\":[", "\"name\":\"block_", "]},", "1,", "64"};
    std::string text;
    while (text.size() < n) text += vocab[rng() % 6];
    for (size_t i = 0; i < n; i++) {
      noise[i] = static_cast<uint8_t>(rng());
      words[i] = static_cast<uint8_t>(text[i]);
      runs[i] = static_cast<uint8_t>((i / 300) % 7);  // long matches (length bytes past 255)
    }
    inputs.push_back(noise);
    inputs.push_back(words);
    inputs.push_back(runs);
  }
  for (const auto& in : inputs) EXPECT_EQ(roundtrip(in), in) << in.size() << " bytes";

  // Repetitive text shrinks (the point of compressing the metadata).
  const std::vector<uint8_t>& words = inputs[inputs.size() - 2];
  EXPECT_LT(lz4::compress(words.data(), words.size()).size(), words.size() / 3);
}

TEST(Lz4, DamagedBlocksAreErrors) {
  std::string text;
  for (int i = 0; i < 400; i++) text += "{\"name\":\"node_" + std::to_string(i % 37) + "\",\"op\":\"Conv2D\"},";
  const std::vector<uint8_t> in(text.begin(), text.end());
  const std::vector<uint8_t> packed = lz4::compress(in.data(), in.size());
  std::vector<uint8_t> out;
  // Wrong expected size, either way.
  EXPECT_FALSE(lz4::decompress(packed.data(), packed.size(), in.size() - 1, &out).ok());
  EXPECT_FALSE(lz4::decompress(packed.data(), packed.size(), in.size() + 1, &out).ok());
  // Every truncation.
  for (size_t cut = 0; cut < packed.size(); cut++)
    EXPECT_FALSE(lz4::decompress(packed.data(), cut, in.size(), &out).ok()) << "cut at " << cut;
  // A match reaching before the start, and offset 0.
  const uint8_t before[] = {0x10, 'a', 0x02, 0x00, 0x00};  // 1 literal, then offset 2
  EXPECT_NE(lz4::decompress(before, sizeof before, 10, &out).message().find("offset"), std::string::npos);
  const uint8_t zero[] = {0x10, 'a', 0x00, 0x00, 0x00};
  EXPECT_FALSE(lz4::decompress(zero, sizeof zero, 10, &out).ok());
  // A saturated length that never ends, and one larger than the output.
  const uint8_t endless[] = {0xf0, 255, 255, 255};
  EXPECT_FALSE(lz4::decompress(endless, sizeof endless, 1000, &out).ok());
  // Random corruption: an error or exactly the expected size, never more.
  std::mt19937 rng(11);
  for (int t = 0; t < 3000; t++) {
    std::vector<uint8_t> bad = packed;
    for (int k = 0; k < 1 + t % 4; k++) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    const Status st = lz4::decompress(bad.data(), bad.size(), in.size(), &out);
    if (st.ok()) {
      EXPECT_EQ(out.size(), in.size());
    }
  }
}

TEST(Lz4, ModelFilesStoreCompressedMetadata) {
  const Model m = make_test_model();
  const std::vector<uint8_t> file = save_or_die(m);
  const format_detail::FileHeader h = header_of(file);
  EXPECT_EQ(h.flags & kFlagMetadataLz4, kFlagMetadataLz4);
  const std::string text = metadata_text(file);
  EXPECT_LT(h.metadata_size, text.size());  // smaller than the JSON it holds
  EXPECT_EQ(text.front(), '{');
  ASSERT_TRUE(load_status(file).ok());
  // The same JSON stored plain (flag clear) loads too: files from before compression.
  const std::vector<uint8_t> plain = with_metadata_text(file, text);
  EXPECT_EQ(header_of(plain).flags & kFlagMetadataLz4, 0u);
  ASSERT_TRUE(load_status(plain).ok());
}

TEST(Lz4, DamagedCompressedMetadataIsAClearError) {
  const std::vector<uint8_t> good = save_or_die(make_test_model());
  const format_detail::FileHeader h = header_of(good);
  // The declared JSON size: zero, over the limit, and off by one.
  for (uint64_t raw : {uint64_t{0}, kMaxMetadataBytes + 1, uint64_t{metadata_text(good).size() + 1}}) {
    std::vector<uint8_t> b = good;
    put_le(b, static_cast<size_t>(h.metadata_offset), raw, 8);
    reseal(b);
    const Status st = load_status(b);
    EXPECT_EQ(st.code(), StatusCode::INVALID_MODEL) << raw;
    EXPECT_NE(st.message().find("metadata"), std::string::npos) << st.message();
  }
  // Flipped bytes inside the block, with a valid checksum: an error or a JSON error, never a crash.
  std::mt19937 rng(3);
  for (int t = 0; t < 500; t++) {
    std::vector<uint8_t> b = good;
    const size_t at = static_cast<size_t>(h.metadata_offset + 8 + rng() % (h.metadata_size - 8));
    b[at] = static_cast<uint8_t>(b[at] ^ (1 + rng() % 255));
    reseal(b);
    const Status st = load_status(b);
    if (!st.ok()) {
      EXPECT_NE(st.code(), StatusCode::INTERNAL) << st.to_string();
    }
  }
}

}  // namespace
}  // namespace morsel
