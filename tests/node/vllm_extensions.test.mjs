// vLLM's smaller extensions to the OpenAI API, end to end against `tessera serve` on the CPU:
// GET /version, POST /tokenize and /detokenize, max_model_len in /v1/models, and the request
// parameters stop_token_ids, include_stop_str_in_output and chat_template_kwargs. References are
// independent of the server: `tessera generate --json`, `tessera tokenize` / `detokenize`, and
// the project version in CMakeLists.txt.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { config, getJson, loadOpenAI, modelId, postJson, referenceGenerate, request, startServer } from './harness.mjs';

const { OpenAI, BadRequestError } = loadOpenAI();

const CONTEXT = 512;  // kjv-tiny's max_position_embeddings, smaller than its default KV pool
const VOCAB = 4096;   // kjv-tiny's vocab_size
const PROMPT = 'And God said';
const GREEDY = { temperature: 0 };

const sourceRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function clientFor(server) {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60000 });
}

// `tessera tokenize` (with or without --add-special-tokens) of one line.
function cliTokenize(text, addSpecialTokens) {
  const args = ['tokenize', '--model', config.modelDir, ...(addSpecialTokens ? ['--add-special-tokens'] : [])];
  const run = spawnSync(config.binary, args, { input: `${text}\n`, encoding: 'utf8', timeout: 60000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim());
}

// `tessera detokenize` of one list of ids, special tokens kept unless `skipSpecial`.
function cliDetokenize(ids, skipSpecial = false) {
  const args = ['detokenize', '--model', config.modelDir, ...(skipSpecial ? ['--skip-special-tokens'] : [])];
  const run = spawnSync(config.binary, args, { input: `${JSON.stringify(ids)}\n`, encoding: 'utf8', timeout: 60000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim());
}

function assertError(response, status, param) {
  assert.equal(response.status, status, `status ${status} expected, got ${response.status}: ${response.text}`);
  const error = response.json?.error;
  assert.ok(error, `an OpenAI error body, got ${response.text}`);
  if (param !== undefined) {
    assert.equal(error.param, param, response.text);
    assert.ok(error.message.includes(param), `message names ${param}: ${error.message}`);
  }
  return error;
}

async function collectText(stream, textOf) {
  let text = '';
  let finishReason = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += textOf(choice) ?? '';
    finishReason = choice.finish_reason ?? finishReason;
  }
  return { text, finishReason };
}

describe('vLLM extensions against tessera serve', () => {
  let server;
  let client;
  let ref;  // greedy completion of PROMPT, 32 tokens

  before(async () => {
    server = await startServer();
    client = clientFor(server);
    ref = referenceGenerate({ prompt: PROMPT, maxTokens: 32 });
  });

  after(async () => {
    if (server) await server.stop();
  });

  test('GET /version is the project version, with no key needed', async () => {
    const cmake = fs.readFileSync(path.join(sourceRoot, 'CMakeLists.txt'), 'utf8');
    const version = cmake.match(/project\(tessera VERSION (\S+)/)[1];
    const response = await getJson(server, '/version');
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { version });
    assertError(await postJson(server, '/version', {}), 405);
  });

  test('/v1/models lists max_model_len, the context requests are checked against', async () => {
    const page = await client.models.list();
    assert.equal(page.data[0].max_model_len, CONTEXT);
    const model = await client.models.retrieve(modelId);
    assert.equal(model.max_model_len, CONTEXT);
  });

  test('/tokenize a prompt: the tokenizer\'s ids, special tokens as asked', async () => {
    for (const addSpecialTokens of [true, false]) {
      const response = await postJson(server, '/tokenize', { model: modelId, prompt: PROMPT, add_special_tokens: addSpecialTokens });
      assert.equal(response.status, 200, response.text);
      const expected = cliTokenize(PROMPT, addSpecialTokens);
      assert.deepEqual(response.json, { count: expected.length, max_model_len: CONTEXT, tokens: expected });
    }
    const byDefault = await postJson(server, '/tokenize', { prompt: PROMPT });
    assert.deepEqual(byDefault.json.tokens, cliTokenize(PROMPT, true), 'a prompt gets special tokens by default');
  });

  test('/tokenize messages counts what a chat completion\'s prompt holds', async () => {
    const messages = [{ role: 'user', content: 'In the beginning God created' }];
    const response = await postJson(server, '/tokenize', { model: modelId, messages });
    assert.equal(response.status, 200, response.text);
    const chat = await client.chat.completions.create({ model: modelId, messages, max_tokens: 1, ...GREEDY });
    assert.equal(response.json.count, chat.usage.prompt_tokens);
    assert.equal(response.json.tokens.length, response.json.count);
  });

  test('/detokenize inverts /tokenize, special tokens kept', async () => {
    const ids = cliTokenize(PROMPT, true);
    const response = await postJson(server, '/detokenize', { model: modelId, tokens: ids });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { prompt: cliDetokenize(ids) });
    assert.ok(response.json.prompt.endsWith(PROMPT), response.json.prompt);
    assert.deepEqual((await postJson(server, '/detokenize', { tokens: [] })).json, { prompt: '' });
  });

  test('/tokenize and /detokenize refuse bad input naming the field', async () => {
    assertError(await postJson(server, '/tokenize', { model: 'gpt-4', prompt: 'x' }), 404, 'model');
    assertError(await postJson(server, '/detokenize', { model: 'gpt-4', tokens: [1] }), 404, 'model');
    assertError(await postJson(server, '/detokenize', { tokens: [1, VOCAB] }), 400, 'tokens');
    assertError(await postJson(server, '/detokenize', { tokens: [1, -1] }), 400, 'tokens');
    assertError(await postJson(server, '/detokenize', { tokens: 'abc' }), 400, 'tokens');
    assertError(await postJson(server, '/detokenize', {}), 400, 'tokens');
    assertError(await postJson(server, '/tokenize', {}), 400, 'prompt');
    assertError(await postJson(server, '/tokenize', { prompt: 7 }), 400, 'prompt');
    assertError(await postJson(server, '/tokenize', { prompt: 'x', add_special_tokens: 'no' }), 400, 'add_special_tokens');
    assertError(await postJson(server, '/tokenize', { messages: [{ role: 'user' }] }), 400, 'messages[0].content');
    assertError(await postJson(server, '/tokenize', { messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { messages: [] } }),
      400, 'chat_template_kwargs.messages');
    assertError(await postJson(server, '/tokenize', '{"prompt":'), 400);
    assertError(await request(server, 'GET', '/tokenize'), 405);
  });

  test('/tokenize needs the API key when the server has one', async () => {
    const guarded = await startServer({ args: ['--api-key', 'k3y'] });
    try {
      assertError(await postJson(guarded, '/tokenize', { prompt: 'x' }), 401);
      assertError(await postJson(guarded, '/detokenize', { tokens: [1] }), 401);
      const ok = await postJson(guarded, '/tokenize', { prompt: 'x' }, { headers: { authorization: 'Bearer k3y' } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await getJson(guarded, '/version')).status, 200, '/version needs no key, as /health');
    } finally {
      await guarded.stop();
    }
  });

  // A token id of the greedy reference's, first generated at index k >= 2, as the stop token.
  function pickStopToken() {
    const ids = ref.token_ids;
    for (let k = 2; k < ids.length; ++k) {
      if (ids.indexOf(ids[k]) === k) return { id: ids[k], k };
    }
    throw new Error(`no usable stop token in ${JSON.stringify(ids)}`);
  }

  test('stop_token_ids end generation with finish_reason stop; the token\'s text only when included', async () => {
    const { id, k } = pickStopToken();
    const before = cliDetokenize(ref.token_ids.slice(0, k), true);
    const through = cliDetokenize(ref.token_ids.slice(0, k + 1), true);
    assert.notEqual(through, before, 'the stop token has text of its own');
    for (const include of [false, true]) {
      const body = { model: modelId, prompt: PROMPT, max_tokens: 32, ...GREEDY, stop_token_ids: [id], include_stop_str_in_output: include };
      const response = await client.completions.create(body);
      assert.equal(response.choices[0].finish_reason, 'stop');
      assert.equal(response.usage.completion_tokens, k + 1, 'the stop token is generated and counted');
      assert.equal(response.choices[0].text, include ? through : before, `include_stop_str_in_output ${include}`);
      const streamed = await collectText(await client.completions.create({ ...body, stream: true }), (c) => c.text);
      assert.deepEqual(streamed, { text: include ? through : before, finishReason: 'stop' });
    }
    const chat = await client.chat.completions.create({
      model: modelId, messages: [{ role: 'user', content: PROMPT }], max_tokens: 32, ...GREEDY, stop_token_ids: [],
    });
    assert.equal(chat.choices[0].message.role, 'assistant', 'an empty list changes nothing');
  });

  test('stop_token_ids outside the vocabulary or of the wrong type are refused by name', async () => {
    for (const value of [[VOCAB], [-1], ['7'], 7]) {
      await assert.rejects(client.completions.create({ model: modelId, prompt: PROMPT, max_tokens: 4, stop_token_ids: value }),
        (error) => error instanceof BadRequestError && error.param === 'stop_token_ids' && /stop_token_ids/.test(error.message));
    }
    await assert.rejects(client.chat.completions.create({
      model: modelId, messages: [{ role: 'user', content: PROMPT }], max_tokens: 4, include_stop_str_in_output: 1,
    }), (error) => error instanceof BadRequestError && error.param === 'include_stop_str_in_output');
  });

  test('include_stop_str_in_output keeps a stop string, streamed and not', async () => {
    const match = [...ref.text.matchAll(/[A-Za-z]{4,}/g)].find((m) => m.index >= 4 && ref.text.indexOf(m[0]) === m.index);
    assert.ok(match, `a stop word in ${JSON.stringify(ref.text)}`);
    const stop = match[0];
    for (const include of [false, true]) {
      const expected = ref.text.slice(0, match.index) + (include ? stop : '');
      const body = { model: modelId, prompt: PROMPT, max_tokens: 32, ...GREEDY, stop: [stop], include_stop_str_in_output: include };
      const response = await client.completions.create(body);
      assert.equal(response.choices[0].text, expected);
      assert.equal(response.choices[0].finish_reason, 'stop');
      const streamed = await collectText(await client.completions.create({ ...body, stream: true }), (c) => c.text);
      assert.deepEqual(streamed, { text: expected, finishReason: 'stop' });
    }
  });
});

