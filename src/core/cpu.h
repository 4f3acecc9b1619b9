// CPU features, the instruction set the optimized kernels use, and the core count.
// The ISA is chosen once, from CPU features (never from model names); MORSEL_ISA in the
// environment may lower it (scalar | avx2 | avx512 | wasmsimd) so tests can cover every path on
// one machine. WASM SIMD128 is a build-time choice (the wasm presets), never detected.
#pragma once

namespace morsel {

enum class Isa { GENERIC, AVX2, AVX512, WASM_SIMD128 };

const char* isa_name(Isa isa);
// Parses "generic"/"scalar", "avx2", "avx512", "wasmsimd"; false if unknown.
bool isa_from_name(const char* name, Isa* out);

// Best ISA this CPU (and this build) supports.
Isa isa_supported();
// Whether this CPU and build can run `isa`'s kernels (GENERIC always; the x86 ones up to
// isa_supported() on x86; WASM_SIMD128 in a SIMD wasm build).
bool isa_available(Isa isa);
// isa_supported(), lowered by MORSEL_ISA if set (only to an available ISA).
Isa isa_default();

// Physical cores available to this process (at least 1).
int physical_cores();

}  // namespace morsel
