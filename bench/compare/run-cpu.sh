#!/usr/bin/env bash
# Side-by-side CPU benchmark: morsel vs ONNX Runtime (onnxruntime-node) on MobileNetV2 224,
# InceptionV3 299 and ResNet50 224, batch 1, at 1 and 2 threads. Each engine runs the same ONNX
# file (torchvision architectures with seeded random weights, exported by export-onnx.py; morsel
# imports it with `morsel convert`). Prints markdown tables (the ones in docs/benchmarks.md).
#
#   bench/compare/run-cpu.sh [ROUNDS] [PER_ROUND]      (defaults 10 and 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-10}
PER=${2:-20}
OUT=build/bench
mkdir -p "$OUT" data/onnx
[ -x build/release/morsel ] || scripts/build release >/dev/null
/usr/bin/python3 bench/compare/export-onnx.py data/onnx mobilenet_v2 inception_v3 resnet50 >/dev/null
echo "# $(date -u +%Y-%m-%d) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "# flags: $(grep -m1 -o -w 'avx2\|fma\|avx512f\|avx512bw\|avx512vl\|avx512_vnni\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
for m in mobilenet_v2 inception_v3 resnet50; do
  build/release/morsel convert "data/onnx/$m.onnx" -o "$OUT/$m.morsel" --normalize imagenet >/dev/null
  node bench/compare/ort-vs-morsel.js --morsel "$OUT/$m.morsel" --onnx "data/onnx/$m.onnx" \
    --rounds "$ROUNDS" --per-round "$PER" --label "$m (same ONNX file in both engines)" \
    --json "$OUT/ort-vs-morsel-$m.json"
done
