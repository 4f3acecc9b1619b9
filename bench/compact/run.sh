#!/usr/bin/env bash
# Compact weights: the nsfwjs MobileNetV2 and InceptionV3 (uint8-quantized TF.js models)
# converted as f32 (the default) and with `--keep-weights compact`: file sizes, then batch-1
# latency with `morsel bench -t 1 -n PER_ROUND -b 1`, the two files alternating within each
# round, and the wall time of one `morsel predict` (load + session + one photo). Prints the
# markdown tables of docs/benchmarks.md ("Quantization", compact weights):
# medians over rounds of each round's median, and the median of the per-round ratios to f32.
#
#   bench/compact/run.sh [ROUNDS] [PER_ROUND]       (defaults 5 and 30)
# MORSEL=path/to/morsel overrides the binary (default build/release/morsel); OUT the work folder
# (default build/bench/compact).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
PER=${2:-30}
MORSEL=${MORSEL:-build/release/morsel}
OUT=${OUT:-build/bench/compact}
mkdir -p "$OUT"
[ -x "$MORSEL" ] || scripts/build release >/dev/null

echo "# $(date -u +%Y-%m-%d) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
models=(mobilenet_v2 inception_v3)
for m in "${models[@]}"; do
  args=(--normalize unit --resize bilinear_align_corners)
  "$MORSEL" convert "models/nsfwjs/$m" "${args[@]}" -o "$OUT/$m-f32.morsel" >/dev/null
  "$MORSEL" convert "models/nsfwjs/$m" "${args[@]}" --keep-weights compact -o "$OUT/$m-compact.morsel" >/dev/null
done

echo
echo "| model | f32 bytes | compact bytes |"
echo "|---|---:|---:|"
for m in "${models[@]}"; do
  f=$(stat -c %s "$OUT/$m-f32.morsel")
  c=$(stat -c %s "$OUT/$m-compact.morsel")
  awk -v m="$m" -v f="$f" -v c="$c" 'BEGIN { printf "| %s | %\047d | %\047d (%.1f %%) |\n", m, f, c, 100 * c / f }'
done

# Rounds: each file once per round, alternating which goes first. Besides `morsel bench`, the
# wall time of a whole `morsel predict -t 1` of one photo: load, session (where compact weights
# are expanded), decode, one inference.
photo=$(node scripts/photos.js 1)
for m in "${models[@]}"; do
  : > "$OUT/$m-times.txt"
  for r in $(seq 1 "$ROUNDS"); do
    order=(f32 compact)
    [ $((r % 2)) -eq 0 ] && order=(compact f32)
    for v in "${order[@]}"; do
      t0=$(date +%s%N)
      "$MORSEL" predict "$OUT/$m-$v.morsel" "$photo" -t 1 >/dev/null
      t1=$(date +%s%N)
      "$MORSEL" bench "$OUT/$m-$v.morsel" -t 1 -n "$PER" --warmup 3 -b 1 --json |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print(sys.argv[1], sys.argv[2], j["batch1_ms"]["median"], j["batch1_cpu_ms"]["median"], j["memory"]["peak_rss_mb"], sys.argv[3])' "$r" "$v" "$(( (t1 - t0) / 1000 ))" \
        >> "$OUT/$m-times.txt"
    done
  done
done

echo
echo "| model | f32 ms (wall / CPU) | compact ms (wall / CPU) | compact / f32 (wall / CPU) | peak RSS MB f32 / compact | predict one photo ms f32 / compact |"
echo "|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  python3 - "$m" "$OUT/$m-times.txt" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[2])]
by = {}
for r, v, wall, cpu, rss, predict_us in rows:
    by.setdefault(v, {})[int(r)] = (float(wall), float(cpu), float(rss), float(predict_us) / 1000)
f, c = by["f32"], by["compact"]
med = lambda d, i: st.median(x[i] for x in d.values())
ratio = lambda i: st.median(c[r][i] / f[r][i] for r in f)
print(f"| {sys.argv[1]} | {med(f, 0):.2f} / {med(f, 1):.2f} | {med(c, 0):.2f} / {med(c, 1):.2f} | "
      f"{ratio(0):.3f} / {ratio(1):.3f} | {med(f, 2):.0f} / {med(c, 2):.0f} | {med(f, 3):.0f} / {med(c, 3):.0f} |")
EOF
done
