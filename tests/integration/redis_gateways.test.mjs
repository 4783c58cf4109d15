// Several gateways, one set of limits (issue 6): two `sluice serve` processes
// share state through a real redis-server in front of one `sluice sim`.
// Everything listens on 127.0.0.1 (port 0, or a port just handed out for
// redis-server, which cannot report port 0) and is stopped at the end.
// Run: SLUICE_BIN=... node --test redis_gateways.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.env.SLUICE_BIN;
assert.ok(bin, 'SLUICE_BIN must name the sluice binary');
const redisBin = process.env.REDIS_SERVER || '/usr/bin/redis-server';

const children = new Set();
const workdir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Starts a process; resolves with the first match of `pattern` in stdout.
// stderr is kept on the child (child.log) for assertions on log lines.
function start(cmd, args, pattern) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENROUTER_API_KEY', 'ZAI_API_KEY',
                     'MOONSHOT_API_KEY', 'GROQ_API_KEY']) delete env[k];
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.log = '';
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timeout starting ${args.join(' ')}\n${child.log}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); resolve({ child, m }); }
    });
    child.stderr.on('data', (d) => { child.log += d; });
    child.on('exit', (code) => { children.delete(child); clearTimeout(timer); reject(new Error(`exited ${code}\n${child.log}`)); });
  });
}

async function startRedis(port) {
  const child = spawn(redisBin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', workdir], { stdio: 'ignore' });
  children.add(child);
  child.on('exit', () => children.delete(child));
  // Ready when it accepts a PING over RESP.
  for (let i = 0; i < 250; ++i) {
    if (await ping(port)) return child;
    await sleep(20);
  }
  throw new Error('redis-server did not come up');
}

function ping(port) {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => resolve(false));
      c.on('connect', () => c.write('PING\r\n'));
      c.on('data', (d) => { resolve(String(d).startsWith('+PONG')); c.destroy(); });
    });
  });
}

function kill9(child) {
  return new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL'); });
}

const chat = (base, model, extra = {}) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', ...extra },
  body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
});

const stats = async (url) => (await fetch(`${url}/_sim/stats`)).json();

let simZai, simSlow, simPool; // simulator base URLs
let redisPort, redis;
let gwA, gwB;                 // { child, base }

const gatewayYaml = (leaseTtl) => `server: {listen: "127.0.0.1:0"}
state: {backend: redis, url: "redis://127.0.0.1:${redisPort}/0", lease_ttl: ${leaseTtl}, key_prefix: "it:"}
providers:
  zai: {api: openai, dialect: zai, base_url: "${simZai}/api/paas/v4", keys: [env:ZAI_KEY], max_concurrent: 1}
  slow: {api: openai, dialect: openai, base_url: "${simSlow}/v1", keys: [env:SLOW_KEY], max_concurrent: 1}
  pool: {api: openai, dialect: openai, base_url: "${simPool}/v1", keys: [env:POOL_GOOD, env:POOL_BAD], strategy: round_robin}
models:
  main: {route: [zai/glm-5.1]}
  slow: {route: [slow/gpt-4o-mini]}
  pooled: {route: [pool/gpt-4o-mini]}
`;

async function startGateway(name, leaseTtl = '1s') {
  const path = join(workdir, `${name}.yaml`);
  writeFileSync(path, gatewayYaml(leaseTtl));
  const { child, m } = await start(bin, ['serve', '-c', path], /serving on (http:\/\/127\.0\.0\.1:\d+)/);
  return { child, base: m[1] };
}

before(async () => {
  writeFileSync(join(workdir, 'sim.yaml'), `providers:
  zai: {dialect: zai, listen: "127.0.0.1:0", keys: [zai-secret-1], concurrency: 1, latency: 60ms}
  slow: {dialect: openai, listen: "127.0.0.1:0", keys: [slow-secret-2], latency: 2500ms}
  pool: {dialect: openai, listen: "127.0.0.1:0", keys: [good-secret-3], latency: 5ms}
`);
  const sim = spawn(bin, ['sim', '--config', join(workdir, 'sim.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(sim);
  const urls = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('sim did not start')), 20000);
    sim.stdout.on('data', (d) => {
      out += d;
      const found = {};
      for (const m of out.matchAll(/sim: (\w+) \(\w+\) listening on (http:\/\/127\.0\.0\.1:\d+)/g)) found[m[1]] = m[2];
      if (found.zai && found.slow && found.pool) { clearTimeout(t); resolve(found); }
    });
  });
  simZai = urls.zai; simSlow = urls.slow; simPool = urls.pool;
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  Object.assign(process.env, { ZAI_KEY: 'zai-secret-1', SLOW_KEY: 'slow-secret-2', POOL_GOOD: 'good-secret-3', POOL_BAD: 'revoked-secret-4' });
  gwA = await startGateway('a');
  gwB = await startGateway('b');
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(workdir, { recursive: true, force: true });
});

