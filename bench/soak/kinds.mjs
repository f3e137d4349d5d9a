// The mix: name → { weight, valid (counts toward valid_complete), expect (acceptable outcomes),
// run }. Each `run(ctx)` returns { outcome, detail? }: `outcome` is a short label counted per
// kind and compared with the kind's `expect` list; `detail` goes into the samples of unexpected
// outcomes. The weights put about half the requests into valid generation and cancellations,
// which is where KV blocks are taken and given back, and spread the rest over the hostile cases.
import {
  apiContract, deepNesting, hugePrompt, malformedJson, numberOverflow, unknownModel, unknownRoute, unsupportedParam,
  wrongTypes,
} from './cases_hostile_api.mjs';
import {
  expectContinue, halfClose, headRequest, http10Stream, methodNotAllowed, oversizedBody, pipelined, slowloris, strayCrlf,
} from './cases_hostile_http.mjs';
import { cors } from './cases_cors.mjs';
import { abandonBody, cancelStream, clientTimeout, stalledReader, validPlain, validStream } from './cases_valid.mjs';

export const KINDS = {
  stream_chat: { weight: 16, valid: true, expect: ['complete'], run: (ctx) => validStream(ctx, 'chat') },
  stream_completion: { weight: 6, valid: true, expect: ['complete'], run: (ctx) => validStream(ctx, 'completion') },
  chat: { weight: 8, valid: true, expect: ['complete'], run: (ctx) => validPlain(ctx, 'chat') },
  completion: { weight: 6, valid: true, expect: ['complete'], run: (ctx) => validPlain(ctx, 'completion') },
  cancel_stream: { weight: 10, expect: ['cancelled', 'complete'], run: cancelStream },
  client_timeout: { weight: 5, expect: ['timed out', 'complete'], run: clientTimeout },
  abandon_body: { weight: 2, expect: ['abandoned'], run: abandonBody },
  stalled_reader: { weight: 1, expect: ['stalled', 'dropped by server'], run: stalledReader },
  malformed_json: { weight: 4, expect: ['status 400'], run: malformedJson },
  wrong_types: { weight: 4, expect: ['status 400'], run: wrongTypes },
  number_overflow: { weight: 3, expect: ['status 400'], run: numberOverflow },
  deep_nesting: { weight: 2, expect: ['status 400'], run: deepNesting },
  unsupported_param: { weight: 3, expect: ['status 400'], run: unsupportedParam },
  api_contract: { weight: 2, expect: ['status 400'], run: apiContract },
  oversized_body: { weight: 2, expect: ['status 413'], run: oversizedBody },
  huge_prompt: { weight: 1, expect: ['status 400'], run: hugePrompt },
  pipelined: { weight: 3, expect: ['ok'], run: pipelined },
  stray_crlf: { weight: 3, expect: ['ok'], run: strayCrlf },
  head: { weight: 2, expect: ['ok'], run: headRequest },
  method_not_allowed: { weight: 1, expect: ['ok'], run: methodNotAllowed },
  expect_continue: { weight: 2, expect: ['ok'], run: expectContinue },
  http10_stream: { weight: 2, expect: ['ok'], run: http10Stream },
  half_close: { weight: 2, expect: ['ok'], run: halfClose },
  cors: { weight: 2, expect: ['ok'], run: cors },
  slowloris: { weight: 1, expect: ['ok', 'abandoned'], run: slowloris },
  unknown_model: { weight: 2, expect: ['status 404'], run: unknownModel },
  unknown_route: { weight: 1, expect: ['status 404'], run: unknownRoute },
};

const list = (text) => (text ? text.split(',').map((s) => s.trim()).filter(Boolean) : null);

// The kinds --cases and --exclude leave, in the table's order.
export function selectedKinds(cases, exclude) {
  const only = list(cases);
  const without = new Set(list(exclude) ?? []);
  for (const name of [...(only ?? []), ...without]) {
    if (!KINDS[name]) throw new Error(`unknown case '${name}'; known: ${Object.keys(KINDS).join(', ')}`);
  }
  return Object.keys(KINDS).filter((name) => (!only || only.includes(name)) && !without.has(name));
}

export const isExpected = (kind, outcome) => KINDS[kind].expect.includes(outcome);
