/**
 * When a session that was streaming opens a new one by itself, and how long it
 * waits between tries. Plain rules on plain numbers: Node's tests import them.
 */

import { TransportClose } from "./messages.js";
import { CloseCode } from "./protocol.js";

/**
 * Closes after which a new session is likely to work: the server is going away
 * (4502, after `shutting_down`; 1001 and 1012 from the server software) or the
 * connection dropped (1006: no close frame, as when a process dies). Any other
 * close would only repeat itself: 4001 (an operator ended it), 4400, 4413 and
 * 4429 (this page's request or behaviour), and the rest keep their error.
 */
export const RECONNECTING_CLOSES = Object.freeze(
  new Set([
    CloseCode.SHUTTING_DOWN,
    TransportClose.GOING_AWAY,
    TransportClose.ABNORMAL,
    TransportClose.SERVICE_RESTART,
  ]),
);

/** Retries wait about twice as long each time, up to a ceiling, until a deadline. */
export const BACKOFF = Object.freeze({
  /** The first retry: a fraction of a second, as a restarted server is quick to return. */
  firstMs: 250,
  factor: 2,
  maxMs: 2000,
  /** Each wait is drawn from [1 - jitter, 1] of its step, so that the pages a
   * restart dropped together do not all knock again at the same instant. */
  jitter: 0.5,
  /** From the old session's end: after that, the error is shown. */
  deadlineMs: 30000,
});

/**
 * Whether a session that ended with `closeCode` is reconnected by itself.
 * @param {object} how
 * @param {number} how.closeCode the WebSocket close code
 * @param {boolean} how.streaming the session had been running (not still starting)
 * @param {boolean} how.stopped the user pressed Stop
 */
export function shouldReconnect({ closeCode, streaming, stopped }) {
  return streaming && !stopped && RECONNECTING_CLOSES.has(closeCode);
}

/**
 * How long to wait before retry `attempt` (0 for the first), in ms; null if that
 * retry would start past the deadline, so the page gives up instead.
 * @param {number} attempt retries made so far
 * @param {number} elapsedMs since the old session ended
 * @param {() => number} [random] uniform in [0, 1), as Math.random
 * @param {typeof BACKOFF} [backoff]
 * @returns {number|null}
 */
export function retryDelay(attempt, elapsedMs, random = Math.random, backoff = BACKOFF) {
  const step = Math.min(backoff.maxMs, backoff.firstMs * backoff.factor ** attempt);
  const delay = step * (1 - backoff.jitter * random());
  return elapsedMs + delay > backoff.deadlineMs ? null : delay;
}
