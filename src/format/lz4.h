// LZ4 block compression for the model file's metadata block (docs/model-format.md, "Compressed
// metadata"). The block format is LZ4's: sequences of a token (literal length << 4 | match length
// - 4), extra length bytes of 255 while a length field is saturated, the literals, and a 16-bit
// little-endian match offset. Our own implementation, no dependency: the compressor is a greedy
// single-probe hash matcher (the metadata is a few tens of KB of JSON); the decompressor checks
// every length and offset against both buffers, so any byte string in gives either exactly
// `out_size` bytes or an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace morsel::lz4 {

// Compresses `n` bytes; the result decompresses to exactly them.
std::vector<uint8_t> compress(const uint8_t* src, size_t n);

// Decompresses one block that must expand to exactly `out_size` bytes.
Status decompress(const uint8_t* src, size_t n, size_t out_size, std::vector<uint8_t>* out);

}  // namespace morsel::lz4
