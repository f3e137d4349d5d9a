// Request bodies: the valid ones every client draws at random, and the large hostile ones,
// built once and sized from the server's body limit.
import { target } from './run_state.mjs';

export const ENDPOINT_PATH = { chat: '/v1/chat/completions', completion: '/v1/completions' };

const PROMPTS = ['In the beginning', 'And God said', 'Blessed are the', 'The LORD is my shepherd',
  'And it came to pass', 'Thus saith the LORD', 'Let there be light', 'And Moses said'];

export function validBody(ctx, endpoint, extra = {}) {
  const { rand } = ctx;
  const model = target.modelId;
  const body = endpoint === 'chat'
    ? { model, messages: [{ role: 'user', content: rand.pick(PROMPTS) }] }
    : { model, prompt: rand.pick(PROMPTS) };
  // Greedy or sampled; sometimes with logprobs, so that both paths run under load.
  if (rand.chance(0.5)) body.temperature = 0;
  else Object.assign(body, { temperature: 0.8, top_p: 0.95 });
  if (endpoint === 'chat' && rand.chance(0.2)) Object.assign(body, { logprobs: true, top_logprobs: 2 });
  return { ...body, ...extra };
}

// Set by buildHostileBodies before any client starts.
export let HOSTILE = null;

export function buildHostileBodies(maxBodyBytes) {
  const model = target.modelId;
  // Nesting as deep as issue 16's crash (300,000) while staying under the body limit.
  const depth = Math.min(300000, Math.floor((maxBodyBytes - 512) / 2));
  const nested = '['.repeat(depth) + ']'.repeat(depth);
  const objectDepth = Math.min(150000, Math.floor((maxBodyBytes - 512) / 6));
  const nestedObjects = '{"a":'.repeat(objectDepth) + '1' + '}'.repeat(objectDepth);
  const message = (field) => `{"model":"${model}","messages":[{"role":"user","content":"x","${field}":${nested}}]}`;
  // A prompt far beyond the 512-position context but under the body limit: the server must
  // refuse it, and should not stall its I/O threads doing so.
  const promptBytes = Math.min(1536 << 10, Math.floor(maxBodyBytes * 0.75));
  const verse = 'And the LORD spake unto Moses, saying, Speak unto the children of Israel. ';
  const hugePrompt = verse.repeat(Math.ceil(promptBytes / verse.length)).slice(0, promptBytes);
  HOSTILE = {
    depth,
    deepBodies: [
      message('name_parts'),
      `{"model":"${model}","messages":[{"role":"user","content":${nested}}]}`,
      `{"model":"${model}","messages":[{"role":"user","content":"x"}],"metadata":${nestedObjects}}`,
      `{"model":"${model}","prompt":${nested}}`,
    ],
    deepNames: [`an array ${depth} deep in a message field`, `message content an array ${depth} deep`,
      `an object ${objectDepth} deep in a top-level field`, `prompt an array ${depth} deep`],
    hugePromptBody: JSON.stringify({ model, prompt: hugePrompt, max_tokens: 4 }),
    hugeChatBody: JSON.stringify({ model, messages: [{ role: 'user', content: hugePrompt }], max_tokens: 4 }),
    oversized: Buffer.alloc(maxBodyBytes + 1, 'x'),
  };
  return HOSTILE;
}
