// LangChain JS (@langchain/openai, @langchain/anthropic, @langchain/core)
// through `sluice serve` in front of simulated providers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { ChatAnthropic } from '@langchain/anthropic';
import { HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { gatewayYaml, limitedSim, postJson, simStats, startGateway, startSim, stopAll } from './harness.mjs';

let sims;
let base;

before(async () => {
  sims = await startSim(`providers:
  oa: {dialect: openai, listen: "127.0.0.1:0", keys: [oa-key]}
  an: {dialect: anthropic, listen: "127.0.0.1:0", keys: [an-key]}
${limitedSim('limited', 'openai')}${limitedSim('limitedan', 'anthropic')}`);
  ({ base } = await startGateway(gatewayYaml({
    providers: `  oa: {api: openai, dialect: openai, base_url: "${sims.oa}/v1", keys: [env:OA_KEY]}
  an: {api: anthropic, dialect: anthropic, base_url: "${sims.an}", keys: [env:AN_KEY]}
  limited: {api: openai, dialect: openai, base_url: "${sims.limited}/v1", keys: [env:LIMITED_KEY], max_concurrent: 1, rpm_throttle_threshold: 0}
  limitedan: {api: anthropic, dialect: anthropic, base_url: "${sims.limitedan}", keys: [env:LIMITEDAN_KEY], max_concurrent: 1, rpm_throttle_threshold: 0}`,
    models: `  main: {route: [oa/gpt-sim]}
  claude: {route: [an/claude-sim]}
  emb: {route: [oa/text-embedding-sim]}
  limited: {route: [limited/gpt-sim]}
  limited-claude: {route: [limitedan/claude-sim]}`,
  }), { OA_KEY: 'oa-key', AN_KEY: 'an-key', LIMITED_KEY: 'limited-key', LIMITEDAN_KEY: 'limitedan-key' }));
});

after(stopAll);

// Failures must be absorbed by sluice: the clients do not retry.
const chatOpenAI = (model, extra = {}) => new ChatOpenAI({
  model, apiKey: 'sluice-client-test', configuration: { baseURL: `${base}/v1` }, maxRetries: 0, ...extra,
});
const chatAnthropic = (model) => new ChatAnthropic({
  model, apiKey: 'sluice-client-test', anthropicApiUrl: base, maxRetries: 0, maxTokens: 256,
});

const models = {
  'ChatOpenAI (Chat Completions)': { make: (m = 'main') => chatOpenAI(m), stop: 'stop' },
  'ChatOpenAI useResponsesApi': { make: (m = 'main') => chatOpenAI(m, { useResponsesApi: true }), stop: 'completed' },
  ChatAnthropic: { make: (m = 'claude') => chatAnthropic(m), stop: 'end_turn' },
};

// The finish reason as each integration reports it (a streamed Anthropic
// message keeps message_delta's stop_reason in additional_kwargs).
const finishOf = (msg) => msg.response_metadata?.finish_reason ?? msg.response_metadata?.stop_reason ??
  msg.additional_kwargs?.stop_reason ?? msg.response_metadata?.status;

const weather = tool(async ({ city }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'The weather in a city',
  schema: z.object({ city: z.string(), days: z.number().int().min(1).max(7) }),
});

async function collect(stream) {
  let full;
  for await (const chunk of stream) full = full ? full.concat(chunk) : chunk;
  return full;
}

for (const [name, { make, stop }] of Object.entries(models)) {
  test(`${name}: invoke`, async () => {
    const r = await make().invoke('Say hello.');
    assert.match(r.text, /simulated answer/);
    assert.equal(finishOf(r), stop, JSON.stringify(r.response_metadata));
  });

  test(`${name}: stream`, async () => {
    const full = await collect(await make().stream('Say hello.'));
    assert.match(full.text, /simulated answer/);
    assert.equal(finishOf(full), stop, JSON.stringify(full.response_metadata));
  });

  test(`${name}: bindTools, the call executed, its result sent back`, async () => {
    const model = make().bindTools([weather]);
    const question = new HumanMessage('What is the weather in Paris?');
    const ai = await model.invoke([question]);
    assert.equal(ai.tool_calls.length, 1, JSON.stringify(ai));
    const call = ai.tool_calls[0];
    assert.equal(call.name, 'weather');
    assert.equal(typeof call.args.city, 'string');
    assert.ok(call.args.days >= 1 && call.args.days <= 7);
    const result = await weather.invoke(call);  // a ToolMessage with the call's id
    const answer = await model.invoke([question, ai, result]);
    assert.equal(answer.tool_calls.length, 0);
    assert.match(answer.text, /simulated answer/);
    assert.equal(finishOf(answer), stop, JSON.stringify(answer.response_metadata));
  });

  test(`${name}: bindTools while streaming`, async () => {
    const full = await collect(await make().bindTools([weather]).stream('Weather in Paris?'));
    assert.equal(full.tool_calls.length, 1, JSON.stringify(full));
    assert.equal(full.tool_calls[0].name, 'weather');
    assert.equal(typeof full.tool_calls[0].args.city, 'string');
  });
}

test('OpenAIEmbeddings (base64 on the wire) decodes to the floats the sim returns', async () => {
  const embeddings = new OpenAIEmbeddings({
    model: 'emb', apiKey: 'sluice-client-test', configuration: { baseURL: `${base}/v1` }, maxRetries: 0,
  });
  const text = 'hello world';
  const vector = await embeddings.embedQuery(text);
  const direct = await postJson(`${base}/v1/embeddings`, { model: 'emb', input: text, encoding_format: 'float' });
  assert.equal(direct.status, 200, JSON.stringify(direct.body));
  const floats = direct.body.data[0].embedding;
  assert.ok(floats.length > 2, JSON.stringify(floats));
  // base64 carries float32: the same numbers, rounded to float32.
  assert.equal(vector.length, floats.length, `decoded ${JSON.stringify(vector)} vs floats ${JSON.stringify(floats)}`);
  assert.deepEqual(vector, floats.map(Math.fround));

  const docs = await embeddings.embedDocuments(['a', 'b', 'c']);
  assert.equal(docs.length, 3);
  for (const d of docs) assert.equal(d.length, floats.length);
});

test('concurrent calls through each chat model against 2-requests-per-2s, 1-in-flight providers all succeed', async () => {
  const earlier = [await simStats(sims.limited), await simStats(sims.limitedan)];
  const started = Date.now();
  const rs = await Promise.all([
    chatOpenAI('limited').invoke('one'),
    collect(await chatOpenAI('limited').stream('two')),
    chatOpenAI('limited', { useResponsesApi: true }).invoke('three'),
    chatAnthropic('limited-claude').invoke('four'),
    collect(await chatAnthropic('limited-claude').stream('five')),
    chatAnthropic('limited-claude').invoke('six'),
  ]);
  const elapsed = Date.now() - started;
  for (const r of rs) assert.match(r.text, /simulated answer/);
  const stats = [await simStats(sims.limited), await simStats(sims.limitedan)];
  for (const [i, s] of stats.entries()) {
    assert.ok(s.successes - earlier[i].successes >= 3, JSON.stringify(s));
    assert.ok(Object.values(s.keys)[0].max_in_flight <= 1, JSON.stringify(s));
  }
  assert.ok(elapsed >= 1500, `finished in ${elapsed} ms: was the providers' limit met?`);
});
