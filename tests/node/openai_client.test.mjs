// `tessera serve` driven by the official openai npm package: what a user's existing client code
// sees. Greedy output is compared with `tessera generate --json`, the independent path through
// the same Engine without HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { loadOpenAI, modelId, referenceGenerate, request, startServer, tokenize } from './harness.mjs';

const { OpenAI, BadRequestError, NotFoundError, AuthenticationError } = loadOpenAI();

const CHAT_PROMPT = 'In the beginning God created';
const COMPLETION_PROMPT = 'And God said';

// OpenAI's default temperature is 1; greedy needs it said.
const GREEDY = { temperature: 0 };

function clientFor(server, apiKey = 'no-key-configured') {
  // No retries: a 429 or 5xx must surface as it is, not be hidden by a retry.
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 60000 });
}

const userMessage = (content) => [{ role: 'user', content }];

// Consumes a stream from the client, keeping every chunk.
async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function assertUsage(usage, { promptTokens, completionTokens }) {
  assert.ok(usage, 'usage present');
  if (promptTokens !== undefined) assert.equal(usage.prompt_tokens, promptTokens, 'usage.prompt_tokens');
  if (completionTokens !== undefined) assert.equal(usage.completion_tokens, completionTokens, 'usage.completion_tokens');
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, 'usage.total_tokens');
}

// The stream's shape per the OpenAI reference: one id and model throughout, the finish_reason
// on the last chunk that has choices, then (only with include_usage) one chunk with
// `choices: []` and the usage. Returns { text, finishReason, usage, contentChunks }.
function checkStream(chunks, { object, includeUsage, textOf }) {
  assert.ok(chunks.length >= 2, `at least two chunks, got ${chunks.length}`);
  const id = chunks[0].id;
  for (const chunk of chunks) {
    assert.equal(chunk.object, object);
    assert.equal(chunk.id, id, 'every chunk carries the same id');
    assert.equal(chunk.model, modelId);
  }
  let usageChunk = null;
  let withChoices = chunks;
  if (includeUsage) {
    usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk.choices, [], 'the usage chunk has no choices');
    withChoices = chunks.slice(0, -1);
  }
  for (const chunk of withChoices) {
    assert.equal(chunk.choices.length, 1);
    assert.equal(chunk.choices[0].index, 0);
    assert.ok(chunk.usage == null, 'only the final chunk carries usage');
  }
  const finishing = withChoices.filter((c) => c.choices[0].finish_reason != null);
  assert.equal(finishing.length, 1, 'exactly one chunk carries finish_reason');
  assert.equal(finishing[0], withChoices.at(-1), 'finish_reason comes on the last chunk with choices');
  const text = withChoices.map((c) => textOf(c.choices[0]) ?? '').join('');
  const contentChunks = withChoices.filter((c) => (textOf(c.choices[0]) ?? '') !== '').length;
  return { text, finishReason: finishing[0].choices[0].finish_reason, usage: usageChunk?.usage, contentChunks };
}

// A word from the middle of `text` whose first occurrence is there, to use as a stop string;
// the expected output is everything before it.
function pickStop(text) {
  for (const match of text.matchAll(/[A-Za-z]{4,}/g)) {
    if (match.index >= 8 && text.indexOf(match[0]) === match.index) {
      return { stop: match[0], expected: text.slice(0, match.index) };
    }
  }
  throw new Error(`no usable stop word in ${JSON.stringify(text)}`);
}

// The client's typed error for a 400 that names `field` in its message and its param.
async function assertBadRequest(promise, field) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof BadRequestError, `BadRequestError expected, got ${error.constructor.name}: ${error.message}`);
    assert.equal(error.status, 400);
    assert.match(error.message, new RegExp(field.replace(/[.[\]]/g, '\\$&')), `message names ${field}`);
    assert.ok(error.param === field || String(error.param).startsWith(`${field}.`) || String(error.param).startsWith(`${field}[`),
      `param names ${field}, got ${JSON.stringify(error.param)}`);
    assert.equal(error.type, 'invalid_request_error');
    return true;
  });
}

