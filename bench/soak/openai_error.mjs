// What an error answer must be: the expected status and the OpenAI error body, naming the
// parameter at fault or carrying the code where the case says which. The outcome is
// `status N` when all holds, else a label saying what did not.
export function expectError(r, status, { param, code } = {}) {
  if (r.error) return { outcome: r.error === 'timeout' ? 'timeout' : 'connection error', detail: r.error };
  if (r.status !== status) return { outcome: `status ${r.status}`, detail: r.text.slice(0, 200) };
  const error = r.json?.error;
  if (!error || typeof error.message !== 'string') return { outcome: 'no error body', detail: r.text.slice(0, 200) };
  if (param && error.param !== param && !error.message.includes(param)) {
    return { outcome: `status ${status}, parameter not named`, detail: `${param}: ${r.text.slice(0, 200)}` };
  }
  if (code && error.code !== code) return { outcome: `code ${error.code}`, detail: r.text.slice(0, 200) };
  return { outcome: `status ${status}` };
}
