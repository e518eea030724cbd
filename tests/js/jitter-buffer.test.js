/** The jitter buffer: holds back to its target, plays in order, counts underruns and overruns. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { JitterBuffer, TRIM_WINDOW_FRAMES } from "../../static/echo/jitter-buffer.js";
import { between, counting, prng } from "./signals.js";

const QUANTUM = 128; // samples per Web Audio render quantum
const TARGET = 256;
const CAPACITY = 512;
const SILENCE = new Float32Array(QUANTUM);

/** One render quantum from `jitter`, and how much of it was received audio. */
function play(jitter) {
  const output = new Float32Array(QUANTUM).fill(-1);
  const audio = jitter.pull(output);
  return { output, audio };
}

describe("JitterBuffer", () => {
  test("plays silence until the target is buffered, then the audio from its start", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(TARGET - 1));
    assert.deepEqual(play(jitter), { output: SILENCE, audio: 0 });
    assert.equal(jitter.buffered, TARGET - 1);
    jitter.push(counting(1, TARGET - 1));
    assert.deepEqual(play(jitter), { output: counting(QUANTUM), audio: QUANTUM });
    assert.deepEqual(play(jitter), { output: counting(QUANTUM, QUANTUM), audio: QUANTUM });
    assert.equal(jitter.underruns, 0);
  });

  test("plays every sample in order when arrivals keep ahead of playback", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    const random = prng(11);
    let received = 0;
    let played = 0;
    for (let quantum = 0; quantum < 2000; quantum++) {
      // Bursts of any size that keep the level between the target and the capacity.
      while (jitter.buffered < TARGET) {
        const burst = between(random, 1, CAPACITY - jitter.buffered);
        jitter.push(counting(burst, received));
        received += burst;
      }
      const { output, audio } = play(jitter);
      assert.equal(audio, QUANTUM);
      assert.deepEqual(output, counting(QUANTUM, played));
      played += QUANTUM;
    }
    assert.deepEqual(
      {
        underruns: jitter.underruns,
        overruns: jitter.overruns,
        playedSamples: jitter.playedSamples,
      },
      { underruns: 0, overruns: 0, playedSamples: played },
    );
  });

  test("waiting for the first fill is not an underrun", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    for (let i = 0; i < 10; i++) play(jitter);
    jitter.push(counting(QUANTUM));
    play(jitter);
    assert.equal(jitter.underruns, 0);
    assert.equal(jitter.playedSamples, 0);
  });

  test("running dry plays what is left then silence, counts one underrun, and refills to the target before playing on", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(TARGET + 100));
    play(jitter);
    play(jitter);
    const short = play(jitter); // 100 samples left for a quantum of 128
    assert.equal(short.audio, 100);
    assert.deepEqual(short.output.subarray(0, 100), counting(100, TARGET));
    assert.deepEqual(short.output.subarray(100), new Float32Array(QUANTUM - 100));
    assert.equal(jitter.underruns, 1);

    // Refilling: silence, and no further underruns, until the target is back.
    jitter.push(counting(TARGET - 1, 1000));
    assert.deepEqual(play(jitter), { output: SILENCE, audio: 0 });
    assert.deepEqual(play(jitter), { output: SILENCE, audio: 0 });
    assert.equal(jitter.underruns, 1);
    jitter.push(counting(1, 1000 + TARGET - 1));
    assert.deepEqual(play(jitter), { output: counting(QUANTUM, 1000), audio: QUANTUM });
    assert.equal(jitter.underruns, 1);
  });

  test("a quantum that empties it exactly is not an underrun, the next one is", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(TARGET));
    play(jitter);
    assert.equal(play(jitter).audio, QUANTUM);
    assert.equal(jitter.underruns, 0);
    assert.deepEqual(play(jitter), { output: SILENCE, audio: 0 });
    assert.equal(jitter.underruns, 1);
  });

  test("an arrival that would pass the capacity drops the oldest audio back to the target and counts one overrun", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(CAPACITY)); // exactly full: nothing dropped yet
    assert.equal(jitter.overruns, 0);
    jitter.push(counting(QUANTUM, CAPACITY));
    assert.deepEqual(
      {
        overruns: jitter.overruns,
        droppedSamples: jitter.droppedSamples,
        buffered: jitter.buffered,
      },
      { overruns: 1, droppedSamples: CAPACITY + QUANTUM - TARGET, buffered: TARGET },
    );
    // The newest audio survives: playback goes on from the newest TARGET samples.
    assert.deepEqual(play(jitter).output, counting(QUANTUM, CAPACITY + QUANTUM - TARGET));
    assert.deepEqual(play(jitter).output, counting(QUANTUM, CAPACITY));
  });

  test("a burst longer than the target leaves only its newest target samples", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(100));
    jitter.push(counting(CAPACITY + 300, 100));
    const total = 100 + CAPACITY + 300;
    assert.deepEqual(
      {
        overruns: jitter.overruns,
        droppedSamples: jitter.droppedSamples,
        buffered: jitter.buffered,
      },
      { overruns: 1, droppedSamples: total - TARGET, buffered: TARGET },
    );
    assert.deepEqual(play(jitter).output, counting(QUANTUM, total - TARGET));
  });

  test("push takes only the first `count` samples of its array", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(TARGET + 50), TARGET);
    assert.equal(jitter.buffered, TARGET);
  });

  test("playedSamples counts received audio only, never the silence", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    play(jitter); // waiting for the first fill
    jitter.push(counting(TARGET + 10));
    play(jitter);
    play(jitter);
    play(jitter); // 10 samples, then silence
    play(jitter); // refilling
    assert.equal(jitter.playedSamples, TARGET + 10);
  });

  test("reset drops everything and waits for a new first fill", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(CAPACITY));
    play(jitter);
    jitter.reset();
    assert.equal(jitter.buffered, 0);
    jitter.push(counting(QUANTUM, 5000));
    assert.deepEqual(play(jitter), { output: SILENCE, audio: 0 });
    assert.equal(jitter.underruns, 0);
    jitter.push(counting(TARGET - QUANTUM, 5000 + QUANTUM));
    assert.deepEqual(play(jitter).output, counting(QUANTUM, 5000));
  });

  test("drain plays out what is left below the target, and running dry then is no underrun", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(TARGET));
    play(jitter); // playing: TARGET - QUANTUM left
    jitter.drain();
    assert.deepEqual(play(jitter), { output: counting(QUANTUM, QUANTUM), audio: QUANTUM });
    assert.equal(jitter.drained, true);
    const last = play(jitter);
    assert.deepEqual(last, { output: SILENCE, audio: 0 });
    assert.equal(jitter.underruns, 0);
    assert.equal(jitter.playedSamples, TARGET);
  });

  test("drain with less than the target buffered, never played yet, plays it at once", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.push(counting(100));
    assert.equal(jitter.drained, false);
    jitter.drain();
    const expected = new Float32Array(QUANTUM);
    expected.set(counting(100));
    assert.deepEqual(play(jitter), { output: expected, audio: 100 });
    assert.equal(jitter.drained, true);
    assert.equal(jitter.underruns, 0);
  });

  test("audio that arrives while draining is played too, without waiting for the target", () => {
    const jitter = new JitterBuffer(TARGET, CAPACITY);
    jitter.drain();
    assert.equal(jitter.drained, true);
    jitter.push(counting(QUANTUM, 7));
    assert.equal(jitter.drained, false);
    assert.deepEqual(play(jitter), { output: counting(QUANTUM, 7), audio: QUANTUM });
    assert.equal(jitter.drained, true);
  });

  /** Arrivals of one frame every `frame` samples played, as replies come. */
  function stream(jitter, frame, frames, first) {
    const played = [];
    let next = first;
    for (let i = 0; i < frames; i++) {
      for (let q = 0; q < frame / QUANTUM; q++) played.push(...play(jitter).output);
      jitter.push(counting(frame, next));
      next += frame;
    }
    return { played, next };
  }

  test("a standing excess of a frame is trimmed once, crossfaded, and playback goes on from the newer audio", () => {
    const frame = 256;
    const jitter = new JitterBuffer(2 * frame, 8 * frame, frame);
    jitter.push(counting(3 * frame)); // a burst: one frame more than the target
    const { played } = stream(jitter, frame, 3 * TRIM_WINDOW_FRAMES, 3 * frame);
    assert.equal(jitter.trims, 1);
    assert.equal(jitter.droppedSamples, frame);
    assert.equal(jitter.underruns + jitter.overruns, 0);
    // The counting sequence skips `frame` values in one quantum, never backwards.
    const steps = played.slice(1).map((value, i) => value - played[i]);
    assert.ok(
      steps.every((step) => step > 0),
      "played audio never goes back",
    );
    const jumps = steps.filter((step) => step !== 1);
    // Into, through and out of the crossfaded quantum: 129 even steps of 1 + 256/129.
    assert.equal(jumps.length, QUANTUM + 1, "the skip is spread over one quantum");
    assert.ok(Math.max(...jumps) < 4, `no step of the crossfade is a click: ${Math.max(...jumps)}`);
    assert.equal(played.at(-1) - played[0] + 1, played.length + frame);
    // Afterwards the lowest level is target - frame: no second trim.
    assert.equal(jitter.buffered, 2 * frame);
  });

  test("a steady stream at the target is never trimmed", () => {
    const frame = 256;
    const jitter = new JitterBuffer(2 * frame, 8 * frame, frame);
    jitter.push(counting(2 * frame));
    const { played } = stream(jitter, frame, 5 * TRIM_WINDOW_FRAMES, 2 * frame);
    assert.equal(jitter.trims, 0);
    assert.deepEqual(played, Array.from(counting(played.length)));
  });

  test("without a frame size it never trims", () => {
    const jitter = new JitterBuffer(512, 4096);
    jitter.push(counting(1024));
    stream(jitter, 256, 5 * TRIM_WINDOW_FRAMES, 1024);
    assert.equal(jitter.trims, 0);
  });

  for (const [target, capacity] of [
    [0, 512],
    [-1, 512],
    [513, 512],
    [Number.NaN, 512],
  ]) {
    test(`refuses a target of ${target} with a capacity of ${capacity}`, () => {
      assert.throws(() => new JitterBuffer(target, capacity), RangeError);
    });
  }
});
