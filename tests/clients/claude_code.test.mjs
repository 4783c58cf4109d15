// Claude Code (`claude -p`, the npm package's native binary) through
// `sluice serve` in front of a simulated Anthropic provider, on 127.0.0.1 only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  claudeModelEnv, explain, gatewayYaml, limitedSim, runClaude, simStats, startGateway, startSim,
  stopAll,
} from './harness.mjs';

let sims;      // { an, limited } -> sim URLs
let gateway;   // aliases cc (plain) and cc-limited (rate-limited provider)

before(async () => {
  sims = await startSim(`providers:
  an: {dialect: anthropic, listen: "127.0.0.1:0", keys: [an-key]}
${limitedSim('limited', 'anthropic')}`);
  gateway = await startGateway(gatewayYaml({
    providers: `  an: {api: anthropic, dialect: anthropic, base_url: "${sims.an}", keys: [env:AN_KEY]}
  limited: {api: anthropic, dialect: anthropic, base_url: "${sims.limited}", keys: [env:LIMITED_KEY], max_concurrent: 1, rpm_throttle_threshold: 0}`,
    models: `  cc: {route: [an/claude-sim]}
  cc-limited: {route: [limited/claude-sim]}`,
  }), { AN_KEY: 'an-key', LIMITED_KEY: 'limited-key' });
});

after(stopAll);

const modelEnv = claudeModelEnv;
const claude = runClaude;

// `--output-format json`: one result object.
function parseResult(r) {
  assert.equal(r.code, 0, explain(r));
  const result = JSON.parse(r.stdout);
  assert.equal(result.type, 'result', explain(r));
  assert.equal(result.subtype, 'success', explain(r));
  assert.equal(result.is_error, false, explain(r));
  return result;
}

// `--output-format stream-json --verbose`: one event per line.
function parseEvents(r) {
  assert.equal(r.code, 0, explain(r));
  return r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

test('claude -p --output-format json answers through an alias', async () => {
  const r = await claude(gateway.base, ['-p', 'Say hello.', '--output-format', 'json', '--tools', ''],
    modelEnv('cc'));
  const result = parseResult(r);
  assert.match(result.result, /simulated answer/, explain(r));
  assert.equal(result.num_turns, 1);
  assert.equal(result.stop_reason, 'end_turn');
  assert.ok(Object.keys(result.modelUsage).some((m) => m.startsWith('cc')), JSON.stringify(result.modelUsage));
});

test('claude -p --output-format stream-json --verbose streams the answer', async () => {
  const r = await claude(gateway.base,
    ['-p', 'Say hello.', '--output-format', 'stream-json', '--verbose', '--tools', ''], modelEnv('cc'));
  const events = parseEvents(r);
  const init = events.find((e) => e.type === 'system' && e.subtype === 'init');
  assert.ok(init, explain(r));
  assert.equal(init.model, 'cc');
  const texts = events.filter((e) => e.type === 'assistant')
    .flatMap((e) => e.message.content).filter((c) => c.type === 'text').map((c) => c.text);
  assert.match(texts.join(''), /simulated answer/, explain(r));
  const result = events.at(-1);
  assert.equal(result.type, 'result', explain(r));
  assert.equal(result.subtype, 'success');
  assert.equal(result.is_error, false);
  assert.match(result.result, /simulated answer/);
});

test('a Bash tool round trip: the sim calls the tool, Claude Code runs it and sends the result back', async () => {
  const r = await claude(gateway.base,
    ['-p', 'Run a shell command.', '--output-format', 'stream-json', '--verbose',
      '--tools', 'Bash', '--allowedTools', 'Bash'], modelEnv('cc'));
  const events = parseEvents(r);
  const calls = events.filter((e) => e.type === 'assistant')
    .flatMap((e) => e.message.content).filter((c) => c.type === 'tool_use');
  assert.equal(calls.length, 1, explain(r));
  assert.equal(calls[0].name, 'Bash');
  assert.equal(typeof calls[0].input.command, 'string');
  const results = events.filter((e) => e.type === 'user')
    .flatMap((e) => e.message.content).filter((c) => c.type === 'tool_result');
  assert.equal(results.length, 1, explain(r));
  assert.equal(results[0].tool_use_id, calls[0].id);
  // The sim's command is a harmless one that succeeds (an echo).
  assert.equal(results[0].is_error, false, `the simulated command failed: ${JSON.stringify(results[0])}`);
  const result = events.at(-1);
  assert.equal(result.subtype, 'success', explain(r));
  assert.equal(result.num_turns, 2);
  assert.match(result.result, /simulated answer/);
});

test('a catch-all alias serves Claude Code\'s own model names without any model variable', async () => {
  const gw = await startGateway(gatewayYaml({
    providers: `  an: {api: anthropic, dialect: anthropic, base_url: "${sims.an}", keys: [env:AN_KEY]}`,
    models: `  "*": {route: [an/claude-sim]}`,
  }), { AN_KEY: 'an-key' });
  const r = await claude(gw.base, ['-p', 'Say hello.', '--output-format', 'json', '--tools', '']);
  const result = parseResult(r);
  assert.match(result.result, /simulated answer/, explain(r));
  // Claude Code asked for its default model, not an alias of ours.
  assert.ok(Object.keys(result.modelUsage).some((m) => m.startsWith('claude-')), JSON.stringify(result.modelUsage));
});

test('three concurrent sessions against a 2-requests-per-2s, 1-in-flight provider all finish', async () => {
  const earlier = await simStats(sims.limited);
  const started = Date.now();
  const runs = await Promise.all([1, 2, 3].map((i) =>
    claude(gateway.base, ['-p', `Say hello ${i}.`, '--output-format', 'json', '--tools', ''],
      modelEnv('cc-limited'))));
  const elapsed = Date.now() - started;
  for (const r of runs) assert.match(parseResult(r).result, /simulated answer/, explain(r));
  const stats = await simStats(sims.limited);
  assert.ok(stats.successes - earlier.successes >= 3, JSON.stringify(stats));
  assert.ok(stats.keys['limited-key'].max_in_flight <= 1, JSON.stringify(stats));
  // Three requests at two per 2 s window: the third waited for the next window.
  assert.ok(elapsed >= 1500, `finished in ${elapsed} ms: was the provider's limit met?`);
});
