#include "core/cpu.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif

namespace morsel {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::GENERIC: return "generic";
    case Isa::AVX2: return "avx2";
    case Isa::AVX512: return "avx512";
    case Isa::WASM_SIMD128: return "wasmsimd";
  }
  return "?";
}

bool isa_from_name(const char* name, Isa* out) {
  if (!name) return false;
  if (!std::strcmp(name, "generic") || !std::strcmp(name, "scalar")) *out = Isa::GENERIC;
  else if (!std::strcmp(name, "avx2")) *out = Isa::AVX2;
  else if (!std::strcmp(name, "avx512")) *out = Isa::AVX512;
  else if (!std::strcmp(name, "wasmsimd")) *out = Isa::WASM_SIMD128;
  else return false;
  return true;
}

Isa isa_supported() {
#if defined(MORSEL_HAVE_WASMSIMD_KERNELS)
  return Isa::WASM_SIMD128;
#endif
#if defined(__x86_64__) && defined(MORSEL_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return Isa::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::AVX2;
#endif
  return Isa::GENERIC;
}

bool isa_available(Isa isa) {
  const Isa best = isa_supported();
  if (isa == Isa::GENERIC || isa == best) return true;
  // The x86 ISAs form a ladder: a CPU with AVX-512 runs the AVX2 kernels too.
  return best != Isa::WASM_SIMD128 && isa != Isa::WASM_SIMD128 &&
         static_cast<int>(isa) < static_cast<int>(best);
}

Isa isa_default() {
  static const Isa isa = [] {
    Isa want;
    if (isa_from_name(std::getenv("MORSEL_ISA"), &want) && isa_available(want)) return want;
    return isa_supported();
  }();
  return isa;
}

int physical_cores() {
  static const int cores = [] {
#if defined(__linux__)
    int logical = 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    std::set<std::pair<std::string, std::string>> ids;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        logical++;
        const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream pkg(base + "physical_package_id"), core(base + "core_id");
        std::string p, c;
        if (!(pkg >> p) || !(core >> c)) {
          ids.clear();
          break;
        }
        ids.insert({p, c});
      }
    }
    if (!ids.empty()) return static_cast<int>(ids.size());
    if (logical > 0) return logical;
#endif
    unsigned hc = std::thread::hardware_concurrency();
    return hc > 0 ? static_cast<int>(hc) : 1;
  }();
  return cores;
}

}  // namespace morsel
