// bench.html?cores=N: the page reports N for navigator.hardwareConcurrency. TF.js's wasm backend
// sizes its XNNPACK thread pool from it (half the reported cores) whatever setThreadsCount
// asks for, so on a 2-core machine it runs 1 thread unless told there are more cores.
(() => {
  const n = Number(new URLSearchParams(location.search).get('cores'));
  if (n > 0) Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => n });
})();
