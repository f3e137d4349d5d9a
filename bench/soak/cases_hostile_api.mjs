// Hostile and careless requests to the OpenAI layer, over plain HTTP: bodies that are not JSON,
// fields of the wrong type, numbers that overflow a double and nesting 300,000 deep (issue 16
// item 1), parameters that would change the answer (item 8), requests OpenAI refuses (item 9),
// prompts far over the context, unknown models and routes. A case with variants names the one
// it sends in `ctx.what`, so that a finding names its exact request.
import { ENDPOINT_PATH, HOSTILE } from './bodies.mjs';
import { httpCall } from './http_client.mjs';
import { expectError } from './openai_error.mjs';
import { target } from './run_state.mjs';

const MALFORMED = ['{"model": ', 'not json at all', '{"messages": [}', '', '{"messages":[{"role":"user"',
  '{"a":1}{"b":2}', '{}', '[1, 2]', '"text"', '42', 'null', '{"messages":[{"role":"user","content":"x"}],}',
  Buffer.from('{"messages":[{"role":"user","content":"\xff\xfe"}]}', 'latin1'),  // invalid UTF-8
  '{"messages":[{"role":"user","content":"\\ud800"}]}'];  // a lone surrogate escape

export async function malformedJson(ctx) {
  const path = ctx.rand.pick(Object.values(ENDPOINT_PATH));
  const body = ctx.rand.pick(MALFORMED);
  ctx.what = JSON.stringify(body.toString('latin1').slice(0, 60));
  return expectError(await httpCall(ctx, 'POST', path, { body }), 400);
}

// [endpoint, the parameter at fault, body]; built per client once the model is known.
export function wrongTypeCases() {
  const model = target.modelId;
  const chat = (extra) => ({ model, messages: [{ role: 'user', content: 'x' }], max_tokens: 4, ...extra });
  const completion = (extra) => ({ model, prompt: 'x', max_tokens: 4, ...extra });
  return [
    ['chat', 'messages', chat({ messages: 'hello' })],
    ['chat', 'max_tokens', chat({ max_tokens: '10' })],
    ['chat', 'max_tokens', chat({ max_tokens: -5 })],
    ['chat', 'stream', chat({ stream: 'yes' })],
    ['chat', 'temperature', chat({ temperature: [1] })],
    ['chat', 'model', chat({ model: 7 })],
    ['chat', 'messages', chat({ messages: [{ role: 'user', content: 5 }] })],
    ['chat', 'stop', chat({ stop: 5 })],
    ['chat', 'include_usage', chat({ stream: true, stream_options: { include_usage: 'yes' } })],
    ['completion', 'prompt', completion({ prompt: { text: 'x' } })],
    ['completion', 'top_p', completion({ top_p: '0.5' })],
    ['completion', 'max_tokens', completion({ max_tokens: 99999999999999999999 })],
  ];
}

export async function wrongTypes(ctx) {
  const [endpoint, param, body] = ctx.rand.pick(ctx.wrongTypeCases);
  ctx.what = param;
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH[endpoint], { body }), 400, { param });
}

// The merged parser's answer to issue 16 item 1: a 400 whose message names the request body.
const NAMES_THE_BODY = /the request body/;

// Issue 16 item 1: a number that overflows a double, anywhere in the body.
export async function numberOverflow(ctx) {
  const model = target.modelId;
  const m = `"model":"${model}","messages":[{"role":"user","content":"x"}],"max_tokens":4`;
  const [what, body] = ctx.rand.pick([
    ['temperature 1e400', `{${m},"temperature":1e400}`],
    ['top_p -1e400', `{${m},"top_p":-1e400}`],
    ['1e999 in an unknown array field', `{${m},"padding":[1,2,1e999]}`],
    ['1e400 in a message field', `{"model":"${model}","messages":[{"role":"user","content":"x","weight":1e400}],"max_tokens":4}`],
    ['completion seed 1e400', `{"model":"${model}","prompt":"x","max_tokens":4,"seed":1e400}`],
  ]);
  ctx.what = what;
  const path = body.includes('"prompt"') ? ENDPOINT_PATH.completion : ENDPOINT_PATH.chat;
  return expectError(await httpCall(ctx, 'POST', path, { body }), 400, { mentions: NAMES_THE_BODY });
}

// Issue 16 item 1: nesting 300,000 deep (under the body limit).
export async function deepNesting(ctx) {
  const index = ctx.rand.int(0, HOSTILE.deepBodies.length - 1);
  const body = HOSTILE.deepBodies[index];
  const path = body.includes('"prompt"') ? ENDPOINT_PATH.completion : ENDPOINT_PATH.chat;
  ctx.what = HOSTILE.deepNames[index];
  return expectError(await httpCall(ctx, 'POST', path, { body }), 400, { mentions: NAMES_THE_BODY });
}

