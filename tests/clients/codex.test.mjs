// Codex CLI (`codex exec`, the npm package's native binary) through
// `sluice serve` in front of a simulated OpenAI provider, on 127.0.0.1 only.
// Codex speaks only the Responses API (streaming POST /v1/responses).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  explain, gatewayYaml, limitedSim, runCodex, simStats, startGateway, startSim, stopAll,
} from './harness.mjs';

let sims;
let gateway;

before(async () => {
  sims = await startSim(`providers:
  oa: {dialect: openai, listen: "127.0.0.1:0", keys: [oa-key]}
${limitedSim('limited', 'openai')}`);
  gateway = await startGateway(gatewayYaml({
    providers: `  oa: {api: openai, dialect: openai, base_url: "${sims.oa}/v1", keys: [env:OA_KEY]}
  limited: {api: openai, dialect: openai, base_url: "${sims.limited}/v1", keys: [env:LIMITED_KEY], max_concurrent: 1, rpm_throttle_threshold: 0}`,
    models: `  cx: {route: [oa/gpt-sim]}
  cx-limited: {route: [limited/gpt-sim]}`,
  }), { OA_KEY: 'oa-key', LIMITED_KEY: 'limited-key' });
});

after(stopAll);

const codex = runCodex;

// `codex exec --json`: one event per line. A custom model name draws a
// warning item ("Model metadata for `cx` not found"), which is not a failure.
function parseEvents(r) {
  assert.equal(r.code, 0, explain(r));
  const events = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
  const errors = events.filter((e) => e.type === 'error' || e.type === 'turn.failed' ||
    (e.item?.type === 'error' && !/^Model metadata for/.test(e.item.message)));
  assert.deepEqual(errors, [], explain(r));
  assert.ok(events.some((e) => e.type === 'turn.completed'), explain(r));
  return events;
}

const completed = (events, type) =>
  events.filter((e) => e.type === 'item.completed' && e.item.type === type).map((e) => e.item);

test('codex exec: the sim calls the shell tool, Codex runs it, sends the output back and gets the answer', async () => {
  const r = await codex(gateway.base, 'cx', 'Run a shell command, then answer.');
  const events = parseEvents(r);
  const commands = completed(events, 'command_execution');
  assert.equal(commands.length, 1, explain(r));
  // The sim's command is a harmless one that succeeds (an echo).
  assert.equal(commands[0].exit_code, 0, `the simulated command failed: ${JSON.stringify(commands[0])}`);
  assert.equal(commands[0].status, 'completed');
  const messages = completed(events, 'agent_message');
  assert.match(messages.map((m) => m.text).join('\n'), /simulated answer/, explain(r));
});

test('three concurrent codex exec runs against a 2-requests-per-2s, 1-in-flight provider all finish', async () => {
  const earlier = await simStats(sims.limited);
  const started = Date.now();
  const runs = await Promise.all([1, 2, 3].map((i) => codex(gateway.base, 'cx-limited', `Task ${i}.`)));
  const elapsed = Date.now() - started;
  for (const r of runs) {
    const events = parseEvents(r);
    assert.match(completed(events, 'agent_message').map((m) => m.text).join('\n'), /simulated answer/, explain(r));
  }
  const stats = await simStats(sims.limited);
  // Each run is a tool round trip: two requests.
  assert.ok(stats.successes - earlier.successes >= 6, JSON.stringify(stats));
  assert.ok(stats.keys['limited-key'].max_in_flight <= 1, JSON.stringify(stats));
  assert.ok(elapsed >= 3500, `finished in ${elapsed} ms: was the provider's limit met?`);
});
