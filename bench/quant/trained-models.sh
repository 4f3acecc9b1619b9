#!/usr/bin/env bash
# fp16 / dynamic int8 / int8 versions of the models `morsel train` made (docs/training.md), side
# by side with their f32 file in one `morsel eval --compare` run each: size, latency at 1 and 2
# threads, top-1 agreement with f32 and accuracy on labelled data. fp16-calibrated is fp16 with
# its roundings chosen on the calibration images (`--quantize fp16 --calibrate`; about 40 s for
# the Fashion-MNIST model).
#
#   bench/quant/trained-models.sh [fashion-mnist] [food]     (default: both)
#
# Needs build/release/morsel (MORSEL=... overrides) and the trained models: models/fashion-mnist.morsel
# (bench/train/fashion-mnist.sh) and models/food.morsel (scripts/main). The f32 baseline is the
# trained file rewritten by this build's writer, so every file in a table has the same metadata
# encoding. Calibration images: 200 Fashion-MNIST training images; for food, the photos of the
# groups with fewer than 14 photos, which the food model does not classify (none of the photos
# it is compared on). Output: build/bench/quant-trained/*.morsel and bench/quant/results/*-compare.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
MORSEL=${MORSEL:-build/release/morsel}
OUT=build/bench/quant-trained
RES=bench/quant/results
mkdir -p "$OUT" "$RES"
[ -x "$MORSEL" ] || scripts/build release >/dev/null
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(fashion-mnist food)

variants() {  # name src calibration-dir [count]
  local name=$1 src=$2 cal=$3 count=${4:-100}
  # A huge --fp16-min-elements keeps every tensor f32: the f32 model in this build's encoding.
  "$MORSEL" convert "$src" --quantize fp16 --fp16-min-elements 1000000000000 -o "$OUT/$name.morsel" >/dev/null
  "$MORSEL" convert "$src" --quantize fp16 -o "$OUT/$name-fp16.morsel" | sed 's/^/# /'
  "$MORSEL" convert "$src" --quantize fp16 --calibrate "$cal" --calibrate-count "$count" \
    -o "$OUT/$name-fp16-calibrated.morsel" | sed 's/^/# /'
  "$MORSEL" convert "$src" --quantize dynamic -o "$OUT/$name-dynamic.morsel" | sed 's/^/# /'
  "$MORSEL" convert "$src" --quantize int8 --calibrate "$cal" --calibrate-count "$count" \
    -o "$OUT/$name-int8.morsel" 2>&1 | grep 'int8 (' | sed 's/^/# /'
}

for w in "${which[@]}"; do
  case $w in
    fashion-mnist)
      cal=$OUT/fashion-mnist-calibration
      /usr/bin/python3 bench/quant/idx-sample.py /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz "$cal" 200
      variants fashion-mnist models/fashion-mnist.morsel "$cal" 200
      "$MORSEL" eval "$OUT/fashion-mnist.morsel" /usr/share/datasets/fashion-mnist \
        --labels bench/train/results/fashion-mnist-classes.txt \
        --compare "$OUT"/fashion-mnist-{fp16,fp16-calibrated,dynamic,int8}.morsel | tee "$RES/fashion-mnist-compare.txt"
      ;;
    food)
      cal=$OUT/food-calibration
      rm -rf "$cal" && mkdir -p "$cal"
      for d in data/food/*/; do
        n=$(find -L "$d" -maxdepth 1 -type f | wc -l)
        if [ "$n" -lt 14 ]; then find -L "$d" -maxdepth 1 -type f -exec ln -sf "$(pwd)/{}" "$cal/" \; ; fi
      done
      variants food models/food.morsel "$cal"
      "$MORSEL" eval "$OUT/food.morsel" data/food --dedup --min-per-class 14 --top-k 3 \
        --compare "$OUT"/food-{fp16,fp16-calibrated,dynamic,int8}.morsel | tee "$RES/food-compare.txt"
      ;;
    *) echo "unknown model set: $w" >&2; exit 2 ;;
  esac
done
