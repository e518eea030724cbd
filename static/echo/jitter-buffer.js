/**
 * The playback buffer between bursty network arrivals and the steady audio clock.
 *
 * It holds back playback until `target` samples are buffered, plays while it has
 * audio, and on running dry (an underrun) plays silence and refills to `target`
 * before playing again. When a burst would pass `capacity`, the oldest audio is
 * dropped back to `target` (an overrun), so latency cannot creep up after a stall.
 */

import { RingBuffer } from "./ring-buffer.js";

export class JitterBuffer {
  /**
   * @param {number} target samples buffered before playing starts or resumes
   * @param {number} capacity the most samples held; at least `target`
   */
  constructor(target, capacity) {
    if (!(target > 0 && capacity >= target)) {
      throw new RangeError(`need 0 < target <= capacity, not ${target} and ${capacity}`);
    }
    this.target = target;
    this.ring = new RingBuffer(capacity);
    this.playing = false;
    this.draining = false; // playing out the end of the stream: running dry is no underrun
    this.underruns = 0; // times it ran dry while playing (not the first fill)
    this.overruns = 0; // times audio was dropped to make room
    this.droppedSamples = 0;
    this.playedSamples = 0; // samples of received audio handed to the output
  }

  /** Samples waiting to be played. */
  get buffered() {
    return this.ring.size;
  }

  /**
   * Queue received audio.
   * @param {Float32Array} samples
   * @param {number} [count] how many of its first samples
   */
  push(samples, count = samples.length) {
    const { ring } = this;
    let skip = 0;
    if (ring.size + count > ring.capacity) {
      // Keep only the newest `target` samples of what is buffered plus this burst.
      this.overruns++;
      skip = Math.max(0, count - this.target);
      const dropped = ring.discard(ring.size - Math.max(0, this.target - count));
      this.droppedSamples += dropped + skip;
    }
    ring.push(samples, skip, count - skip);
    if (!this.playing && (ring.size >= this.target || this.draining)) this.playing = true;
  }

  /**
   * Fill `output` with the next audio, or silence while (re)filling.
   * @param {Float32Array} output one render quantum
   * @returns {number} samples of received audio in it
   */
  pull(output) {
    if (!this.playing) {
      output.fill(0);
      return 0;
    }
    const n = this.ring.pull(output);
    if (n < output.length) {
      output.fill(0, n);
      if (!this.draining) this.underruns++;
      this.playing = false;
    }
    this.playedSamples += n;
    return n;
  }

  /** No more audio is coming: play out what is buffered, however little. */
  drain() {
    this.draining = true;
    this.playing = this.ring.size > 0;
  }

  /** Everything pushed has been played (or dropped). */
  get drained() {
    return this.draining && this.ring.size === 0;
  }

  /** Drop everything and wait for a new first fill. */
  reset() {
    this.ring.clear();
    this.playing = false;
    this.draining = false;
  }
}
