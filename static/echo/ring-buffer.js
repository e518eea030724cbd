/**
 * A fixed-size FIFO of float samples. It never allocates after construction (not
 * even subarray views), so worklets can use it inside process().
 */

export class RingBuffer {
  /** @param {number} capacity the most samples it holds */
  constructor(capacity) {
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    }
    this.samples = new Float32Array(capacity);
    this.readIndex = 0;
    this.size = 0;
  }

  get capacity() {
    return this.samples.length;
  }

  get free() {
    return this.samples.length - this.size;
  }

  /**
   * Append samples, as many as fit.
   * @param {Float32Array} source
   * @param {number} [offset] where in `source` to start reading
   * @param {number} [count] how many samples (default: to the end of source)
   * @returns {number} samples appended: fewer than `count` only when it is full
   */
  push(source, offset = 0, count = source.length - offset) {
    const n = Math.max(0, Math.min(count, this.free, source.length - offset));
    const { samples } = this;
    const capacity = samples.length;
    let index = (this.readIndex + this.size) % capacity;
    for (let i = 0; i < n; i++) {
      samples[index] = source[offset + i];
      if (++index === capacity) index = 0;
    }
    this.size += n;
    return n;
  }

  /**
   * Move the oldest samples into `target`.
   * @param {Float32Array} target
   * @param {number} [offset] where in `target` to start writing
   * @param {number} [count] the most samples to move (default: to the end of target)
   * @returns {number} samples moved: fewer than `count` only when it ran empty
   */
  pull(target, offset = 0, count = target.length - offset) {
    const n = Math.max(0, Math.min(count, this.size, target.length - offset));
    const { samples } = this;
    const capacity = samples.length;
    let index = this.readIndex;
    for (let i = 0; i < n; i++) {
      target[offset + i] = samples[index];
      if (++index === capacity) index = 0;
    }
    this.readIndex = index;
    this.size -= n;
    return n;
  }

  /** Drop up to `count` of the oldest samples; returns how many were dropped. */
  discard(count) {
    const n = Math.max(0, Math.min(count, this.size));
    this.readIndex = (this.readIndex + n) % this.samples.length;
    this.size -= n;
    return n;
  }

  clear() {
    this.discard(this.size);
  }
}
