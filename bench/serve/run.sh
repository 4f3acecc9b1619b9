#!/usr/bin/env bash
# Load test of `morsel serve` with MobileNetV2 and a real JPEG, side by side with the engine alone.
#
#   bench/serve/run.sh [BUILD_DIR]        (default build/release; needs morsel and morsel-serve-load)
#
# In one run it measures:
#   1. engine only, `morsel bench MODEL --threads 1` (batch 1 median): the engine's own figure;
#   2. HTTP: throughput and p50/p90/p99 latency at concurrency 1, 8 and 64 (keep-alive
#      connections, closed loop, POST /v1/models/NAME:classify with the JPEG);
#   3. ROUNDS alternating rounds of engine-only in-process with W parallel Sessions (W = the
#      server's --workers; the same decoded and preprocessed image) and HTTP at concurrency 8:
#      the engine's throughput at the server's parallelism next to the server's, round by round;
#   4. the server's resident memory after 1,000 and after 10,000 requests at concurrency 8.
# and checks, at concurrency 8: HTTP + decode overhead <= 15% of engine time (engine throughput
# at W / HTTP throughput - 1, the median over the rounds), zero errors, RSS(10,000) within 10% of
# RSS(1,000). It also prints the same rounds in CPU time: the server's CPU per request (all its
# threads) against the engine's CPU per image, and the load client's own CPU per request.
#
# Environment: MODEL (default models/mobilenet_v2.morsel, converted from models/nsfwjs if absent),
# IMAGE (default: the first of scripts/photos.js), WORKERS (default nproc), DURATION (seconds per
# HTTP concurrency level, default 20), ROUNDS (default 5, sharing DURATION), RSS_REQUESTS
# (default 10000), OUT (results directory, default bench/serve/results: one JSON line per
# measurement), SERVE_ARGS (more `morsel serve` options, e.g. "--max-batch 1"). Exit 1 when a
# check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build/release}
MORSEL=$BUILD/morsel
LOAD=$BUILD/bench/serve/morsel-serve-load
MODEL=${MODEL:-models/mobilenet_v2.morsel}
WORKERS=${WORKERS:-$(nproc)}
DURATION=${DURATION:-20}
RSS_REQUESTS=${RSS_REQUESTS:-10000}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-bench/serve/results}
SERVE_ARGS=${SERVE_ARGS:-}
for bin in "$MORSEL" "$LOAD"; do
  [[ -x $bin ]] || { echo "missing $bin: build the morsel and morsel-serve-load targets in $BUILD" >&2; exit 2; }
done
if [[ ! -f $MODEL ]]; then
  mkdir -p "$(dirname "$MODEL")"
  "$MORSEL" convert models/nsfwjs/mobilenet_v2 -o "$MODEL" --normalize unit --resize bilinear_align_corners
fi
IMAGE=${IMAGE:-$(node scripts/photos.js 1)}
mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RES=$OUT/serve-$STAMP.jsonl
LOG=$(mktemp /tmp/morsel-serve-bench.XXXXXX.log)  # the server's own log, kept for a look on failure
: > "$RES"
echo "model $MODEL, image $IMAGE ($(stat -c %s "$IMAGE") bytes), workers $WORKERS, $(nproc) CPUs" >&2

# 1. The engine's own figures: one thread (latency), and one thread per worker (throughput).
for t in 1 "$WORKERS"; do
  "$MORSEL" bench "$MODEL" --threads "$t" --runs 50 --batch 1 --json |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(json.dumps({"mode":"morsel_bench","threads":j["threads"],"batch1_median_ms":j["batch1_ms"]["median"],"isa":j.get("isa")}))' |
    tee -a "$RES" >&2
done

# 2-4. The server.
"$MORSEL" serve --model "mobilenet_v2=$MODEL" --port 0 --workers "$WORKERS" --no-access-log $SERVE_ARGS > "$LOG" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
PORT=""
for _ in $(seq 1 600); do
  PORT=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except ValueError: continue
    if j.get("msg")=="listening": print(j["port"]); break' "$LOG" 2>/dev/null || true)
  [[ -n $PORT ]] && curl -fs "http://127.0.0.1:$PORT/v2/health/ready" > /dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
echo "server pid $SERVER on port $PORT" >&2

load() { "$LOAD" --port "$PORT" --model mobilenet_v2 --image "$IMAGE" --rss-pid "$SERVER" "$@" | tee -a "$RES" >&2; }
tag() { python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); j["mode"]=sys.argv[1]; j["round"]=int(sys.argv[2]); print(json.dumps(j))' "$@"; }
load -c 1 -d "$DURATION" --warmup 5 || true
load -c 8 -d "$DURATION" --warmup 5 || true
load -c 64 -d "$DURATION" --warmup 2 || true
# The overhead check: engine-only and HTTP at concurrency 8 alternate in short rounds, so both
# see the same machine (these machines are shared); the ratio is taken per round.
SEG=$(( DURATION / ROUNDS > 2 ? DURATION / ROUNDS : 2 ))
for r in $(seq 1 "$ROUNDS"); do
  "$LOAD" --engine "$MODEL" --engine-threads "$WORKERS" --image "$IMAGE" -d "$SEG" | tag engine "$r" | tee -a "$RES" >&2
  { "$LOAD" --port "$PORT" --model mobilenet_v2 --image "$IMAGE" --rss-pid "$SERVER" -c 8 -d "$SEG" --warmup 2 || true; } | tag http8 "$r" | tee -a "$RES" >&2