// Issue 16 item 8: parameters that change the answer must be refused, on either endpoint, with
// `param` naming them.
const UNSUPPORTED = [
  ['tools', [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]],
  ['tool_choice', 'required'],
  ['functions', [{ name: 'f', parameters: { type: 'object' } }]],
  ['function_call', 'auto'],
  ['response_format', { type: 'json_object' }],
  ['logit_bias', { 1: 5 }],
  ['guided_json', { type: 'object' }],
  ['guided_regex', 'a+'],
  ['guided_choice', ['a', 'b']],
  ['guided_grammar', 'root ::= "a"'],
  ['structured_outputs', { json: { type: 'object' } }],
  ['min_tokens', 4],
  ['stop_token_ids', [1]],
  ['allowed_token_ids', [1, 2]],
  ['echo', true],
];

export async function unsupportedParam(ctx) {
  const [param, value] = ctx.rand.pick(UNSUPPORTED);
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  ctx.what = `${param} (${endpoint})`;
  const body = endpoint === 'chat'
    ? { model: target.modelId, messages: [{ role: 'user', content: 'x' }], max_tokens: 4, [param]: value }
    : { model: target.modelId, prompt: 'x', max_tokens: 4, [param]: value };
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH[endpoint], { body }), 400, { param, exactParam: true });
}

// The limit on tokens is the model's context, and the message says so (issue 16 item 9).
const NAMES_THE_CONTEXT = /context of \d+ tokens/;

// Issue 16 item 9: requests OpenAI refuses that must not be half-accepted: stream_options
// without a stream (absent or false), more tokens than the context holds.
export async function apiContract(ctx) {
  const base = { model: target.modelId, messages: [{ role: 'user', content: 'x' }] };
  const [what, param, body, mentions] = ctx.rand.pick([
    ['stream_options, stream false', 'stream_options', { ...base, max_tokens: 4, stream: false, stream_options: { include_usage: true } }],
    ['stream_options, no stream', 'stream_options', { ...base, max_tokens: 4, stream_options: { include_usage: true } }],
    ['max_completion_tokens 1000000', 'max_completion_tokens', { ...base, max_completion_tokens: 1000000 }, NAMES_THE_CONTEXT],
    ['max_tokens 1000000', 'max_tokens', { ...base, max_tokens: 1000000 }, NAMES_THE_CONTEXT],
  ]);
  ctx.what = what;
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH.chat, { body }), 400, { param, exactParam: true, mentions });
}

// A prompt thousands of times the context: refused (400) cheaply, naming the prompt's field and
// the context.
export async function hugePrompt(ctx) {
  const chat = ctx.rand.chance(0.5);
  ctx.what = chat ? 'chat' : 'completion';
  const r = await httpCall(ctx, 'POST', chat ? ENDPOINT_PATH.chat : ENDPOINT_PATH.completion, {
    body: chat ? HOSTILE.hugeChatBody : HOSTILE.hugePromptBody,
  });
  return expectError(r, 400, { param: chat ? 'messages' : 'prompt', exactParam: true, mentions: NAMES_THE_CONTEXT });
}

// An unknown model is 404 model_not_found wherever a model is named (issue 16 item 9).
export async function unknownModel(ctx) {
  const model = ctx.rand.pick(['gpt-4o', 'no-such-model', '']) || 'x'.repeat(300);
  const where = ctx.rand.pick(['chat', 'completion', 'GET /v1/models/{id}']);
  ctx.what = `${model.slice(0, 20)}${model.length > 20 ? '...' : ''} (${where})`;
  const r = where === 'chat' ? await httpCall(ctx, 'POST', ENDPOINT_PATH.chat, { body: { model, messages: [{ role: 'user', content: 'x' }], max_tokens: 4 } })
    : where === 'completion' ? await httpCall(ctx, 'POST', ENDPOINT_PATH.completion, { body: { model, prompt: 'x', max_tokens: 4 } })
      : await httpCall(ctx, 'GET', `/v1/models/${encodeURIComponent(model)}`);
  return expectError(r, 404, { code: 'model_not_found' });
}

export async function unknownRoute(ctx) {
  const path = ctx.rand.pick(['/v1/nothing', '/v2/chat/completions', `/${'a'.repeat(2000)}`, '/v1/chat/completions/../../etc/passwd',
    '/%00', '/v1/models/other-model']);
  ctx.what = path.length > 40 ? `${path.slice(0, 12)}... (${path.length} bytes)` : path;
  const r = await httpCall(ctx, 'GET', path);
  return r.status === 404 ? { outcome: 'status 404' } : { outcome: r.error ?? `status ${r.status}`, detail: r.text?.slice(0, 200) };
}
