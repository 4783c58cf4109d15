// Wire compatibility: the official OpenAI and Anthropic SDKs, unmodified,
// drive `sluice serve` in front of `sluice sim`. Everything listens on
// 127.0.0.1 port 0 and is stopped at the end. Run: SLUICE_BIN=... node --test
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const bin = process.env.SLUICE_BIN;
assert.ok(bin, 'SLUICE_BIN must name the sluice binary');

const children = [];
const workdir = mkdtempSync(join(tmpdir(), 'sluice-sdk-'));

// Starts a process and resolves with every match of `pattern` in its stdout
// once `count` lines matched (or rejects on exit / after 20 s).
function start(args, pattern, count = 1) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENROUTER_API_KEY', 'ZAI_API_KEY',
                     'MOONSHOT_API_KEY', 'GROQ_API_KEY']) delete env[k];
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const matches = [];
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timeout starting ${args.join(' ')}\n${err}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        const m = line.match(pattern);
        if (m && !matches.some((x) => x[0] === m[0])) matches.push(m);
      }
      if (matches.length >= count) { clearTimeout(timer); resolve(matches); }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}\n${err}`)); });
  });
}

let base;        // the gateway in front of simulated z.ai, OpenAI and Anthropic
let lockedBase;  // a second gateway that requires a gateway key
let limitedBase; // a third whose only candidate has a spent request window

before(async () => {
  // 1. The default run: no key set, so sluice serves from its built-in simulator.
  const [m] = await start(['serve', '--listen', '127.0.0.1:0'], /serving on (http:\/\/127\.0\.0\.1:\d+)/);
  base = m[1];

  // 2. A simulator of our own, for the error paths.
  writeFileSync(join(workdir, 'sim.yaml'), `providers:
  oa: {dialect: openai, listen: "127.0.0.1:0", keys: [k1], rpm: 1, window: 60s}
`);
  const [s] = await start(['sim', '--config', join(workdir, 'sim.yaml')], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const simUrl = s[1];
  const gw = (extra) => `server: {listen: "127.0.0.1:0"${extra}}
state: {backend: memory}
providers:
  oa: {api: openai, base_url: "${simUrl}/v1", keys: [env:SIM_KEY], rpm_throttle_threshold: 0, max_wait: 0s}
models:
  main: {route: [oa/gpt-4o-mini]}
`;
  process.env.SIM_KEY = 'k1';
  process.env.GATEWAY_KEY = 'let-me-in';
  writeFileSync(join(workdir, 'locked.yaml'), gw(', gateway_keys: [env:GATEWAY_KEY]'));
  writeFileSync(join(workdir, 'limited.yaml'), gw(''));
  const [l] = await start(['serve', '-c', join(workdir, 'locked.yaml')], /serving on (http:\/\/127\.0\.0\.1:\d+)/);
  lockedBase = l[1];
  const [r] = await start(['serve', '-c', join(workdir, 'limited.yaml')], /serving on (http:\/\/127\.0\.0\.1:\d+)/);
  limitedBase = r[1];
});

after(() => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(workdir, { recursive: true, force: true });
});

const openai = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'client-key', maxRetries: 0 });
const anthropic = () => new Anthropic({ baseURL: base, apiKey: 'client-key', maxRetries: 0 });

test('openai chat completion, non-streaming', async () => {
  const r = await openai().chat.completions.create({
    model: 'main', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.model, 'glm-5.1'); // spliced to the primary's upstream model
});

test('openai chat completion, streaming, with the raw response headers', async () => {
  const { data: stream, response } = await openai().chat.completions
    .create({ model: 'main', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.equal(response.headers.get('x-sluice-route'), 'sim-zai/glm-5.1');
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.ok(text.length > 0);
});

test('openai embeddings through provider/model addressing', async () => {
  const r = await openai().embeddings.create({ model: 'sim-openai/text-embedding-3-small', input: 'hi' });
  assert.ok(Array.isArray(r.data[0].embedding));
  assert.ok(r.data[0].embedding.length > 0);
});

test('anthropic messages, non-streaming', async () => {
  const r = await anthropic().messages.create({
    model: 'claude', max_tokens: 32, messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(r.type, 'message');
  assert.equal(r.content[0].type, 'text');
});

test('anthropic messages, streaming', async () => {
  const stream = anthropic().messages.stream({
    model: 'claude', max_tokens: 32, messages: [{ role: 'user', content: 'hello' }],
  });
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'end_turn');
});

test('an unknown model is a typed NotFoundError in both SDKs', async () => {
  await assert.rejects(
    openai().chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && /aliases/.test(e.message));
  await assert.rejects(
    anthropic().messages.create({ model: 'nope', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.NotFoundError);
});

test('a wrong gateway key is a typed AuthenticationError; the right one passes', async () => {
  const bad = new OpenAI({ baseURL: `${lockedBase}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: 'main', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError);
  const badAnthropic = new Anthropic({ baseURL: lockedBase, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(
    badAnthropic.messages.create({ model: 'main', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.AuthenticationError);
  const good = new OpenAI({ baseURL: `${lockedBase}/v1`, apiKey: 'let-me-in', maxRetries: 0 });
  const r = await good.models.list();
  assert.ok(r.data.some((m) => m.id === 'main'));
});

test('a spent window is a typed RateLimitError with an honest retry-after', async () => {
  const client = new OpenAI({ baseURL: `${limitedBase}/v1`, apiKey: 'x', maxRetries: 0 });
  // The first request spends the key's one request per 60 s window.
  await client.chat.completions.create({ model: 'main', messages: [{ role: 'user', content: 'x' }] });
  await assert.rejects(
    client.chat.completions.create({ model: 'main', messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, `got ${e?.constructor?.name}: ${e?.message}`);
      const ra = Number(e.headers.get('retry-after'));
      assert.ok(ra >= 50 && ra <= 60, `retry-after ${ra}`);
      assert.equal(e.headers.get('x-should-retry'), 'true');
      return true;
    });
});
