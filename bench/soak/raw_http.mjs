// Raw HTTP on a socket, for what node:http will not send or parse leniently: pipelining, stray
// bytes, HEAD followed by another request, Expect: 100-continue, HTTP/1.0, half-close, trickling.
// The framing is the test harness's RawConnection; the soak adds what a load test needs: the
// connection dies with the run, writes can be awaited (backpressure for large bodies), and a
// response that does not come is an outcome to count, not an exception.
import net from 'node:net';

import { RawConnection } from '../../tests/node/harness.mjs';
import { parseJson } from './http_client.mjs';
import { stop, target, VALID_TIMEOUT_MS } from './run_state.mjs';

// The harness's error messages as short outcome labels (the message itself goes into `detail`).
function failureLabel(error) {
  const message = error?.message ?? String(error);
  if (/^timed out/.test(message)) return 'timeout';
  if (/without a response/.test(message)) return 'closed without a response';
  if (/in the middle of/.test(message)) return 'closed mid-response';
  // A final response where an interim one was awaited: its status.
  const final = message.match(/1xx response expected, got HTTP\/\d\.\d (\d{3})/);
  if (final) return `status ${final[1]}`;
  if (/not a status line|1xx response expected/.test(message)) return 'garbage instead of a status line';
  if (/chunk size/.test(message)) return 'bad chunk size line';
  return message.slice(0, 80);
}

export class SoakConnection extends RawConnection {
  constructor() {
    super(net.connect(target.port, target.host));
    this.onStop = () => this.destroy();
    stop.signal.addEventListener('abort', this.onStop);
  }

  get closed() { return this.ended; }
  // The socket's error, as a short code for a sample's detail.
  get errorCode() { return this.error ? (this.error.code ?? this.error.message) : null; }

  // Resolves once the data is handed to the kernel (or the socket is gone).
  write(data) {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(data, () => resolve());
    });
  }

  destroy() {
    stop.signal.removeEventListener('abort', this.onStop);
    super.destroy();
  }

  // Waits until anything arrives (or the connection closes), at most `ms`. True if it did.
  answered(ms) {
    if (this.buffer.length || this.ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.socket.off('data', done);
        this.socket.off('close', done);
        resolve(this.buffer.length > 0 || this.ended);
      };
      const timer = setTimeout(done, ms);
      this.socket.on('data', done);  // after the harness's own listener: the buffer has the bytes
      this.socket.on('close', done);
    });
  }

  // The next whole response (1xx ones skipped, their statuses in `interim`), or { failure,
  // detail } where failure says what came instead (timeout, closed, garbage).
  async response({ head = false, timeoutMs = VALID_TIMEOUT_MS } = {}) {
    try {
      return await super.response({ head, timeoutMs });
    } catch (error) {
      return { failure: failureLabel(error), detail: error.message.slice(0, 200) };
    }
  }

  // The status of the next interim (1xx) response, or { failure, detail }.
  async interimResponse({ timeoutMs = VALID_TIMEOUT_MS } = {}) {
    try {
      return await super.interimResponse({ timeoutMs });
    } catch (error) {
      return { failure: failureLabel(error), detail: error.message.slice(0, 200) };
    }
  }
}

export function rawRequest(method, path, { body = '', headers = {}, version = '1.1' } = {}) {
  const lines = [`${method} ${path} HTTP/${version}`, `Host: ${target.host}:${target.port}`];
  if (body.length || method === 'POST') {
    lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  }
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export const bodyJson = (response) => parseJson(response.body?.toString('utf8') ?? '');
export const bodyText = (response) => response.body?.toString('utf8').slice(0, 200) ?? '';
export const describe = (response) => (response.failure ?? `status ${response.status}`);
// What a sample records about a raw failure: the harness's message, else the socket's error.
export const failureDetail = (response, conn) => response.detail ?? conn.errorCode;
