// Many slow streams at once through a proxy: opens N streaming chat requests
// (each on its own connection, RAMP per second so the listen queue is not a
// SYN flood), reads every one to its end, and prints one JSON line: streams
// completed, errors (with the first reason), how late events came (the
// largest gap between two events of a stream, p50/p99 over streams, against
// the upstream's own gap), and how long the whole run took. Used by
// slow_streams.sh; asserts nothing.
//   node bench/slow_streams.mjs URL N [RAMP_PER_SECOND]
import http from 'node:http';

const [url, nArg, rampArg] = process.argv.slice(2);
const n = Number(nArg ?? 10000);
const ramp = Number(rampArg ?? 2000);
const target = new URL(url);
const body = JSON.stringify({
  model: 'main', stream: true, max_tokens: 100000, messages: [{ role: 'user', content: 'hi' }],
});
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const maxGaps = [];
let done = 0;
let errors = 0;
let open = 0;
let peakOpen = 0;
let firstError = '';
const started = performance.now();

function fail(why) {
  errors++;
  if (!firstError) firstError = why;
}

function one() {
  return new Promise((resolve) => {
    const req = http.request({
      host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
        authorization: 'Bearer bench-key',
      },
    }, (res) => {
      open++;
      peakOpen = Math.max(peakOpen, open);
      let last = 0;
      let maxGap = 0;
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const now = performance.now();
        if (last !== 0) maxGap = Math.max(maxGap, now - last);
        last = now;
        tail = (tail + chunk).slice(-64);
      });
      res.on('end', () => {
        open--;
        if (res.statusCode === 200 && tail.includes('[DONE]')) {
          done++;
          maxGaps.push(maxGap);
        } else {
          fail(`status ${res.statusCode}: ${tail.trim().slice(0, 60)}`);
        }
        resolve();
      });
      res.on('error', (e) => { open--; fail(e.message); resolve(); });
    });
    req.on('error', (e) => { fail(e.message); resolve(); });
    req.end(body);
  });
}

const all = [];
for (let i = 0; i < n; i++) {
  if (i > 0 && i % Math.max(1, Math.floor(ramp / 10)) === 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
  all.push(one());
}
await Promise.all(all);
maxGaps.sort((a, b) => a - b);
const pct = (p) => (maxGaps.length ? +maxGaps[Math.min(maxGaps.length - 1,
  Math.floor(p / 100 * maxGaps.length))].toFixed(1) : null);
console.log(JSON.stringify({
  streams: done, errors, first_error: firstError, peak_open: peakOpen,
  max_gap_ms: { p50: pct(50), p99: pct(99), max: pct(100) },
  seconds: +((performance.now() - started) / 1000).toFixed(1),
}));
