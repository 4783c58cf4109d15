// Opens N streaming chat requests to a gateway and keeps them open after the
// first bytes arrive; prints "open N" once all are streaming, then waits to
// be killed. Used by overhead.sh to measure memory with many idle streams.
const [url, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 1000);
let open = 0;
const body = JSON.stringify({
  model: 'main', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }],
});
for (let i = 0; i < n; i++) {
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    .then(async (res) => {
      const reader = res.body.getReader();
      await reader.read();  // the first event: the stream is committed and now idle
      if (++open === n) console.log(`open ${open}`);
      await new Promise(() => {});  // hold it
    })
    .catch((e) => console.error(`stream ${i}: ${e.message}`));
}
setInterval(() => {}, 1 << 30);
