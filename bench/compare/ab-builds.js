// Two morsel builds side by side, in one run: `morsel bench --interactive` child processes of
// binaries A and B alternate rounds of runs (which one goes first alternates too), with a short
// pause between them so one build's spinning worker threads do not take the other's cores.
// Prints the median time of each build, B/A over all runs, and the median of the per-round
// ratios (less sensitive to the machine's load changing during the run). Run it again with A and
// B swapped: a real difference shows in both orders.
//
//   node bench/compare/ab-builds.js BIN_A BIN_B MODEL.morsel [--threads 1] [--rounds 30]
//        [--per-round 10] [--pause-ms 30]
'use strict';
const { startMorsel } = require('./morsel-child');

function parseArgs(argv) {
  const a = { threads: 1, rounds: 30, perRound: 10, pauseMs: 30, pos: [] };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--threads') { a.threads = Number(v); i++; }
    else if (k === '--rounds') { a.rounds = Number(v); i++; }
    else if (k === '--per-round') { a.perRound = Number(v); i++; }
    else if (k === '--pause-ms') { a.pauseMs = Number(v); i++; }
    else a.pos.push(k);
  }
  if (a.pos.length !== 3) throw new Error('usage: ab-builds.js BIN_A BIN_B MODEL.morsel [options]');
  return a;
}


const median = (v) => { const s = [...v].sort((x, y) => x - y); return s[s.length >> 1]; };

async function main() {
  const a = parseArgs(process.argv);
  const [binA, binB, model] = a.pos;
  const A = startMorsel(binA, model, a.threads), B = startMorsel(binB, model, a.threads);
  await A.ready;
  await B.ready;
  await A.run(a.perRound);  // warm-up
  await B.run(a.perRound);
  const pause = () => new Promise((resolve) => setTimeout(resolve, a.pauseMs));
  const msA = [], msB = [], ratios = [];
  for (let r = 0; r < a.rounds; r++) {
    let x, y;
    if (r % 2) { x = await A.run(a.perRound); await pause(); y = await B.run(a.perRound); }
    else { y = await B.run(a.perRound); await pause(); x = await A.run(a.perRound); }
    await pause();
    msA.push(...x);
    msB.push(...y);
    ratios.push(median(y) / median(x));
  }
  A.stop();
  B.stop();
  console.log(`${a.threads} thread(s), ${a.rounds} rounds of ${a.perRound} runs: A ${median(msA).toFixed(3)} ms, ` +
              `B ${median(msB).toFixed(3)} ms, B/A ${(median(msB) / median(msA)).toFixed(3)}, ` +
              `median of round ratios ${median(ratios).toFixed(3)}`);
}

main().catch((e) => { console.error('ab-builds: ' + (e && e.message ? e.message : e)); process.exit(1); });
