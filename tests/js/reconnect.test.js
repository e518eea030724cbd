/** When the page reconnects a session by itself, and its backoff between tries. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { TransportClose } from "../../static/echo/messages.js";
import { CloseCode } from "../../static/echo/protocol.js";
import { BACKOFF, retryDelay, shouldReconnect } from "../../static/echo/reconnect.js";

const streaming = { streaming: true, stopped: false };

/** Every close code the page has a name for: the protocol's and the transport's. */
const EVERY_CLOSE = [...Object.values(CloseCode), ...Object.values(TransportClose)];

describe("which closes the page reconnects after", () => {
  const reconnecting = {
    "4502, the server shutting down": CloseCode.SHUTTING_DOWN,
    "1001, the server going away": TransportClose.GOING_AWAY,
    "1006, a connection dropped without a close frame": TransportClose.ABNORMAL,
    "1012, Uvicorn restarting": TransportClose.SERVICE_RESTART,
  };
  for (const [what, closeCode] of Object.entries(reconnecting)) {
    test(`${what}: reconnects`, () => {
      assert.equal(shouldReconnect({ closeCode, ...streaming }), true);
    });
  }

  const repeating = {
    "4001, an operator ended it": CloseCode.ENDED_BY_OPERATOR,
    "4400, settings the server refuses": CloseCode.BAD_REQUEST,
    "4413, frames too long": CloseCode.FRAME_TOO_LARGE,
    "4429, too many errors or messages": CloseCode.TOO_MANY,
  };
  for (const [what, closeCode] of Object.entries(repeating)) {
    test(`${what}: never, a new session would end the same way`, () => {
      assert.equal(shouldReconnect({ closeCode, ...streaming }), false);
    });
  }

  test("every other close keeps its error", () => {
    const others = EVERY_CLOSE.filter(
      (code) => !Object.values(reconnecting).includes(code),
    );
    assert.ok(others.includes(CloseCode.NORMAL) && others.includes(CloseCode.SERVER_FULL));
    for (const closeCode of others)
      assert.equal(shouldReconnect({ closeCode, ...streaming }), false, closeCode);
  });

  test("never after the user pressed Stop, whatever the close", () => {
    for (const closeCode of EVERY_CLOSE)
      assert.equal(shouldReconnect({ closeCode, streaming: true, stopped: true }), false);
  });

  test("never for a session that was still starting: its Start failed", () => {
    for (const closeCode of Object.values(reconnecting))
      assert.equal(shouldReconnect({ closeCode, streaming: false, stopped: false }), false);
  });
});

/** The waits of a whole reconnect that never succeeds, with `random` for jitter. */
function schedule(random) {
  const delays = [];
  let elapsed = 0;
  for (let delay; (delay = retryDelay(delays.length, elapsed, random)) !== null; ) {
    delays.push(delay);
    elapsed += delay;
  }
  return delays;
}

describe("the backoff between tries", () => {
  const longest = schedule(() => 0); // no jitter taken off
  const shortest = schedule(() => 1 - Number.EPSILON); // all of it taken off

  test("the first retry comes within a fraction of a second", () => {
    assert.equal(retryDelay(0, 0, () => 0), 250);
    assert.ok(retryDelay(0, 0, () => 0.999) >= 125);
  });

  test("each wait doubles up to a ceiling of 2 s", () => {
    assert.deepEqual(longest.slice(0, 6), [250, 500, 1000, 2000, 2000, 2000]);
  });

  test("jitter takes up to half of each wait off, never adds", () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const full = retryDelay(attempt, 0, () => 0);
      for (const r of [0.1, 0.5, 0.9, 0.999]) {
        const delay = retryDelay(attempt, 0, () => r);
        assert.ok(delay <= full && delay >= full / 2, `${attempt}: ${delay} of ${full}`);
      }
    }
  });

  test("two pages dropped together knock at different times", () => {
    assert.notEqual(retryDelay(2, 0, () => 0.2), retryDelay(2, 0, () => 0.7));
  });

  test("no try starts past the deadline, and the last one is near it", () => {
    for (const delays of [longest, shortest]) {
      const total = delays.reduce((sum, delay) => sum + delay, 0);
      assert.ok(total <= BACKOFF.deadlineMs, total);
      assert.ok(total > BACKOFF.deadlineMs - BACKOFF.maxMs, total);
    }
  });

  test("tries keep coming until the deadline: 17 without jitter, more with", () => {
    assert.equal(longest.length, 17); // 3.75 s for the first four, then one every 2 s
    assert.ok(shortest.length > longest.length, shortest.length);
  });

  test("past the deadline there is no wait but a verdict", () => {
    assert.equal(retryDelay(3, BACKOFF.deadlineMs, () => 0), null);
    assert.equal(retryDelay(0, BACKOFF.deadlineMs - 100, () => 0), null);
    assert.equal(retryDelay(0, BACKOFF.deadlineMs - 300, () => 0), 250);
  });
});
