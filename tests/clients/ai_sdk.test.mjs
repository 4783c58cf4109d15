// The Vercel AI SDK (`ai` with @ai-sdk/openai and @ai-sdk/anthropic) through
// `sluice serve` in front of simulated providers: Chat Completions, the
// Responses API and Anthropic Messages; text, streams, tool loops, embeddings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, streamText, tool, jsonSchema, stepCountIs, embed, embedMany } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { z } from 'zod';
import { gatewayYaml, limitedSim, postJson, simStats, startGateway, startSim, stopAll } from './harness.mjs';

let sims;
let base;

before(async () => {
  sims = await startSim(`providers:
  oa: {dialect: openai, listen: "127.0.0.1:0", keys: [oa-key]}
  an: {dialect: anthropic, listen: "127.0.0.1:0", keys: [an-key]}
${limitedSim('limited', 'openai')}`);
  ({ base } = await startGateway(gatewayYaml({
    providers: `  oa: {api: openai, dialect: openai, base_url: "${sims.oa}/v1", keys: [env:OA_KEY]}
  an: {api: anthropic, dialect: anthropic, base_url: "${sims.an}", keys: [env:AN_KEY]}
  limited: {api: openai, dialect: openai, base_url: "${sims.limited}/v1", keys: [env:LIMITED_KEY], max_concurrent: 1, rpm_throttle_threshold: 0}`,
    models: `  main: {route: [oa/gpt-sim]}
  claude: {route: [an/claude-sim]}
  emb: {route: [oa/text-embedding-sim]}
  limited: {route: [limited/gpt-sim]}`,
  }), { OA_KEY: 'oa-key', AN_KEY: 'an-key', LIMITED_KEY: 'limited-key' }));
});

after(stopAll);

const openai = () => createOpenAI({ baseURL: `${base}/v1`, apiKey: 'sluice-client-test' });
const anthropic = () => createAnthropic({ baseURL: `${base}/v1`, apiKey: 'sluice-client-test' });

// The three ways in: Chat Completions, Responses, Anthropic Messages.
const models = {
  'openai.chat (Chat Completions)': () => openai().chat('main'),
  'openai (Responses API)': () => openai()('main'),
  'openai.responses (Responses API)': () => openai().responses('main'),
  'createAnthropic (Messages)': () => anthropic()('claude'),
};

// Failures must be absorbed by sluice: the SDK does not retry.
const common = { maxRetries: 0, maxOutputTokens: 256 };

// Collects a streamText run; rejects on any error part.
async function drain(result) {
  let text = '';
  const errors = [];
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'error') errors.push(part.error);
  }
  assert.deepEqual(errors.map(String), []);
  return text;
}

for (const [name, model] of Object.entries(models)) {
  test(`${name}: generateText`, async () => {
    const r = await generateText({ ...common, model: model(), prompt: 'Say hello.' });
    assert.match(r.text, /simulated answer/);
    assert.equal(r.finishReason, 'stop');
    assert.ok(r.usage.outputTokens > 0, JSON.stringify(r.usage));
  });

  test(`${name}: streamText`, async () => {
    const r = streamText({ ...common, model: model(), prompt: 'Say hello.' });
    const text = await drain(r);
    assert.match(text, /simulated answer/);
    assert.equal(await r.finishReason, 'stop');
  });

  test(`${name}: a tool loop (zod schema): the call is executed and its result sent back`, async () => {
    const seen = [];
    const r = await generateText({
      ...common,
      model: model(),
      prompt: 'What is the weather in Paris?',
      tools: {
        weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string(), days: z.number().int().min(1).max(7) }),
          execute: async (input) => { seen.push(input); return { forecast: 'sunny' }; },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    assert.equal(seen.length, 1, JSON.stringify(r.steps.map((s) => s.finishReason)));
    assert.equal(typeof seen[0].city, 'string');
    assert.ok(seen[0].days >= 1 && seen[0].days <= 7);
    assert.equal(r.steps.length, 2);
    assert.equal(r.steps[0].finishReason, 'tool-calls');
    assert.equal(r.steps[0].toolCalls[0].toolName, 'weather');
    assert.deepEqual(r.steps[0].toolResults[0].output, { forecast: 'sunny' });
    assert.equal(r.finishReason, 'stop');
    assert.match(r.text, /simulated answer/);
  });

  test(`${name}: a streamed tool loop (JSON schema)`, async () => {
    const seen = [];
    const r = streamText({
      ...common,
      model: model(),
      prompt: 'Look it up.',
      tools: {
        lookup: tool({
          description: 'Looks a term up',
          inputSchema: jsonSchema({
            type: 'object',
            properties: { term: { type: 'string', minLength: 2 }, exact: { type: 'boolean' } },
            required: ['term', 'exact'],
            additionalProperties: false,
          }),
          execute: async (input) => { seen.push(input); return 'found'; },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    const text = await drain(r);
    assert.equal(seen.length, 1);
    assert.ok(seen[0].term.length >= 2);
    assert.equal(typeof seen[0].exact, 'boolean');
    const steps = await r.steps;
    assert.deepEqual(steps.map((s) => s.finishReason), ['tool-calls', 'stop']);
    assert.match(text, /simulated answer/);
  });
}

test('embed and embedMany: vectors of the sim\'s floats', async () => {
  const model = openai().embedding('emb');
  const one = await embed({ ...common, model, value: 'hello world' });
  assert.ok(one.embedding.length > 2, JSON.stringify(one.embedding));
  assert.ok(one.embedding.every((x) => Number.isFinite(x) && x >= -1 && x <= 1));
  const direct = await postJson(`${base}/v1/embeddings`,
    { model: 'emb', input: ['hello world'], encoding_format: 'float' });
  assert.equal(direct.status, 200, JSON.stringify(direct.body));
  assert.deepEqual(one.embedding, direct.body.data[0].embedding);

  const many = await embedMany({ ...common, model, values: ['a', 'b', 'c'] });
  assert.equal(many.embeddings.length, 3);
  for (const e of many.embeddings) assert.equal(e.length, one.embedding.length);
  assert.notDeepEqual(many.embeddings[0], many.embeddings[1]);
});

test('four concurrent calls against a 2-requests-per-2s, 1-in-flight provider all succeed', async () => {
  const earlier = await simStats(sims.limited);
  const started = Date.now();
  const rs = await Promise.all([
    generateText({ ...common, model: openai().chat('limited'), prompt: 'one' }),
    generateText({ ...common, model: openai().responses('limited'), prompt: 'two' }),
    drain(streamText({ ...common, model: openai().chat('limited'), prompt: 'three' })),
    drain(streamText({ ...common, model: openai().responses('limited'), prompt: 'four' })),
  ]);
  const elapsed = Date.now() - started;
  assert.match(rs[0].text, /simulated answer/);
  assert.match(rs[1].text, /simulated answer/);
  assert.match(rs[2], /simulated answer/);
  assert.match(rs[3], /simulated answer/);
  const stats = await simStats(sims.limited);
  assert.ok(stats.successes - earlier.successes >= 4, JSON.stringify(stats));
  assert.ok(stats.keys['limited-key'].max_in_flight <= 1, JSON.stringify(stats));
  assert.ok(elapsed >= 1500, `finished in ${elapsed} ms: was the provider's limit met?`);
});
