// The (ISA, threads) pairs the runtime tests run each optimized path at: every ISA this CPU
// (or build) has, at 1 and at 3 threads.
#pragma once

#include <vector>

#include "core/cpu.h"

namespace morsel::test {

struct Variant {
  Isa isa;
  int threads;
};

inline std::vector<Variant> isa_variants() {
  std::vector<Variant> v;
  for (int i = 0; i <= static_cast<int>(Isa::WASM_SIMD128); i++)
    if (isa_available(static_cast<Isa>(i)))
      for (int t : {1, 3}) v.push_back({static_cast<Isa>(i), t});
  return v;
}

}  // namespace morsel::test
