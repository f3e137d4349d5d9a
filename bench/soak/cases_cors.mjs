// Issue 16 item 7: CORS. The server runs with --allowed-origins naming target.allowedOrigin
// (run_soak.sh starts it so, and passes the same origin as --allowed-origin). A preflight
// (OPTIONS) from that origin is answered 204 with the Access-Control-* headers; one from any
// other origin 403 without them. Ordinary answers carry Access-Control-Allow-Origin for the
// allowed origin only.
import { ENDPOINT_PATH } from './bodies.mjs';
import { httpCall } from './http_client.mjs';
import { target } from './run_state.mjs';

const OTHER_ORIGIN = 'https://evil.example';

function preflightProblem(r, origin) {
  if (r.status !== 204) return `status ${r.status}`;
  if (r.headers['access-control-allow-origin'] !== origin) return 'wrong Access-Control-Allow-Origin';
  if (!/POST/.test(r.headers['access-control-allow-methods'] ?? '')) return 'POST not in Access-Control-Allow-Methods';
  if (!/content-type/i.test(r.headers['access-control-allow-headers'] ?? '')) return 'content-type not in Access-Control-Allow-Headers';
  if (!/Origin/.test(r.headers.vary ?? '')) return 'no Vary: Origin';
  return r.text === '' ? null : 'a body';
}

export async function cors(ctx) {
  const [what, method, path] = ctx.rand.pick([
    ['preflight, allowed origin', 'OPTIONS', ENDPOINT_PATH.chat],
    ['preflight, other origin', 'OPTIONS', ENDPOINT_PATH.completion],
    ['GET /v1/models, allowed origin', 'GET', '/v1/models'],
    ['GET /v1/models, other origin', 'GET', '/v1/models'],
  ]);
  ctx.what = what;
  const allowed = what.endsWith('allowed origin');
  const origin = allowed ? target.allowedOrigin : OTHER_ORIGIN;
  const headers = { origin };
  if (method === 'OPTIONS') {
    Object.assign(headers, { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' });
  }
  const r = await httpCall(ctx, method, path, { headers });
  if (r.error) return { outcome: r.error === 'timeout' ? 'timeout' : 'connection error', detail: r.error };
  const detail = JSON.stringify({ status: r.status, headers: r.headers }).slice(0, 400);
  const acao = r.headers['access-control-allow-origin'];
  let problem = null;
  if (method === 'OPTIONS' && allowed) problem = preflightProblem(r, origin);
  else if (method === 'OPTIONS') problem = r.status !== 403 ? `status ${r.status}` : acao !== undefined ? 'Access-Control-Allow-Origin to another origin' : null;
  else if (r.status !== 200) problem = `status ${r.status}`;
  else if (allowed) problem = acao !== origin ? 'wrong Access-Control-Allow-Origin' : null;
  else problem = acao !== undefined ? 'Access-Control-Allow-Origin to another origin' : null;
  return problem ? { outcome: problem, detail } : { outcome: 'ok' };
}