describe('openai client against tessera serve', () => {
  let server;
  let client;
  const chatRef = {};
  const completionRef = {};

  before(async () => {
    server = await startServer();
    client = clientFor(server);
    chatRef.short = referenceGenerate({ prompt: CHAT_PROMPT, maxTokens: 24, chat: true });
    chatRef.long = referenceGenerate({ prompt: CHAT_PROMPT, maxTokens: 48, chat: true });
    completionRef.short = referenceGenerate({ prompt: COMPLETION_PROMPT, maxTokens: 24 });
    completionRef.long = referenceGenerate({ prompt: COMPLETION_PROMPT, maxTokens: 48 });
  });

  after(async () => {
    if (server) await server.stop();
  });

  test('models.list names the served model', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.deepEqual(ids, [modelId]);
    assert.equal(page.data[0].object, 'model');
    assert.equal(typeof page.data[0].created, 'number');
    assert.equal(typeof page.data[0].owned_by, 'string');
  });

  test('chat, not streaming: greedy text equals tessera generate --chat', async () => {
    const ref = chatRef.short;
    const response = await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 24, ...GREEDY,
    });
    assert.equal(response.object, 'chat.completion');
    assert.equal(typeof response.id, 'string');
    assert.equal(typeof response.created, 'number');
    assert.equal(response.model, modelId);
    assert.equal(response.choices.length, 1);
    const [choice] = response.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, ref.text);
    assert.equal(choice.finish_reason, ref.finish_reason);
    assert.ok(choice.logprobs == null, 'no logprobs unless asked');
    assertUsage(response.usage, { promptTokens: ref.prompt_tokens, completionTokens: ref.token_ids.length });
  });

  test('chat, streaming with include_usage: same text, role first, usage last', async () => {
    const ref = chatRef.short;
    const chunks = await collect(await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 24, ...GREEDY,
      stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'the first delta carries the role');
    const got = checkStream(chunks, { object: 'chat.completion.chunk', includeUsage: true, textOf: (c) => c.delta.content });
    assert.equal(got.text, ref.text);
    assert.equal(got.finishReason, ref.finish_reason);
    assertUsage(got.usage, { promptTokens: ref.prompt_tokens, completionTokens: ref.token_ids.length });
    assert.ok(got.contentChunks <= got.usage.completion_tokens, 'no more content chunks than tokens');
  });

  test('chat, streaming without include_usage: no usage anywhere', async () => {
    const chunks = await collect(await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 24, ...GREEDY, stream: true,
    }));
    const got = checkStream(chunks, { object: 'chat.completion.chunk', includeUsage: false, textOf: (c) => c.delta.content });
    assert.equal(got.text, chatRef.short.text);
  });

  test('chat content given as text parts reads like the parts joined by newlines', async () => {
    // The OpenAI API lets content be an array of parts. Text parts become one string, one part
    // per line, as vLLM joins them: the chat templates of text-only models expect a string.
    const single = await client.chat.completions.create({
      model: modelId, messages: [{ role: 'user', content: [{ type: 'text', text: CHAT_PROMPT }] }],
      max_tokens: 24, ...GREEDY,
    });
    assert.equal(single.choices[0].message.content, chatRef.short.text);
    assert.equal(single.usage.prompt_tokens, chatRef.short.prompt_tokens);

    const lines = ['In the beginning', 'God created'];
    const joinedRef = referenceGenerate({ prompt: lines.join('\n'), maxTokens: 24, chat: true });
    const parts = lines.map((text) => ({ type: 'text', text }));
    const split = await client.chat.completions.create({
      model: modelId, messages: [{ role: 'user', content: parts }], max_tokens: 24, ...GREEDY,
    });
    assert.equal(split.choices[0].message.content, joinedRef.text);
    assert.equal(split.usage.prompt_tokens, joinedRef.prompt_tokens);
  });

  test('completions, not streaming: greedy text equals tessera generate', async () => {
    const ref = completionRef.short;
    const response = await client.completions.create({
      model: modelId, prompt: COMPLETION_PROMPT, max_tokens: 24, ...GREEDY,
    });
    assert.equal(response.object, 'text_completion');
    assert.equal(response.model, modelId);
    assert.equal(response.choices.length, 1);
    assert.equal(response.choices[0].index, 0);
    assert.equal(response.choices[0].text, ref.text);
    assert.equal(response.choices[0].finish_reason, ref.finish_reason);
    assertUsage(response.usage, { promptTokens: ref.prompt_tokens, completionTokens: ref.token_ids.length });
  });

  test('completions, streaming with include_usage: same text and usage', async () => {
    const ref = completionRef.short;
    const chunks = await collect(await client.completions.create({
      model: modelId, prompt: COMPLETION_PROMPT, max_tokens: 24, ...GREEDY,
      stream: true, stream_options: { include_usage: true },
    }));
    const got = checkStream(chunks, { object: 'text_completion', includeUsage: true, textOf: (c) => c.text });
    assert.equal(got.text, ref.text);
    assert.equal(got.finishReason, ref.finish_reason);
    assertUsage(got.usage, { promptTokens: ref.prompt_tokens, completionTokens: ref.token_ids.length });
  });

  test('completions: a prompt of token ids continues like the same text', async () => {
    const ids = tokenize(COMPLETION_PROMPT);
    const response = await client.completions.create({ model: modelId, prompt: ids, max_tokens: 24, ...GREEDY });
    assert.equal(response.choices[0].text, completionRef.short.text);
    assertUsage(response.usage, { promptTokens: ids.length, completionTokens: completionRef.short.token_ids.length });
  });

  test('the same greedy request over --tp 2 gives the same text', async () => {
    const tp2 = await startServer({ args: ['--tp', '2'] });
    try {
      const response = await clientFor(tp2).chat.completions.create({
        model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 24, ...GREEDY,
      });
      assert.equal(response.choices[0].message.content, chatRef.short.text);
    } finally {
      await tp2.stop();
    }
  });

  test('chat stop string: text ends before it, finish_reason stop', async () => {
    const { stop, expected } = pickStop(chatRef.long.text);
    const response = await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 48, ...GREEDY, stop: [stop, 'never-appears-zq'],
    });
    assert.equal(response.choices[0].message.content, expected);
    assert.equal(response.choices[0].finish_reason, 'stop');
    assert.ok(response.usage.completion_tokens < chatRef.long.token_ids.length, 'stopped before the token limit');
  });

  test('completions stop string, streaming: no text of the stop string leaks', async () => {
    const { stop, expected } = pickStop(completionRef.long.text);
    const chunks = await collect(await client.completions.create({
      model: modelId, prompt: COMPLETION_PROMPT, max_tokens: 48, ...GREEDY, stop, stream: true,
    }));
    const got = checkStream(chunks, { object: 'text_completion', includeUsage: false, textOf: (c) => c.text });
    assert.equal(got.text, expected);
    assert.equal(got.finishReason, 'stop');
  });

  test('max_tokens and max_completion_tokens end with finish_reason length', async () => {
    const chat = await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_completion_tokens: 5, ignore_eos: true, ...GREEDY,
    });
    assert.equal(chat.choices[0].finish_reason, 'length');
    assert.equal(chat.usage.completion_tokens, 5);
    const completion = await client.completions.create({
      model: modelId, prompt: COMPLETION_PROMPT, max_tokens: 3, ignore_eos: true, ...GREEDY,
    });
    assert.equal(completion.choices[0].finish_reason, 'length');
    assert.equal(completion.usage.completion_tokens, 3);
  });

  test('a seeded sample is reproduced exactly; another seed differs', async () => {
    // Not a memorised verse, so that temperature 1 leaves the model real choices.
    const sample = async (seed, stream = false) => {
      const params = {
        model: modelId, messages: userMessage('Tell me of the sea and the ships'), max_tokens: 32, ignore_eos: true, temperature: 1, seed,
      };
      if (!stream) return (await client.chat.completions.create(params)).choices[0].message.content;
      const chunks = await collect(await client.chat.completions.create({ ...params, stream: true }));
      return chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    };
    const first = await sample(1234);
    assert.equal(await sample(1234), first, 'same seed, same text');
    assert.equal(await sample(1234, true), first, 'streaming does not change the sample');
    assert.notEqual(await sample(4321), first, 'a different seed gives a different sample');
  });

  test('chat logprobs: one entry per token with top_logprobs, greedy picks the top', async () => {
    const response = await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 8, ...GREEDY, logprobs: true, top_logprobs: 3,
    });
    const [choice] = response.choices;
    const entries = choice.logprobs.content;
    assert.equal(entries.length, response.usage.completion_tokens);
    for (const entry of entries) {
      assert.equal(typeof entry.token, 'string');
      assert.ok(Number.isFinite(entry.logprob) && entry.logprob <= 0, `logprob ${entry.logprob} <= 0`);
      if (entry.bytes != null) assert.equal(Buffer.from(entry.bytes).toString('utf8'), entry.token);
      assert.equal(entry.top_logprobs.length, 3);
      const tops = entry.top_logprobs.map((t) => t.logprob);
      assert.deepEqual(tops, [...tops].sort((a, b) => b - a), 'top_logprobs in descending order');
      assert.ok(tops.reduce((sum, lp) => sum + Math.exp(lp), 0) <= 1 + 1e-5, 'top probabilities sum to at most 1');
      assert.equal(entry.top_logprobs[0].token, entry.token, 'greedy chose the most likely token');
      assert.ok(Math.abs(entry.top_logprobs[0].logprob - entry.logprob) < 1e-4);
    }
    assert.equal(entries.map((e) => e.token).join(''), choice.message.content, 'the tokens spell the content');
  });

  test('chat logprobs while streaming: one entry per token across chunks', async () => {
    const chunks = await collect(await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 8, ...GREEDY, logprobs: true, top_logprobs: 2,
      stream: true, stream_options: { include_usage: true },
    }));
    const entries = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
    assert.equal(entries.length, chunks.at(-1).usage.completion_tokens);
    for (const entry of entries) assert.equal(entry.top_logprobs.length, 2);
  });

  test('completions logprobs: tokens, token_logprobs, top_logprobs, text_offset', async () => {
    const response = await client.completions.create({
      model: modelId, prompt: COMPLETION_PROMPT, max_tokens: 8, ...GREEDY, logprobs: 2,
    });
    const [choice] = response.choices;
    const lp = choice.logprobs;
    const n = response.usage.completion_tokens;
    assert.equal(lp.tokens.length, n);
    assert.equal(lp.token_logprobs.length, n);
    assert.equal(lp.top_logprobs.length, n);
    assert.equal(lp.text_offset.length, n);
    assert.equal(lp.tokens.join(''), choice.text, 'the tokens spell the text');
    lp.tokens.forEach((token, i) => {
      const top = lp.top_logprobs[i];
      const values = Object.values(top);
      assert.ok(values.length >= 1 && values.length <= 2, `1..2 alternatives, got ${values.length}`);
      assert.ok(lp.token_logprobs[i] <= 0);
      assert.ok(Math.abs(Math.max(...values) - lp.token_logprobs[i]) < 1e-4, 'greedy chose the most likely token');
      assert.ok(token in top, 'the chosen token is among the alternatives');
      if (i > 0) assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1], 'text_offset never decreases');
    });
  });

  test('n = 1 is accepted; unknown fields are ignored', async () => {
    const response = await client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 4, ...GREEDY, n: 1,
      user: 'someone', metadata_not_in_any_spec: { a: 1 },
    });
    assert.equal(response.choices.length, 1);
  });

  describe('bad requests surface as the client\'s typed errors', () => {
    const chat = (extra) => client.chat.completions.create({
      model: modelId, messages: userMessage(CHAT_PROMPT), max_tokens: 4, ...extra,
    });
    const completion = (extra) => client.completions.create({
      model: modelId, prompt: COMPLETION_PROMPT, max_tokens: 4, ...extra,
    });
    const chatCases = [
      ['temperature', { temperature: 3 }],
      ['temperature', { temperature: 'hot' }],
      ['top_p', { top_p: 1.5 }],
      ['max_tokens', { max_tokens: 0 }],
      ['max_tokens', { max_tokens: -5 }],
      ['max_completion_tokens', { max_completion_tokens: 'many' }],
      ['n', { n: 2 }],
      ['stop', { stop: ['a', 'b', 'c', 'd', 'e'] }],
      ['stop', { stop: 7 }],
      ['seed', { seed: 'abc' }],
      ['logprobs', { logprobs: 'yes' }],
      ['top_logprobs', { logprobs: true, top_logprobs: 21 }],
      ['frequency_penalty', { frequency_penalty: 2.5 }],
      ['presence_penalty', { presence_penalty: -2.5 }],
      ['min_p', { min_p: 1.5 }],
      ['repetition_penalty', { repetition_penalty: 0 }],
      ['stream', { stream: 'yes' }],
      ['messages', { messages: [] }],
      ['messages', { messages: 'hello' }],
      ['messages', { messages: [{ role: 'user' }] }],
    ];
    for (const [field, extra] of chatCases) {
      test(`chat ${JSON.stringify(extra)} -> 400 naming ${field}`, () => assertBadRequest(chat(extra), field));
    }
    const completionCases = [
      ['prompt', { prompt: 42 }],
      ['prompt', { prompt: [1, 2, 999999] }],
      ['logprobs', { logprobs: 6 }],
      ['max_tokens', { max_tokens: 1.5 }],
    ];
    for (const [field, extra] of completionCases) {
      test(`completions ${JSON.stringify(extra)} -> 400 naming ${field}`, () => assertBadRequest(completion(extra), field));
    }

    test('a prompt longer than the model\'s 512 positions -> 400', async () => {
      const ids = Array.from({ length: 600 }, (_, i) => 1 + (i % 100));
      await assert.rejects(completion({ prompt: ids }), BadRequestError);
    });

    test('an unknown model -> NotFoundError with code model_not_found', async () => {
      // One request at a time: a second request made up front could fail while the first is
      // awaited, before anything handles its rejection, and node reports that as a failure.
      for (const request of [() => chat({ model: 'gpt-4o' }), () => completion({ model: 'gpt-4o' })]) {
        await assert.rejects(request(), (error) => {
          assert.ok(error instanceof NotFoundError, `NotFoundError expected, got ${error.constructor.name}`);
          assert.equal(error.status, 404);
          assert.equal(error.code, 'model_not_found');
          assert.match(error.message, /gpt-4o/);
          return true;
        });
      }
    });
  });
});

