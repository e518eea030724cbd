/** The ring buffer: a FIFO that never loses or reorders samples and says when full or empty. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { RingBuffer } from "../../static/echo/ring-buffer.js";
import { between, counting, prng } from "./signals.js";

describe("RingBuffer", () => {
  test("what comes out is what went in, in order, under random push and pull sizes across many wraparounds", () => {
    const capacity = 997; // not a power of two: the wrap lands on no convenient boundary
    const ring = new RingBuffer(capacity);
    const random = prng(7);
    const source = counting(capacity + 100);
    const target = new Float32Array(capacity + 100);
    let pushed = 0;
    let pulled = 0;
    while (pulled < 500 * capacity) {
      // Sizes up to a little past the capacity, so both the full and the empty edge are hit.
      const offset = between(random, 0, 50);
      const wanted = between(random, 0, capacity + 49);
      const free = ring.free;
      source.set(counting(wanted, pushed), offset);
      const taken = ring.push(source, offset, wanted);
      assert.equal(taken, Math.min(wanted, free));
      pushed += taken;

      const size = ring.size;
      const asked = between(random, 0, capacity + 49);
      const at = between(random, 0, 50);
      target.fill(-1);
      const given = ring.pull(target, at, asked);
      assert.equal(given, Math.min(asked, size));
      assert.deepEqual(target.subarray(at, at + given), counting(given, pulled));
      assert.ok(
        target.subarray(0, at).every((x) => x === -1),
        "wrote before the offset",
      );
      assert.ok(
        target.subarray(at + given).every((x) => x === -1),
        "wrote past the count",
      );
      pulled += given;
      assert.equal(ring.size, pushed - pulled);
      assert.equal(ring.free, capacity - ring.size);
    }
  });

  test("push takes only what fits and reports how many it took", () => {
    const ring = new RingBuffer(8);
    assert.equal(ring.push(counting(5)), 5);
    assert.equal(ring.push(counting(5, 5)), 3);
    assert.equal(ring.free, 0);
    assert.equal(ring.push(counting(1, 10)), 0);
    const target = new Float32Array(8);
    assert.equal(ring.pull(target), 8);
    assert.deepEqual(target, counting(8));
  });

  test("pull gives only what it holds, leaves the rest of the target alone, and gives nothing when empty", () => {
    const ring = new RingBuffer(8);
    ring.push(counting(3));
    const target = new Float32Array(5).fill(-1);
    assert.equal(ring.pull(target), 3);
    assert.deepEqual(target, new Float32Array([0, 1, 2, -1, -1]));
    assert.equal(ring.pull(target), 0);
    assert.equal(ring.size, 0);
  });

  test("push and pull default to the rest of the array from their offset", () => {
    const ring = new RingBuffer(8);
    assert.equal(ring.push(counting(6), 2), 4);
    const target = new Float32Array(6).fill(-1);
    assert.equal(ring.pull(target, 3), 3);
    assert.deepEqual(target, new Float32Array([-1, -1, -1, 2, 3, 4]));
    assert.equal(ring.size, 1);
  });

  test("discard drops the oldest samples, at most all of them, and the rest stay in order across the wrap", () => {
    const ring = new RingBuffer(8);
    ring.push(counting(6));
    const target = new Float32Array(8);
    ring.pull(target, 0, 5); // the next read is at index 5: the rest wraps
    ring.push(counting(6, 6));
    assert.equal(ring.discard(3), 3);
    assert.equal(ring.size, 4);
    assert.equal(ring.pull(target), 4);
    assert.deepEqual(target.subarray(0, 4), counting(4, 8));
    ring.push(counting(2));
    assert.equal(ring.discard(5), 2);
    assert.equal(ring.discard(-1), 0);
    assert.equal(ring.size, 0);
  });

  test("clear empties it and it goes on in order afterwards", () => {
    const ring = new RingBuffer(4);
    ring.push(counting(3));
    ring.clear();
    assert.equal(ring.size, 0);
    assert.equal(ring.free, 4);
    ring.push(counting(4, 10));
    const target = new Float32Array(4);
    ring.pull(target);
    assert.deepEqual(target, counting(4, 10));
  });

  test("negative counts and offsets past the end move nothing", () => {
    const ring = new RingBuffer(8);
    ring.push(counting(3));
    assert.equal(ring.push(counting(4), 0, -1), 0);
    assert.equal(ring.push(counting(4), 6), 0);
    const target = new Float32Array(4);
    assert.equal(ring.pull(target, 0, -2), 0);
    assert.equal(ring.pull(target, 6), 0);
    assert.equal(ring.size, 3);
    assert.equal(ring.pull(target), 3);
    assert.deepEqual(target.subarray(0, 3), counting(3));
  });

  for (const capacity of [0, -1, 1.5, Number.NaN]) {
    test(`refuses a capacity of ${capacity}`, () => {
      assert.throws(() => new RingBuffer(capacity), RangeError);
    });
  }
});
