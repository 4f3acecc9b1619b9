// A small seeded random generator whose sequence is the same on every platform and compiler
// (std:: distributions are implementation-defined): splitmix64 for seeding, xoshiro256** for
// the stream. Training, augmentation and data splits draw from it so runs are reproducible.
#pragma once

#include <cmath>
#include <cstdint>

namespace morsel {

inline uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mixes several values into one seed (e.g. base seed, epoch, sample index).
inline uint64_t seed_mix(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull);
  return splitmix64(&s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) {
    uint64_t s = seed;
    for (auto& v : s_) v = splitmix64(&s);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 24 bits (exactly representable as float).
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (multiply-shift for n < 2^32: bias below 2^-32).
  uint64_t below(uint64_t n) {
    if (n <= 0xFFFFFFFFull) return ((next() >> 32) * n) >> 32;
    return next() % n;
  }
  // Standard normal (Box-Muller).
  float normal() {
    float u1 = uniform();
    if (u1 < 1e-12f) u1 = 1e-12f;
    const float u2 = uniform();
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2);
  }
  // Fisher-Yates shuffle of [first, first + n).
  template <typename T>
  void shuffle(T* first, size_t n) {
    for (size_t i = n; i > 1; i--) {
      const size_t j = static_cast<size_t>(below(i));
      T tmp = first[i - 1];
      first[i - 1] = first[j];
      first[j] = tmp;
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace morsel
