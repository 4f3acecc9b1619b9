// A `morsel bench --interactive` child process, shared by the side-by-side scripts here: it
// answers "N\n" with {"ms":[...]} (N timed runs at batch 1) and ends on "quit".
'use strict';
const { spawn } = require('child_process');
const readline = require('readline');

function startMorsel(bin, model, threads) {
  const child = spawn(bin, ['bench', model, '--interactive', '--threads', String(threads)],
                      { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout });
  const waiting = [];
  rl.on('line', (line) => { const w = waiting.shift(); if (w) w(JSON.parse(line)); });
  const next = () => new Promise((resolve) => waiting.push(resolve));
  return {
    ready: next(),
    async run(n) { child.stdin.write(n + '\n'); return (await next()).ms; },
    stop() { child.stdin.write('quit\n'); child.stdin.end(); },
  };
}

module.exports = { startMorsel };
