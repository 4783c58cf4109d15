// Operator signals on a real `sluice serve` process (issue 7): SIGHUP reloads
// the config file without dropping a connection or what was learned; SIGTERM
// drains (in-flight requests finish) and exits 0. Everything on 127.0.0.1.
// Run: SLUICE_BIN=... node --test signals.test.mjs
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.env.SLUICE_BIN;
assert.ok(bin, 'SLUICE_BIN must name the sluice binary');
const workdir = mkdtempSync(join(tmpdir(), 'sluice-signals-'));
const children = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(workdir, { recursive: true, force: true });
});

function start(args, pattern) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, SIM_KEY: 'sim-secret-9' };
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.log = '';
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timeout starting ${args.join(' ')}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); resolve({ child, m }); }
    });
    child.stderr.on('data', (d) => { child.log += d; });
    child.on('exit', (code) => { children.delete(child); clearTimeout(timer); reject(new Error(`exited ${code}\n${child.log}`)); });
  });
}

const chat = (base, model) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
});

test('SIGHUP reloads the config in place; SIGTERM drains in-flight requests and exits 0', async () => {
  writeFileSync(join(workdir, 'sim.yaml'), `providers:
  oa: {dialect: openai, listen: "127.0.0.1:0", keys: [sim-secret-9], latency: 1200ms}
`);
  const { m: sm } = await start(['sim', '--config', join(workdir, 'sim.yaml')], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const config = (extra) => `server: {listen: "127.0.0.1:0", drain_timeout: 10s}
state: {backend: memory}
providers:
  oa: {api: openai, base_url: "${sm[1]}/v1", keys: [env:SIM_KEY]}
models:
  main: {route: [oa/gpt-4o-mini]}
${extra}`;
  const path = join(workdir, 'sluice.yaml');
  writeFileSync(path, config(''));
  const { child: gw, m } = await start(['serve', '-c', path], /serving on (http:\/\/127\.0\.0\.1:\d+)/);
  const base = m[1];
  assert.equal((await chat(base, 'second')).status, 404);

  // A typo is refused and the old config keeps serving.
  writeFileSync(path, config('  broken: {route: [nope/x]}\n'));
  gw.kill('SIGHUP');
  for (let i = 0; i < 100 && !/reload_failed/.test(gw.log); ++i) await sleep(20);
  assert.match(gw.log, /msg=reload_failed error=.*models\.broken\.route\[0\]/);

  writeFileSync(path, config('  second: {route: [oa/gpt-4o]}\n'));
  const inFlight = chat(base, 'main');  // spans the reload
  await sleep(100);
  gw.kill('SIGHUP');
  for (let i = 0; i < 100 && !/msg=reloaded/.test(gw.log); ++i) await sleep(20);
  assert.match(gw.log, /msg=reloaded/);
  assert.equal((await inFlight).status, 200, 'a request in flight during the reload completes');
  assert.equal((await chat(base, 'second')).status, 200, 'the new alias routes');

  // SIGTERM while a request is in flight: it finishes, then the process exits 0.
  const draining = chat(base, 'main');
  await sleep(200);
  const exited = new Promise((resolve) => gw.once('exit', (code) => resolve(code)));
  gw.kill('SIGTERM');
  const r = await draining;
  assert.equal(r.status, 200, 'the in-flight request was allowed to finish');
  assert.equal(await exited, 0);
  assert.match(gw.log, /msg=draining signal=SIGTERM/);
  assert.match(gw.log, /msg=shutdown cut_requests=0/);
  assert.doesNotMatch(gw.log, /sim-secret-9/);
});
