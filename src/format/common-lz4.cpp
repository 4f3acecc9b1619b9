// LZ4 block compression (see lz4.h).
#include <cstring>

#include "format/lz4.h"

namespace morsel::lz4 {

namespace {

constexpr size_t kMinMatch = 4;
constexpr size_t kLastLiterals = 5;   // the block ends with at least 5 literal bytes
constexpr size_t kMatchStartEnd = 12;  // no match starts in the last 12 bytes
constexpr int kHashBits = 14;

uint32_t read32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void put_length(std::vector<uint8_t>* out, size_t rest) {  // the part of a length beyond 15
  for (; rest >= 255; rest -= 255) out->push_back(255);
  out->push_back(static_cast<uint8_t>(rest));
}

void put_sequence(std::vector<uint8_t>* out, const uint8_t* lit, size_t lit_len, size_t offset,
                  size_t match_len) {
  const size_t ml = match_len >= kMinMatch ? match_len - kMinMatch : 0;
  const uint8_t token = static_cast<uint8_t>((lit_len < 15 ? lit_len : 15) << 4 |
                                             (match_len ? (ml < 15 ? ml : 15) : 0));
  out->push_back(token);
  if (lit_len >= 15) put_length(out, lit_len - 15);
  out->insert(out->end(), lit, lit + lit_len);
  if (!match_len) return;  // the last sequence: literals only
  out->push_back(static_cast<uint8_t>(offset & 0xff));
  out->push_back(static_cast<uint8_t>(offset >> 8));
  if (ml >= 15) put_length(out, ml - 15);
}

// Adds length bytes (255 while saturated) to *len; false when the input ends or the length
// exceeds `limit`.
bool get_length(const uint8_t* src, size_t n, size_t* ip, size_t limit, size_t* len) {
  for (;;) {
    if (*ip >= n) return false;
    const uint8_t b = src[(*ip)++];
    *len += b;
    if (*len > limit) return false;
    if (b != 255) return true;
  }
}

}  // namespace

std::vector<uint8_t> compress(const uint8_t* src, size_t n) {
  std::vector<uint8_t> out;
  out.reserve(n / 2 + 16);
  size_t anchor = 0;
  if (n > kMatchStartEnd) {
    std::vector<int64_t> table(size_t{1} << kHashBits, -1);
    const size_t start_limit = n - kMatchStartEnd;  // matches start before this
    const size_t end_limit = n - kLastLiterals;     // and end at or before this
    auto hash = [](uint32_t v) { return (v * 2654435761u) >> (32 - kHashBits); };
    for (size_t i = 0; i < start_limit;) {
      const uint32_t seq = read32(src + i);
      int64_t& slot = table[hash(seq)];
      const int64_t cand = slot;
      slot = static_cast<int64_t>(i);
      if (cand < 0 || i - static_cast<size_t>(cand) > 65535 || read32(src + cand) != seq) {
        i++;
        continue;
      }
      size_t len = kMinMatch;
      while (i + len < end_limit && src[static_cast<size_t>(cand) + len] == src[i + len]) len++;
      put_sequence(&out, src + anchor, i - anchor, i - static_cast<size_t>(cand), len);
      i += len;
      anchor = i;
    }
  }
  put_sequence(&out, src + anchor, n - anchor, 0, 0);
  return out;
}

Status decompress(const uint8_t* src, size_t n, size_t out_size, std::vector<uint8_t>* out) {
  out->assign(out_size, 0);
  uint8_t* dst = out->data();
  size_t ip = 0, op = 0;
  for (;;) {
    if (ip >= n) return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: the block is truncated");
    const uint8_t token = src[ip++];
    size_t lit = token >> 4;
    if (lit == 15 && !get_length(src, n, &ip, out_size, &lit))
      return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: bad literal length");
    if (lit > n - ip || lit > out_size - op)
      return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: literals run past the block");
    if (lit) std::memcpy(dst + op, src + ip, lit);
    ip += lit;
    op += lit;
    if (ip == n) break;  // the last sequence has no match
    if (n - ip < 2) return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: the block is truncated");
    const size_t offset = src[ip] | static_cast<size_t>(src[ip + 1]) << 8;
    ip += 2;
    if (offset == 0 || offset > op)
      return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: match offset %zu is out of range", offset);
    size_t len = token & 15;
    if (len == 15 && !get_length(src, n, &ip, out_size, &len))
      return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: bad match length");
    len += kMinMatch;
    if (len > out_size - op)
      return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: a match runs past the output");
    for (size_t k = 0; k < len; k++, op++) dst[op] = dst[op - offset];  // may overlap itself
  }
  if (op != out_size)
    return MORSEL_ERROR(INVALID_MODEL, "compressed metadata: expands to %zu bytes, expected %zu", op,
                        out_size);
  return Status();
}

}  // namespace morsel::lz4
