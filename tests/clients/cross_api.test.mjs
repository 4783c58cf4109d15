// Real clients through `sluice serve` to providers that speak another API:
// sluice translates between Chat Completions, Anthropic Messages and the
// Responses API. Claude Code and Codex CLI to a Chat-only provider (a gateway
// provider of dialect zai, which sluice treats as Chat-only), Codex to an
// Anthropic-only one, the official openai SDK to Anthropic and the official
// Anthropic SDK to Chat, and an overloaded Anthropic primary falling back to a
// Chat provider under a streaming Anthropic client; Claude Code to a
// Responses-only provider (`api: responses`), and the openai SDK's
// previous_response_id continued on a Chat-only provider from what sluice
// kept. A recording proxy in front of each sim provider shows which upstream
// API each request really used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import {
  claudeModelEnv, explain, gatewayYaml, runClaude, runCodex, simStats, startGateway, startSim,
  stopAll,
} from './harness.mjs';

let sims;      // { zai, an, hot, resp } -> sim URLs
let proxies;   // { zai, an, resp } -> recording proxies in front of those sims
let gateway;

// A pass-through HTTP proxy on 127.0.0.1:0 to `target` that records every
// request's method, path and JSON body (streams are relayed as they come).
function recordingProxy(target) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: req.url, body: '' };
    seen.push(entry);
    const up = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', (e) => res.destroy(e));
    req.on('data', (d) => { entry.body += d; });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}`, seen, server })));
}

before(async () => {
  sims = await startSim(`providers:
  zai: {dialect: zai, listen: "127.0.0.1:0", keys: [zai-key]}
  an: {dialect: anthropic, listen: "127.0.0.1:0", keys: [an-key]}
  hot: {dialect: anthropic, listen: "127.0.0.1:0", keys: [hot-key], faults: {overload_rate: 1.0}}
  resp: {dialect: openai, listen: "127.0.0.1:0", keys: [resp-key]}
