// What an error answer must be: the expected status and the OpenAI error body, and where the
// case says so, the parameter at fault, the code, and what the message must name. The outcome
// is `status N` when all holds, else a label saying what did not.
//   param       the parameter at fault: in `param` or in the message (looser, for the
//               type checks, whose path the server may spell as messages[0].content);
//   exactParam  with param: `error.param` is exactly it, and the message names it too (what
//               the merged API layer does for refused parameters and token limits);
//   code        `error.code`;
//   mentions    a RegExp the message must match (e.g. /the request body/).
export function expectError(r, status, { param, exactParam = false, code, mentions } = {}) {
  if (r.error) return { outcome: r.error === 'timeout' ? 'timeout' : 'connection error', detail: r.error };
  if (r.status !== status) return { outcome: `status ${r.status}`, detail: r.text.slice(0, 200) };
  const error = r.json?.error;
  if (!error || typeof error.message !== 'string') return { outcome: 'no error body', detail: r.text.slice(0, 200) };
  const detail = `${param ?? mentions ?? code}: ${r.text.slice(0, 200)}`;
  if (param && exactParam && error.param !== param) return { outcome: `status ${status}, wrong param field`, detail };
  if (param && error.param !== param && !error.message.includes(param)) {
    return { outcome: `status ${status}, parameter not named`, detail };
  }
  if (param && exactParam && !error.message.includes(param)) return { outcome: `status ${status}, message does not name the parameter`, detail };
  if (code && error.code !== code) return { outcome: `code ${error.code}`, detail: r.text.slice(0, 200) };
  if (mentions && !mentions.test(error.message)) return { outcome: `status ${status}, message lacks ${mentions.source}`, detail };
  return { outcome: `status ${status}` };
}
