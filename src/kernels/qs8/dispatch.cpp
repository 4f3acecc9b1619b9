// Picks the qs8 kernel table from CPU features, once per session.
#include "kernels/qs8/qs8.h"

namespace morsel::kernels {

namespace scalar { const Qs8Kernels& qs8_table(); }
#if defined(MORSEL_HAVE_X86_KERNELS)
namespace avx2 { const Qs8Kernels& qs8_table(); }
namespace avx512vnni { const Qs8Kernels& qs8_table(); }
#endif

namespace {
bool cpu_has_avx512vnni() {
#if defined(MORSEL_HAVE_X86_KERNELS) && defined(__x86_64__)
  __builtin_cpu_init();
  return isa_supported() == Isa::AVX512 && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}
}  // namespace

const Qs8Kernels& qs8_kernels(Isa isa) {
#if defined(MORSEL_HAVE_X86_KERNELS)
  if (isa == Isa::AVX512 && cpu_has_avx512vnni()) return avx512vnni::qs8_table();
  if (isa != Isa::GENERIC && isa_supported() != Isa::GENERIC) return avx2::qs8_table();
#endif
  (void)isa;
  return scalar::qs8_table();
}

int qs8_available(const Qs8Kernels** out, int max) {
  int n = 0;
  if (n < max) out[n++] = &scalar::qs8_table();
#if defined(MORSEL_HAVE_X86_KERNELS)
  if (n < max && isa_supported() != Isa::GENERIC) out[n++] = &avx2::qs8_table();
  if (n < max && cpu_has_avx512vnni()) out[n++] = &avx512vnni::qs8_table();
#endif
  return n;
}

}  // namespace morsel::kernels