done
# Memory: a fresh server, 1,000 requests, then the rest up to RSS_REQUESTS.
kill -TERM $SERVER; wait $SERVER || true
"$MORSEL" serve --model "mobilenet_v2=$MODEL" --port "$PORT" --workers "$WORKERS" --no-access-log $SERVE_ARGS >> "$LOG" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$PORT/v2/health/ready" > /dev/null 2>&1 && break
  sleep 0.1
done
"$LOAD" --port "$PORT" --model mobilenet_v2 --image "$IMAGE" --rss-pid "$SERVER" -c 8 -n 1000 --warmup 0 |
  python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); j["mode"]="rss_1000"; print(json.dumps(j))' | tee -a "$RES" >&2
"$LOAD" --port "$PORT" --model mobilenet_v2 --image "$IMAGE" --rss-pid "$SERVER" -c 8 -n $((RSS_REQUESTS - 1000)) --warmup 0 |
  python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); j["mode"]="rss_total"; print(json.dumps(j))' | tee -a "$RES" >&2
kill -TERM $SERVER; wait $SERVER || true
trap - EXIT

python3 - "$RES" "$WORKERS" "$RSS_REQUESTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
workers, rss_n = int(sys.argv[2]), int(sys.argv[3])
benches = [r for r in rows if r["mode"] == "morsel_bench"]
bench1 = next(r for r in benches if r["threads"] == 1)
benchw = benches[-1]
eng_r = {r["round"]: r for r in rows if r["mode"] == "engine"}
http_r = {r["round"]: r for r in rows if r["mode"] == "http8"}
rounds = sorted(set(eng_r) & set(http_r))
ratios = sorted(eng_r[i]["throughput_ips"] / http_r[i]["throughput_rps"] for i in rounds)
eng_ips = sorted(eng_r[i]["throughput_ips"] for i in rounds)[len(rounds) // 2]
http = {r["concurrency"]: r for r in rows if r["mode"] == "http"}
r1k = next(r for r in rows if r["mode"] == "rss_1000")
rall = next(r for r in rows if r["mode"] == "rss_total")
print(f"engine only: morsel bench --threads 1: {bench1['batch1_median_ms']:.2f} ms/image; "
      f"--threads {benchw['threads']}: {benchw['batch1_median_ms']:.2f} ms/image ({1000/benchw['batch1_median_ms']:.1f} images/s); "
      f"in-process, {workers} Sessions in parallel: {eng_ips:.1f} images/s (median of {len(rounds)} rounds)")
print("| concurrency | requests | errors | req/s | p50 ms | p90 ms | p99 ms | server RSS MiB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in sorted(http):
    r = http[c]; l = r["latency_ms"]
    print(f"| {c} | {r['requests']} | {r['errors']} | {r['throughput_rps']:.1f} | {l['p50']:.1f} | {l['p90']:.1f} | "
          f"{l['p99']:.1f} | {r['server_rss_kib']/1024:.0f} |")
ok = True
c1, c8 = http.get(1), http.get(8)
print(f"concurrency 1: p50 {c1['latency_ms']['p50']:.2f} ms vs the engine's {bench1['batch1_median_ms']:.2f} ms "
      f"({100*(c1['latency_ms']['p50']/bench1['batch1_median_ms']-1):+.1f}%: HTTP, decode, preprocess, queue)")
overhead = ratios[len(ratios) // 2] - 1
print("rounds (engine images/s, HTTP c=8 req/s): " +
      ", ".join(f"{eng_r[i]['throughput_ips']:.1f}/{http_r[i]['throughput_rps']:.1f}" for i in rounds))
bench_overhead = (1000 / benchw["batch1_median_ms"]) / c8["throughput_rps"] - 1
print(f"concurrency 8: HTTP + decode overhead {100*overhead:+.1f}% of engine time at the same parallelism "
      f"(median of per-round ratios {', '.join(f'{100*(x-1):+.1f}%' for x in ratios)}; limit 15%); "
      f"morsel bench --threads {benchw['threads']} alone would give {1000/benchw['batch1_median_ms']:.1f} images/s "
      f"({100*bench_overhead:+.1f}% vs the c=8 row)")
cpu_rounds = [i for i in rounds if "cpu_ms_per_image" in eng_r[i] and "server_cpu_ms_per_request" in http_r[i]]
if cpu_rounds:
    cpu_ratios = sorted(http_r[i]["server_cpu_ms_per_request"] / eng_r[i]["cpu_ms_per_image"] for i in cpu_rounds)
    client = sorted(http_r[i]["client_cpu_ms_per_request"] for i in cpu_rounds)[len(cpu_rounds) // 2]
    print(f"concurrency 8, CPU time: the server spends {100*(cpu_ratios[len(cpu_ratios)//2]-1):+.1f}% more CPU per request "
          f"than the engine alone per image (median of {', '.join(f'{100*(x-1):+.1f}%' for x in cpu_ratios)}); "
          f"the load client used {client:.3f} ms of CPU per request on the same cores")
ok &= overhead <= 0.15
ok &= c8["errors"] == 0 and all(http_r[i]["errors"] == 0 for i in rounds)
errors = r1k["errors"] + rall["errors"]
growth = rall["server_rss_kib"] / r1k["server_rss_kib"] - 1
print(f"resident memory: {r1k['server_rss_kib']/1024:.0f} MiB after 1,000 requests, "
      f"{rall['server_rss_kib']/1024:.0f} MiB after {rss_n:,} ({100*growth:+.1f}%; limit 10%), errors {errors}")
ok &= growth <= 0.10 and errors == 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
