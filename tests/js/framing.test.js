/** The framer: a stream cut into frames of exactly one size, in order, nothing lost or repeated. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { EXPECTED_BUFFER_SIZE } from "../../static/echo/constants.js";
import { Framer } from "../../static/echo/framing.js";
import { between, counting, prng } from "./signals.js";

/** A framer of `frameSize` that collects its frames, each in a buffer of its own. */
function collecting(frameSize) {
  const frames = [];
  const framer = new Framer(
    frameSize,
    () => new Float32Array(frameSize),
    (frame) => frames.push(frame),
  );
  return { framer, frames };
}

describe("Framer", () => {
  test("frames of exactly frameSize cover the stream in order, whatever sizes it is pushed in", () => {
    const { framer, frames } = collecting(EXPECTED_BUFFER_SIZE);
    const random = prng(13);
    let pushed = 0;
    while (pushed < 300 * EXPECTED_BUFFER_SIZE) {
      // Up to three frames at once; 0 and 1 included.
      const block = counting(between(random, 0, 3 * EXPECTED_BUFFER_SIZE), pushed);
      framer.push(block);
      pushed += block.length;
    }
    assert.equal(frames.length, Math.floor(pushed / EXPECTED_BUFFER_SIZE));
    frames.forEach((frame, i) => {
      assert.equal(frame.length, EXPECTED_BUFFER_SIZE);
      assert.deepEqual(
        frame,
        counting(EXPECTED_BUFFER_SIZE, i * EXPECTED_BUFFER_SIZE),
        `frame ${i}`,
      );
    });
  });

  test("a partial frame is kept until it is complete", () => {
    const { framer, frames } = collecting(4);
    framer.push(counting(3));
    assert.equal(frames.length, 0);
    framer.push(counting(2, 3));
    assert.deepEqual(frames, [counting(4)]);
    framer.push(counting(2, 5));
    assert.deepEqual(frames, [counting(4)]);
    framer.push(counting(1, 7));
    assert.deepEqual(frames, [counting(4), counting(4, 4)]);
  });

  test("one push of several frames emits them all and keeps the remainder", () => {
    const { framer, frames } = collecting(4);
    framer.push(counting(10));
    assert.deepEqual(frames, [counting(4), counting(4, 4)]);
    framer.push(counting(2, 10));
    assert.deepEqual(frames, [counting(4), counting(4, 4), counting(4, 8)]);
  });

  test("push takes only the first `count` samples of its array", () => {
    const { framer, frames } = collecting(4);
    framer.push(counting(8), 3);
    framer.push(counting(8, 3), 1);
    assert.deepEqual(frames, [counting(4)]);
  });

  test("each frame goes out in the buffer nextBuffer gave, which the framer then lets go of", () => {
    const given = [];
    const emitted = [];
    const framer = new Framer(
      2,
      () => {
        const buffer = new Float32Array(2);
        given.push(buffer);
        return buffer;
      },
      (frame) => emitted.push(frame),
    );
    framer.push(counting(5));
    // One buffer per frame emitted, and one holding the partial frame.
    assert.equal(given.length, 3);
    assert.equal(emitted[0], given[0]);
    assert.equal(emitted[1], given[1]);
    // The emitted frames are not written to again.
    framer.push(counting(5, 5));
    assert.deepEqual(emitted.slice(0, 2), [counting(2), counting(2, 2)]);
  });
});
