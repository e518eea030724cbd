/** Cuts a stream of samples into frames of exactly one size, in order, copying once. */

export class Framer {
  /**
   * @param {number} frameSize samples per frame
   * @param {() => Float32Array} nextBuffer gives an empty buffer of `frameSize` samples
   * @param {(frame: Float32Array) => void} emit takes each full frame (and keeps it)
   */
  constructor(frameSize, nextBuffer, emit) {
    this.frameSize = frameSize;
    this.nextBuffer = nextBuffer;
    this.emit = emit;
    this.frame = nextBuffer();
    this.filled = 0;
  }

  /**
   * @param {Float32Array} samples
   * @param {number} [count] how many of its first samples
   */
  push(samples, count = samples.length) {
    let taken = 0;
    while (taken < count) {
      const n = Math.min(count - taken, this.frameSize - this.filled);
      const { frame, filled } = this;
      for (let i = 0; i < n; i++) frame[filled + i] = samples[taken + i];
      this.filled += n;
      taken += n;
      if (this.filled === this.frameSize) {
        const full = this.frame;
        this.frame = this.nextBuffer();
        this.filled = 0;
        this.emit(full);
      }
    }
  }
}