test('a cap of 1 holds across both gateways under sustained load from both', async () => {
  const before = await stats(simZai);
  const client = async (base, n) => {
    const codes = [];
    for (let i = 0; i < n; ++i) {
      const r = await chat(base, 'main', { 'x-sluice-priority': i % 2 ? 'background' : 'interactive' });
      await r.text();
      codes.push(r.status);
    }
    return codes;
  };
  const runs = [];
  for (let i = 0; i < 4; ++i) runs.push(client(gwA.base, 4), client(gwB.base, 4));
  const codes = (await Promise.all(runs)).flat();
  assert.deepEqual(codes.filter((c) => c !== 200), [], 'every client request succeeds');
  const after = await stats(simZai);
  assert.equal(after.keys['zai-secret-1'].max_in_flight, 1, 'the simulator never saw two in flight');
  assert.equal(after.rejections.concurrency - before.rejections.concurrency, 0, 'no 1302 reached z.ai');
  assert.equal(after.successes - before.successes, 32);
});

test('a key benched by one gateway is skipped by the other', async () => {
  // Round robin sends A's second request on the revoked key: it draws a 401,
  // A benches the key and tells the other instance through Redis.
  for (let i = 0; i < 3; ++i) {
    const r = await chat(gwA.base, 'pooled');
    assert.equal(r.status, 200, 'the client never sees the bad key');
    await r.text();
  }
  const afterA = await stats(simPool);
  assert.equal(afterA.rejections.auth, 1, 'A tried the revoked key once');
  await sleep(100);  // pub/sub delivery is asserted within 100 ms in the unit tests
  for (let i = 0; i < 6; ++i) {
    const r = await chat(gwB.base, 'pooled');
    assert.equal(r.status, 200);
    await r.text();
  }
  const afterB = await stats(simPool);
  assert.equal(afterB.rejections.auth, 1, 'B never sent on the key A benched');
  assert.match(gwB.child.log, /key_cooling_from_peer provider=pool/);
});

test('kill -9 of a gateway mid-request: the other regains the slot within the lease TTL', async () => {
  const victim = await startGateway('victim');
  const doomed = chat(victim.base, 'slow').catch(() => null);  // holds the only lease for 2.5 s
  await sleep(400);
  await kill9(victim.child);
  await doomed;
  const t0 = Date.now();
  const r = await chat(gwB.base, 'slow');
  await r.text();
  const waited = Date.now() - t0;
  assert.equal(r.status, 200);
  const queueMs = Number(r.headers.get('x-sluice-queue-ms'));
  console.log(`B queued ${queueMs} ms for the dead gateway's lease; total ${waited} ms`);
  assert.ok(queueMs > 0, `B waited for the dead gateway's lease (queue ${queueMs} ms)`);
  assert.ok(queueMs <= 1500, `the slot came back within the 1 s TTL (+ slack), waited ${queueMs} ms`);
  // The dead gateway's upstream request would have run until 2.5 s: B did not wait for it.
  assert.ok(waited < 2500 + 2500, `total ${waited} ms`);
});

test('stopping redis mid-run fails no client request, and the gateways rejoin by themselves', async () => {
  await kill9(redis);
  const codes = [];
  for (let i = 0; i < 4; ++i) {
    for (const gw of [gwA, gwB]) {
      const r = await chat(gw.base, 'main');
      await r.text();
      codes.push(r.status);
    }
  }
  assert.deepEqual(codes, Array(8).fill(200));
  assert.match(gwA.child.log, /msg=redis_unavailable/);
  assert.equal(gwA.child.log.match(/msg=redis_unavailable/g).length, 1, 'said once');
  redis = await startRedis(redisPort);
  let rejoined = false;
  for (let i = 0; i < 50 && !rejoined; ++i) {
    const r = await chat(gwA.base, 'main');
    await r.text();
    assert.equal(r.status, 200);
    rejoined = /msg=redis_rejoined/.test(gwA.child.log);
    if (!rejoined) await sleep(50);
  }
  assert.ok(rejoined, 'A rejoined Redis by itself');
  assert.doesNotMatch(gwA.child.log + gwB.child.log, /secret-[1-4]/, 'no secret in any log');
});
