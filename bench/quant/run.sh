#!/usr/bin/env bash
# Quantization benchmark: the nsfwjs MobileNetV2 (and, with --inception, InceptionV3) as f32,
# fp16, dynamic int8 and calibrated int8 .morsel files: file sizes, then batch-1 latency with
# `morsel bench`, the four models alternating within each round, at 1 and 2 threads, on the
# best kernels of this CPU and with lower ones forced (--kernels avx2 / generic). Prints the
# markdown tables of docs/benchmarks.md ("Quantization"): medians over rounds of each round's
# median, and the ratio to f32 measured in the same rounds.
#
#   bench/quant/run.sh [ROUNDS] [PER_ROUND] [--inception]     (defaults 7 and 20)
# MORSEL=path/to/morsel overrides the binary (default build/release/morsel); KERNELS="auto avx2"
# limits the kernel sets (default "auto avx2 generic"); INCEPTION_KERNELS likewise for InceptionV3
# (default: KERNELS). REUSE=1 times the .morsel files an earlier run left in build/bench/quant
# (no calibration or conversion; the sizes are printed all the same).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-7}
PER=${2:-20}
INCEPTION=${3:-}
MORSEL=${MORSEL:-build/release/morsel}
OUT=build/bench/quant
mkdir -p "$OUT"
[ -x "$MORSEL" ] || scripts/build release >/dev/null

# Calibration photos: food photos other than the 24 that tests and docs compare on.
CAL="$OUT/calibration"
if [ "${REUSE:-}" != 1 ]; then
  rm -rf "$CAL" && mkdir -p "$CAL"
  node scripts/photos.js 24 > "$OUT/eval.txt"
  node scripts/photos.js 88 > "$OUT/more.txt"
  grep -v -x -F -f "$OUT/eval.txt" "$OUT/more.txt" > "$OUT/calibration.txt" || true
  while read -r p; do ln -s "$p" "$CAL/"; done < "$OUT/calibration.txt"
fi

echo "# $(date -u +%Y-%m-%d) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "# flags: $(grep -o -w 'avx2\|avx512f\|avx512_vnni\|avx_vnni\|avx512_fp16' /proc/cpuinfo | sort -u | tr '\n' ' ')"

models=(mobilenet_v2)
[ "$INCEPTION" = --inception ] && models+=(inception_v3)
for m in "${models[@]}"; do
  src=models/nsfwjs/$m
  if [ "${REUSE:-}" = 1 ]; then
    for v in f32 fp16 dynamic int8; do
      [ -f "$OUT/$m-$v.morsel" ] || { echo "REUSE=1: $OUT/$m-$v.morsel is missing" >&2; exit 1; }
    done
  else
    "$MORSEL" convert "$src" --normalize unit --resize bilinear_align_corners -o "$OUT/$m-f32.morsel" >/dev/null
    "$MORSEL" convert "$OUT/$m-f32.morsel" --quantize fp16 -o "$OUT/$m-fp16.morsel" >/dev/null
    "$MORSEL" convert "$OUT/$m-f32.morsel" --quantize dynamic -o "$OUT/$m-dynamic.morsel" >/dev/null
    "$MORSEL" convert "$OUT/$m-f32.morsel" --quantize int8 --calibrate "$CAL" --calibrate-count 100 \
      -o "$OUT/$m-int8.morsel" | grep 'int8 (' | sed 's/^note: /# /'
  fi
  f32=$(stat -c %s "$OUT/$m-f32.morsel")
  echo
  echo "$m file sizes:"
  echo
  echo "| model | bytes | of f32 |"
  echo "|---|---:|---:|"
  for v in f32 fp16 dynamic int8; do
    b=$(stat -c %s "$OUT/$m-$v.morsel")
    echo "| $v | $b | $(awk -v a="$b" -v b="$f32" 'BEGIN{printf "%.1f%%", 100*a/b}') |"
  done
  kernel_sets=${KERNELS:-auto avx2 generic}
  [ "$m" = inception_v3 ] && kernel_sets=${INCEPTION_KERNELS:-$kernel_sets}
  for kernels in $kernel_sets; do
    for t in 1 2; do
      : > "$OUT/$m-$kernels-t$t.tsv"
      for r in $(seq "$ROUNDS"); do
        for v in f32 fp16 dynamic int8; do
          "$MORSEL" bench "$OUT/$m-$v.morsel" -t "$t" -n "$PER" --warmup 3 -b 1 --kernels "$kernels" --json |
            node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
              console.log([process.argv[1],process.argv[2],j.batch1_ms.median,j.batch1_cpu_ms.median].join("\t"))})' "$r" "$v" \
            >> "$OUT/$m-$kernels-t$t.tsv"
        done
      done
      echo
      echo "$m, --kernels $kernels, $t thread(s), batch 1, $ROUNDS rounds x $PER runs (ms, median of round medians; ratio = median over rounds of variant/f32 in the same round):"
      echo
      node -e '
        const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => l.split("\t"));
        const med = a => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
        const by = {};
        for (const [r, v, wall, cpu] of rows) (by[v] = by[v] || {})[r] = [+wall, +cpu];
        console.log("| variant | wall ms | CPU ms | wall / f32 | CPU / f32 |");
        console.log("|---|---:|---:|---:|---:|");
        for (const v of ["f32", "fp16", "dynamic", "int8"]) {
          const rs = Object.keys(by[v]);
          const wall = med(rs.map(r => by[v][r][0])), cpu = med(rs.map(r => by[v][r][1]));
          const rw = med(rs.map(r => by[v][r][0] / by.f32[r][0])), rc = med(rs.map(r => by[v][r][1] / by.f32[r][1]));
          console.log(`| ${v} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${rw.toFixed(2)} | ${rc.toFixed(2)} |`);
        }' "$OUT/$m-$kernels-t$t.tsv"
    done
  done
done
