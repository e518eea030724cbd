/**
 * The playback buffer between bursty network arrivals and the steady audio clock.
 *
 * It holds back playback until `target` samples are buffered, plays while it has
 * audio, and on running dry (an underrun) plays silence and refills to `target`
 * before playing again. When a burst would pass `capacity`, the oldest audio is
 * dropped back to `target` (an overrun), so latency cannot creep up after a stall.
 *
 * Audio arrives a frame at a time, so in steady state the level peaks at `target`
 * just after an arrival and falls to `target - frame` just before the next. A
 * burst (as when the audio device starts, or after a refill) can leave it a frame
 * higher for good: when its lowest point over `TRIM_WINDOW_FRAMES` frames stays
 * more than half a frame above `target - frame`, that standing excess is dropped
 * once, crossfaded over one render quantum (a trim).
 */

import { RingBuffer } from "./ring-buffer.js";

/** Frames of playback over which the lowest level is watched: 1 s at the defaults. */
export const TRIM_WINDOW_FRAMES = 16;
/** Samples per render quantum, the length of a trim's crossfade. */
const QUANTUM = 128;

export class JitterBuffer {
  /**
   * @param {number} target samples buffered before playing starts or resumes
   * @param {number} capacity the most samples held; at least `target`
   * @param {number} [frame] samples that arrive at a time (default: no trims)
   */
  constructor(target, capacity, frame = Infinity) {
    if (!(target > 0 && capacity >= target)) {
      throw new RangeError(`need 0 < target <= capacity, not ${target} and ${capacity}`);
    }
    if (!(frame > 0)) throw new RangeError(`frame must be positive, not ${frame}`);
    this.target = target;
    this.lowWater = target - frame; // the level just before an arrival, steady state
    this.excessLimit = frame / 2;
    this.trimWindow = TRIM_WINDOW_FRAMES * frame; // samples played between checks
    this.lowest = Infinity;
    this.sinceCheck = 0;
    this.trimBy = 0; // samples to drop at the next quantum that allows it
    this.crossfade = new Float32Array(QUANTUM);
    this.ring = new RingBuffer(capacity);
    this.playing = false;
    this.draining = false; // playing out the end of the stream: running dry is no underrun
    this.underruns = 0; // times it ran dry while playing (not the first fill)
    this.overruns = 0; // times audio was dropped to make room
    this.trims = 0; // times a standing excess was dropped
    this.droppedSamples = 0; // by overruns and trims
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
    if (this.trimBy > 0 && this.ring.size >= this.trimBy + output.length) {
      this.trim(output);
    } else {
      const n = this.ring.pull(output);
      if (n < output.length) {
        output.fill(0, n);
        if (!this.draining) this.underruns++;
        this.playing = false;
        this.lowest = Infinity;
        this.sinceCheck = 0;
      }
      this.playedSamples += n;
      if (!this.playing) return n;
    }
    this.watchLevel(output.length);
    return output.length;
  }

  /** Track the lowest level; after each window, schedule a trim of a standing excess. */
  watchLevel(played) {
    this.lowest = Math.min(this.lowest, this.ring.size);
    this.sinceCheck += played;
    if (this.sinceCheck < this.trimWindow) return;
    const excess = this.lowest - this.lowWater;
    if (excess > this.excessLimit && !this.draining) {
      this.trimBy = Math.max(QUANTUM, Math.round(excess));
    }
    this.lowest = Infinity;
    this.sinceCheck = 0;
  }

  /**
   * Drop `trimBy` samples inside one quantum: fade from the next audio to the audio
   * that follows the dropped stretch, then go on from there.
   */
  trim(output) {
    const n = output.length;
    const later = n <= QUANTUM ? this.crossfade : new Float32Array(n);
    this.ring.pull(output, 0, n);
    this.ring.discard(this.trimBy - n); // with the n faded out, trimBy in all
    this.ring.pull(later, 0, n);
    for (let i = 0; i < n; i++) {
      const w = (i + 1) / (n + 1);
      output[i] = (1 - w) * output[i] + w * later[i];
    }
    this.droppedSamples += this.trimBy;
    this.playedSamples += n;
    this.trims++;
    this.trimBy = 0;
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
