// Compact weights (qu8/qu16 affine tensors and f16 ones kept from the source): how many a graph
// holds, and expanding them to f32 for the steps that need f32 weights (quantization).
#include "graph/passes/passes.h"

namespace morsel::passes {

CompactWeightStats compact_weight_stats(const Graph& g) {
  CompactWeightStats s;
  for (const Value& v : g.values) {
    if (!v.is_const()) continue;
    const int64_t bytes = static_cast<int64_t>(v.data.nbytes());
    switch (v.data.dtype()) {
      case DType::QU8:
      case DType::QU16:
        s.affine++;
        s.affine_bytes += bytes;
        if (v.data.affine() && !v.data.affine()->channel_scale.empty()) s.per_channel++;
        break;
      case DType::F16:
        s.f16++;
        s.f16_bytes += bytes;
        break;
      case DType::F32:
        s.f32++;
        s.f32_bytes += bytes;
        break;
      default:
        s.other++;
        s.other_bytes += bytes;
        break;
    }
  }
  return s;
}

int expand_compact_weights(Graph& g) {
  int n = 0;
  for (Value& v : g.values) {
    if (!v.is_const()) continue;
    const DType t = v.data.dtype();
    if (t != DType::QU8 && t != DType::QU16 && t != DType::F16) continue;
    v.data = tensor_to_f32(v.data);
    v.dtype = DType::F32;
    n++;
  }
  return n;
}

}  // namespace morsel::passes
