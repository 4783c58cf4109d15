// Streaming latency through a proxy: `conns` loops, each sending streaming
// chat requests back to back over its own keep-alive connection for `seconds`.
// Prints one JSON line: streams completed, errors, time to first byte of the
// body (TTFB) and the gap between body chunks as they reach the client, each
// as p50/p90/p99 in milliseconds. Used by overhead.sh; asserts nothing.
//   node bench/stream_latency.mjs URL CONNS SECONDS [MAX_TOKENS]
import http from 'node:http';

const [url, connsArg, secondsArg, tokensArg] = process.argv.slice(2);
const conns = Number(connsArg ?? 8);
const seconds = Number(secondsArg ?? 5);
const target = new URL(url);
const body = JSON.stringify({
  model: 'main', stream: true, max_tokens: Number(tokensArg ?? 16),
  messages: [{ role: 'user', content: 'hello' }],
});
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const ttfb = [];
const gaps = [];
let streams = 0;
let errors = 0;
const until = performance.now() + seconds * 1000;

function once() {
  return new Promise((resolve) => {
    const sent = performance.now();
    const req = http.request({
      host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
        authorization: 'Bearer bench-key',
      },
    }, (res) => {
      let last = 0;
      res.on('data', () => {
        const now = performance.now();
        if (last === 0) ttfb.push(now - sent); else gaps.push(now - last);
        last = now;
      });
      res.on('end', () => {
        if (res.statusCode === 200 && last !== 0) streams++; else errors++;
        resolve();
      });
      res.on('error', () => { errors++; resolve(); });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(body);
  });
}

async function loop() {
  while (performance.now() < until) await once();
}

function pct(xs, p) {
  if (xs.length === 0) return null;
  const i = Math.min(xs.length - 1, Math.floor((p / 100) * xs.length));
  return Number(xs[i].toFixed(2));
}
function summary(xs) {
  xs.sort((a, b) => a - b);
  return { p50: pct(xs, 50), p90: pct(xs, 90), p99: pct(xs, 99) };
}

await Promise.all(Array.from({ length: conns }, loop));
agent.destroy();
console.log(JSON.stringify({
  conns, seconds, streams, errors, ttfb_ms: summary(ttfb), chunk_gap_ms: summary(gaps),
}));