describe('api key', () => {
  // The key may come from --api-key or from TESSERA_API_KEY; both must guard the same way.
  const ways = [
    { how: '--api-key', key: 's3cret-flag', start: { args: ['--api-key', 's3cret-flag'] } },
    { how: 'TESSERA_API_KEY', key: 's3cret-env', start: { env: { TESSERA_API_KEY: 's3cret-env' } } },
  ];
  for (const { how, key, start } of ways) {
    test(`${how}: wrong or missing key -> 401, right key works`, async () => {
      const server = await startServer(start);
      try {
        const wrong = clientFor(server, 'wrong-key');
        await assert.rejects(wrong.models.list(), AuthenticationError);
        await assert.rejects(
          wrong.chat.completions.create({ model: modelId, messages: userMessage('Hi'), max_tokens: 2 }),
          (error) => error instanceof AuthenticationError && error.status === 401);
        const bare = await request(server, 'GET', '/v1/models');
        assert.equal(bare.status, 401, 'no Authorization header -> 401');
        assert.equal(typeof bare.json?.error?.message, 'string', 'OpenAI error body');
        const good = clientFor(server, key);
        assert.equal((await good.models.list()).data[0].id, modelId);
        const response = await good.chat.completions.create({
          model: modelId, messages: userMessage('Hi'), max_tokens: 2, ...GREEDY,
        });
        assert.equal(response.choices.length, 1);
      } finally {
        await server.stop();
      }
    });
  }
});
