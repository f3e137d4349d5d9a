// What every part of the soak shares: the server it talks to, the clock of the run, and the
// signal that stops it. Every socket opened by the soak listens to `stop`, so nothing outlives
// the run: it is aborted at the end, or at once when the server dies.
import { setMaxListeners } from 'node:events';

export const stop = new AbortController();
setMaxListeners(0, stop.signal);  // every open request listens to it
export const endSoon = () => stop.abort();

// Set once by main.mjs before any client starts: { host, port, url, modelId, pid,
// allowedOrigin }. `pid` is null when the soak was not told the server's process (no RSS,
// liveness from sockets only); `allowedOrigin` is the origin the server was started to allow
// (--allowed-origins), for the CORS case.
export const target = { host: null, port: null, url: null, modelId: null, pid: null, allowedOrigin: null };

const startedAt = performance.now();
export const elapsedS = () => (performance.now() - startedAt) / 1000;

// A valid request may wait behind 63 others on a CPU server: generous, but bounded.
export const VALID_TIMEOUT_MS = 120000;
// A request the server should refuse at once (4xx) gets far less.
export const ERROR_TIMEOUT_MS = 30000;
// How long the server may take to start answering a pipelined / Expect request before we say so.
export const INTERIM_WAIT_MS = 1500;
