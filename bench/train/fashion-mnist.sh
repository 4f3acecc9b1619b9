#!/usr/bin/env bash
# Fashion-MNIST (Debian's dataset-fashion-mnist: all 60k train / 10k test images) on the nsfwjs
# MobileNetV2 backbone: features, head training, test accuracy, with wall times.
#   bench/train/fashion-mnist.sh [BUILD_DIR=build/release] [extra `morsel train` options...]
# The features are block_12_add (the last ImageNet-trained stage, 14x14x96) pooled to a 7x7 grid;
# CUT=flatten_1 takes the pooled features before the nsfwjs head instead (docs/training.md compares).
# Writes bench/train/results/fashion-mnist.json (the train report) and prints the summary.
# Features are cached (~/.cache/morsel/features), so a second run times the head only: run with
# --no-cache (or a fresh --cache DIR) to time the features too.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build/release}"
shift || true
MORSEL="$BUILD/morsel"
DATA=/usr/share/datasets/fashion-mnist
OUT=bench/train/results
mkdir -p "$OUT" models
[ -f models/mobilenet_v2.morsel ] || "$MORSEL" convert models/nsfwjs/mobilenet_v2 \
  -o models/mobilenet_v2.morsel --name nsfwjs-mobilenet_v2 --normalize unit --resize bilinear_align_corners
# Class names from the table in the dataset's own README ("| 0 | T-shirt/top |").
zcat /usr/share/doc/dataset-fashion-mnist/README.md.gz |
  sed -n 's/^| \([0-9]\) | \(.*\) |$/\2/p' > "$OUT/fashion-mnist-classes.txt"
[ "$(wc -l < "$OUT/fashion-mnist-classes.txt")" = 10 ] || { echo "cannot read the class names"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
start=$SECONDS
"$MORSEL" train "$DATA" --labels "$OUT/fashion-mnist-classes.txt" \
  --backbone models/mobilenet_v2.morsel -o models/fashion-mnist.morsel --cut "${CUT:-block_12_add@7}" \
  --report "$OUT/fashion-mnist.json" "$@"
echo "wall $((SECONDS - start)) s"
