// CPU features, the instruction set the optimized kernels use, and the core count.
// The ISA is chosen once, from CPU features (never from model names); MORSEL_ISA in the
// environment may lower it (scalar | avx2 | avx512) so tests can cover every path on one machine.
#pragma once

namespace morsel {

enum class Isa { GENERIC, AVX2, AVX512 };

const char* isa_name(Isa isa);
// Parses "generic"/"scalar", "avx2", "avx512"; false if unknown.
bool isa_from_name(const char* name, Isa* out);

// Best ISA this CPU (and this build) supports.
Isa isa_supported();
// isa_supported(), lowered by MORSEL_ISA if set (never raised above what the CPU has).
Isa isa_default();

// Physical cores available to this process (at least 1).
int physical_cores();

}  // namespace morsel