`);
  proxies = {
    zai: await recordingProxy(sims.zai), an: await recordingProxy(sims.an),
    resp: await recordingProxy(sims.resp),
  };
  gateway = await startGateway(gatewayYaml({
    providers: `  zai: {api: openai, dialect: zai, base_url: "${proxies.zai.url}/api/paas/v4", keys: [env:ZAI_KEY]}
  an: {api: anthropic, dialect: anthropic, base_url: "${proxies.an.url}", keys: [env:AN_KEY]}
  hot: {api: anthropic, dialect: anthropic, base_url: "${sims.hot}", keys: [env:HOT_KEY]}
  resp: {api: responses, dialect: openai, base_url: "${proxies.resp.url}/v1", keys: [env:RESP_KEY]}`,
    models: `  chat: {route: [zai/glm-sim]}
  messages: {route: [an/claude-sim]}
  responses: {route: [resp/gpt-sim]}
  fb: {route: [hot/claude-sim, zai/glm-sim]}`,
  }), { ZAI_KEY: 'zai-key', AN_KEY: 'an-key', HOT_KEY: 'hot-key', RESP_KEY: 'resp-key' });
});

after(async () => {
  for (const p of Object.values(proxies ?? {})) { p.server.closeAllConnections(); p.server.close(); }
  await stopAll();
});

// What reached the upstreams during `fn`: { zai: [...], an: [...], resp: [...] }
// of "METHOD /path" plus the parsed bodies.
async function upstreamCalls(fn) {
  const names = Object.keys(proxies);
  const from = Object.fromEntries(names.map((k) => [k, proxies[k].seen.length]));
  const result = await fn();
  const calls = {};
  for (const k of names) {
    calls[k] = proxies[k].seen.slice(from[k]).map((e) => ({
      line: `${e.method} ${e.path}`, body: e.body ? JSON.parse(e.body) : undefined,
    }));
  }
  return { result, calls };
}
const lines = (cs) => cs.map((c) => c.line);

// The gateway's request log lines (`msg=request alias=…`) for `alias`, once
// there are `count` of them (the line of a stream's last request may reach
// us just after the client finished); at most 2 s.
async function requestLogs(alias, count) {
  const pick = () => gateway.child.log.split('\n')
    .filter((l) => l.includes('msg=request') && l.includes(` alias=${alias} `));
  for (let i = 0; i < 40 && pick().length < count; ++i) await new Promise((r) => setTimeout(r, 50));
  return pick();
}

// ---- Claude Code -------------------------------------------------------------

const claude = (args, alias) => runClaude(gateway.base, args, claudeModelEnv(alias));

// A `claude -p --output-format stream-json` Bash round trip: the tool ran, its
// result went back, the final answer came. Returns the events.
function assertClaudeBashRoundTrip(r) {
  assert.equal(r.code, 0, explain(r));
  const events = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const calls = events.filter((e) => e.type === 'assistant')
    .flatMap((e) => e.message.content).filter((c) => c.type === 'tool_use');
  assert.equal(calls.length, 1, explain(r));
  assert.equal(calls[0].name, 'Bash');
  assert.equal(typeof calls[0].input.command, 'string');
  const results = events.filter((e) => e.type === 'user')
    .flatMap((e) => e.message.content).filter((c) => c.type === 'tool_result');
  assert.equal(results.length, 1, explain(r));
  assert.equal(results[0].tool_use_id, calls[0].id);
  assert.equal(results[0].is_error, false, `the simulated command failed: ${JSON.stringify(results[0])}`);
  const result = events.at(-1);
  assert.equal(result.type, 'result', explain(r));
  assert.equal(result.subtype, 'success', explain(r));
  assert.equal(result.is_error, false, explain(r));
  assert.equal(result.num_turns, 2);
  assert.match(result.result, /simulated answer/, explain(r));
  return events;
}

test('Claude Code (Messages) to a Chat-only provider: a Bash tool round trip, translated messages->chat', async () => {
  const anBefore = await simStats(sims.an);
  const { result: r, calls } = await upstreamCalls(() => claude(
    ['-p', 'Run a shell command.', '--output-format', 'stream-json', '--verbose',
      '--tools', 'Bash', '--allowedTools', 'Bash'], 'chat'));
  assertClaudeBashRoundTrip(r);
  // Both turns went to the Chat provider as Chat Completions.
  assert.deepEqual(lines(calls.zai), Array(2).fill('POST /api/paas/v4/chat/completions'), explain(r));
  assert.deepEqual(calls.an, []);
  const [first, second] = calls.zai.map((c) => c.body);
  assert.equal(first.model, 'glm-sim');
  assert.equal(first.stream, true);
  assert.deepEqual(first.tools.map((t) => `${t.type}:${t.function.name}`), ['function:Bash']);
  // The tool result came back as a Chat `tool` message with the call's id.
  const assistantCall = second.messages.find((m) => m.role === 'assistant' && m.tool_calls);
  const toolMsg = second.messages.find((m) => m.role === 'tool');
  assert.ok(assistantCall && toolMsg, JSON.stringify(second.messages));
  assert.equal(toolMsg.tool_call_id, assistantCall.tool_calls[0].id);
  assert.equal((await simStats(sims.an)).requests, anBefore.requests);
  // The gateway's request log names the Chat candidate for this alias.
  const logs = await requestLogs('chat', 2);
  assert.ok(logs.length === 2 && logs.every((l) => l.includes('route=zai/glm-sim') && l.includes('outcome=ok')),
    logs.join('\n'));
});

test('Claude Code (Messages) to a Responses-only provider: a Bash tool round trip, translated messages->responses', async () => {
  const { result: r, calls } = await upstreamCalls(() => claude(
    ['-p', 'Run a shell command.', '--output-format', 'stream-json', '--verbose',
      '--tools', 'Bash', '--allowedTools', 'Bash'], 'responses'));
  assertClaudeBashRoundTrip(r);
  assert.deepEqual(lines(calls.resp), Array(2).fill('POST /v1/responses'), explain(r));
  const [first, second] = calls.resp.map((c) => c.body);
  assert.equal(first.model, 'gpt-sim');
  assert.equal(first.store, false);
  assert.deepEqual(first.tools.map((t) => `${t.type}:${t.name}`), ['function:Bash']);
  // The tool result went back as a function_call_output for the call's id.
  const call = second.input.find((i) => i.type === 'function_call');
  const output = second.input.find((i) => i.type === 'function_call_output');
  assert.ok(call && output, JSON.stringify(second.input));
  assert.equal(output.call_id, call.call_id);
});

// ---- Codex CLI ---------------------------------------------------------------

const codex = (model, prompt) => runCodex(gateway.base, model, prompt);

// `codex exec --json` with an exec_command round trip and the final answer.
function assertCodexRoundTrip(r) {
  assert.equal(r.code, 0, explain(r));
  const events = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
  const errors = events.filter((e) => e.type === 'error' || e.type === 'turn.failed' ||
    (e.item?.type === 'error' && !/^Model metadata for/.test(e.item.message)));
  assert.deepEqual(errors, [], explain(r));
  assert.ok(events.some((e) => e.type === 'turn.completed'), explain(r));
  const completed = (type) => events.filter((e) => e.type === 'item.completed' && e.item.type === type)
    .map((e) => e.item);
  const commands = completed('command_execution');
  assert.equal(commands.length, 1, explain(r));
  assert.equal(commands[0].exit_code, 0, `the simulated command failed: ${JSON.stringify(commands[0])}`);
  assert.equal(commands[0].status, 'completed');
  assert.match(completed('agent_message').map((m) => m.text).join('\n'), /simulated answer/, explain(r));
}

test('Codex (Responses) to a Chat-only provider: an exec_command round trip, translated responses->chat', async () => {
  const { result: r, calls } = await upstreamCalls(() => codex('chat', 'Run a shell command, then answer.'));
  assertCodexRoundTrip(r);
  assert.deepEqual(lines(calls.zai), Array(2).fill('POST /api/paas/v4/chat/completions'), explain(r));
  assert.deepEqual(calls.an, []);
  const [first, second] = calls.zai.map((c) => c.body);
  assert.equal(first.model, 'glm-sim');
  assert.equal(first.tools[0].function.name, 'exec_command');
  assert.ok(first.tools.every((t) => t.type === 'function'), JSON.stringify(first.tools.map((t) => t.type)));
  const toolMsg = second.messages.find((m) => m.role === 'tool');
  const assistantCall = second.messages.find((m) => m.role === 'assistant' && m.tool_calls);
  assert.ok(assistantCall && toolMsg, JSON.stringify(second.messages));
  assert.equal(assistantCall.tool_calls[0].function.name, 'exec_command');
  assert.equal(toolMsg.tool_call_id, assistantCall.tool_calls[0].id);
});

test('Codex (Responses) to an Anthropic-only provider: an exec_command round trip, translated responses->messages', async () => {
  const { result: r, calls } = await upstreamCalls(() => codex('messages', 'Run a shell command, then answer.'));
  assertCodexRoundTrip(r);
  assert.deepEqual(lines(calls.an), Array(2).fill('POST /v1/messages'), explain(r));
  assert.deepEqual(calls.zai, []);
  const [first, second] = calls.an.map((c) => c.body);
  assert.equal(first.model, 'claude-sim');
  assert.equal(typeof first.max_tokens, 'number');
  assert.equal(first.tools[0].name, 'exec_command');
  assert.ok(first.tools.every((t) => t.input_schema), JSON.stringify(first.tools.map((t) => t.name)));
  const use = second.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .find((b) => b.type === 'tool_use');
  const res = second.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .find((b) => b.type === 'tool_result');
  assert.ok(use && res, JSON.stringify(second.messages));
  assert.equal(res.tool_use_id, use.id);
});

// ---- The official SDKs ---------------------------------------------------------

test('openai SDK responses.create with previous_response_id continues on a Chat-only provider', async () => {
  const client = new OpenAI({ baseURL: `${gateway.base}/v1`, apiKey: 'sluice-client-test', maxRetries: 0 });
  const { result, calls } = await upstreamCalls(async () => {
    const first = await client.responses.create({ model: 'chat', input: 'My name is Ada.' });
    const stream = await client.responses.create({
      model: 'chat', input: 'What is my name?', previous_response_id: first.id, stream: true,
    });
    let done;
    for await (const ev of stream) if (ev.type === 'response.completed') done = ev.response;
    const third = await client.responses.create({
      model: 'chat', input: 'Sure?', previous_response_id: done.id,
    });
    return { first, done, third };
  });
  assert.match(result.first.id, /^resp_/);
  assert.equal(result.done.previous_response_id, result.first.id);
  assert.match(result.third.output_text, /simulated answer/);
  // The third turn reached the Chat provider with the whole conversation.
  assert.deepEqual(lines(calls.zai), Array(3).fill('POST /api/paas/v4/chat/completions'));
  const roles = calls.zai[2].body.messages.map((m) => m.role);
  assert.deepEqual(roles, ['user', 'assistant', 'user', 'assistant', 'user']);
  assert.equal(calls.zai[2].body.messages[0].content, 'My name is Ada.');
  // An id nothing knows: OpenAI's own error, through the SDK.
  await assert.rejects(
    client.responses.create({ model: 'chat', input: 'x', previous_response_id: 'resp_unknown' }),
    (e) => e.status === 400 && e.code === 'previous_response_not_found');
});

const weatherChatTool = {
  type: 'function',
  function: {
    name: 'weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'],
    },
  },
};

test('openai SDK chat.completions.create (streaming, tools) to an Anthropic-only provider', async () => {
  const client = new OpenAI({ baseURL: `${gateway.base}/v1`, apiKey: 'sluice-client-test', maxRetries: 0 });
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const { result, calls } = await upstreamCalls(async () => {
    // Turn 1: a streamed tool call.
    const { data: s1, response: h1 } = await client.chat.completions.create({
      model: 'messages', messages, tools: [weatherChatTool], stream: true, max_tokens: 256,
    }).withResponse();
    const call = { id: '', name: '', args: '' };
    let finish1;
    for await (const chunk of s1) {
      const c = chunk.choices[0];
      if (!c) continue;
      for (const tc of c.delta?.tool_calls ?? []) {
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.args += tc.function.arguments;
      }
      if (c.finish_reason) finish1 = c.finish_reason;
    }
    // Turn 2: the tool's result back, a streamed text answer.
    const { data: s2, response: h2 } = await client.chat.completions.create({
      model: 'messages',
      messages: [...messages,
        { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.args } }] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
      tools: [weatherChatTool], stream: true, max_tokens: 256,
    }).withResponse();
    let text = '';
    let finish2;
    for await (const chunk of s2) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finish2 = chunk.choices[0].finish_reason;
    }
    return { h1, h2, call, finish1, finish2, text };
  });
  const { h1, h2, call, finish1, finish2, text } = result;
  for (const h of [h1, h2]) {
    assert.equal(h.headers.get('x-sluice-route'), 'an/claude-sim');
    assert.equal(h.headers.get('x-sluice-translated'), 'chat->messages');
  }
  assert.equal(finish1, 'tool_calls');
  assert.equal(call.name, 'weather');
  assert.ok(call.id, 'the tool call has an id');
  const args = JSON.parse(call.args);
  assert.equal(typeof args.city, 'string');
  assert.ok(args.days >= 1 && args.days <= 7, call.args);
  assert.equal(finish2, 'stop');
  assert.match(text, /simulated answer/);
  assert.deepEqual(lines(calls.an), ['POST /v1/messages', 'POST /v1/messages']);
  assert.deepEqual(calls.zai, []);
  const blocks = calls.an[1].body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
  assert.equal(blocks.find((b) => b.type === 'tool_result')?.tool_use_id,
    blocks.find((b) => b.type === 'tool_use')?.id, JSON.stringify(calls.an[1].body.messages));
});

const weatherAnthropicTool = {
  name: 'weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
    required: ['city', 'days'],
  },
};

// Streams an Anthropic SDK messages.create({stream: true}) to the end: the
// content blocks it assembled, the stop reason and the raw response.
async function anthropicStream(client, params) {
  const { data: stream, response } = await client.messages.create({ ...params, stream: true }).withResponse();
  const blocks = [];
  let stop;
  for await (const ev of stream) {
    if (ev.type === 'content_block_start') blocks[ev.index] = { ...ev.content_block, json: '' };
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') blocks[ev.index].text += ev.delta.text;
    if (ev.type === 'content_block_delta' && ev.delta.type === 'input_json_delta') blocks[ev.index].json += ev.delta.partial_json;
    if (ev.type === 'message_delta') stop = ev.delta.stop_reason;
  }
  for (const b of blocks) if (b.type === 'tool_use') b.input = JSON.parse(b.json || '{}');
  return { blocks, stop, response };
}

test('@anthropic-ai/sdk messages.create (streaming, tools) to a Chat-only provider', async () => {
  const client = new Anthropic({ baseURL: gateway.base, apiKey: 'sluice-client-test', maxRetries: 0 });
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const { result, calls } = await upstreamCalls(async () => {
    const t1 = await anthropicStream(client, { model: 'chat', max_tokens: 256, messages, tools: [weatherAnthropicTool] });
    const use = t1.blocks.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(t1.blocks));
    const t2 = await anthropicStream(client, {
      model: 'chat', max_tokens: 256, tools: [weatherAnthropicTool],
      messages: [...messages,
        { role: 'assistant', content: [{ type: 'tool_use', id: use.id, name: use.name, input: use.input }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    return { t1, t2, use };
  });
  const { t1, t2, use } = result;
  for (const t of [t1, t2]) {
    assert.equal(t.response.headers.get('x-sluice-route'), 'zai/glm-sim');
    assert.equal(t.response.headers.get('x-sluice-translated'), 'messages->chat');
  }
  assert.equal(t1.stop, 'tool_use');
  assert.equal(use.name, 'weather');
  assert.match(use.id, /^[A-Za-z0-9_-]+$/);
  assert.equal(typeof use.input.city, 'string');
  assert.ok(use.input.days >= 1 && use.input.days <= 7, JSON.stringify(use.input));
  assert.equal(t2.stop, 'end_turn');
  assert.match(t2.blocks.filter((b) => b.type === 'text').map((b) => b.text).join(''), /simulated answer/);
  assert.deepEqual(lines(calls.zai), Array(2).fill('POST /api/paas/v4/chat/completions'));
  assert.deepEqual(calls.an, []);
  const toolMsg = calls.zai[1].body.messages.find((m) => m.role === 'tool');
  assert.equal(toolMsg?.content, 'sunny', JSON.stringify(calls.zai[1].body.messages));
});

// ---- Fallback across APIs ------------------------------------------------------

test('an overloaded (529) Anthropic primary falls back invisibly to a Chat provider under an Anthropic SDK stream', async () => {
  const hotBefore = await simStats(sims.hot);
  const client = new Anthropic({ baseURL: gateway.base, apiKey: 'sluice-client-test', maxRetries: 0 });
  const { result, calls } = await upstreamCalls(async () => {
    const stream = client.messages.stream({
      model: 'fb', max_tokens: 256, messages: [{ role: 'user', content: 'Say hello.' }],
    });
    const events = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const { response } = await stream.withResponse();
    const final = await stream.finalMessage();
    return { response, final, events };
  });
  const { response, final, events } = result;
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-sluice-route'), 'zai/glm-sim');
  assert.equal(response.headers.get('x-sluice-fallback'), '1/2');
  assert.equal(response.headers.get('x-sluice-translated'), 'messages->chat');
  assert.equal(final.stop_reason, 'end_turn');
  assert.match(final.content.map((b) => b.text ?? '').join(''), /simulated answer/);
  assert.deepEqual(events.filter((e) => e === 'error'), []);
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  // The primary really answered 529 (overloaded), and the Chat provider served.
  const hot = await simStats(sims.hot);
  assert.ok(hot.rejections.overload > hotBefore.rejections.overload, JSON.stringify(hot));
  assert.equal(hot.successes, 0);
  assert.deepEqual(lines(calls.zai), ['POST /api/paas/v4/chat/completions']);
});

test('an overloaded Anthropic primary falls back invisibly to a Chat provider under Claude Code', async () => {
  const { result: r, calls } = await upstreamCalls(() => claude(
    ['-p', 'Run a shell command.', '--output-format', 'stream-json', '--verbose',
      '--tools', 'Bash', '--allowedTools', 'Bash'], 'fb'));
  assertClaudeBashRoundTrip(r);
  assert.deepEqual(lines(calls.zai), Array(2).fill('POST /api/paas/v4/chat/completions'), explain(r));
  const logs = await requestLogs('fb', 3);
  assert.ok(logs.length === 3 && logs.every((l) => l.includes('route=zai/glm-sim') && l.includes('outcome=ok')),
    logs.join('\n'));
});