// chat_template_kwargs reach the template: a copy of the bundled model whose template prints a
// marker when `enable_thinking` is set.
describe('chat_template_kwargs against a template that reads them', () => {
  let server;
  let client;
  let dir;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kwargs-'));
    for (const name of fs.readdirSync(config.modelDir)) {
      if (name !== 'tokenizer_config.json') fs.symlinkSync(path.join(config.modelDir, name), path.join(dir, name));
    }
    const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(config.modelDir, 'tokenizer_config.json'), 'utf8'));
    tokenizerConfig.chat_template =
      "{% if enable_thinking %}Thinking about it: {% endif %}{% for message in messages %}{{ message['content'] }}{% endfor %}";
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    server = await startServer({ modelDir: dir });
    client = clientFor(server);
  });

  after(async () => {
    if (server) await server.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an entry becomes a template variable, in /tokenize and in chat', async () => {
    const messages = [{ role: 'user', content: 'In the beginning' }];
    const tokensOf = async (kwargs) => {
      const response = await postJson(server, '/tokenize', { messages, chat_template_kwargs: kwargs });
      assert.equal(response.status, 200, response.text);
      return response.json.tokens;
    };
    // The template renders exactly this text; chat adds no special tokens of its own.
    const on = cliTokenize('Thinking about it: In the beginning', false);
    assert.deepEqual(await tokensOf({ enable_thinking: true }), on);
    assert.deepEqual(await tokensOf({ enable_thinking: false }), cliTokenize('In the beginning', false));
    assert.deepEqual(await tokensOf(undefined), cliTokenize('In the beginning', false), 'absent is undefined: false');
    const chatOn = await client.chat.completions.create({
      messages, max_tokens: 1, ...GREEDY, chat_template_kwargs: { enable_thinking: true },
    });
    assert.equal(chatOn.usage.prompt_tokens, on.length);
    await assert.rejects(client.chat.completions.create({ messages, max_tokens: 1, chat_template_kwargs: ['enable_thinking'] }),
      (error) => error instanceof BadRequestError && error.param === 'chat_template_kwargs');
    await assert.rejects(client.chat.completions.create({ messages, max_tokens: 1, chat_template_kwargs: { add_generation_prompt: false } }),
      (error) => error instanceof BadRequestError && error.param === 'chat_template_kwargs.add_generation_prompt');
  });
});
