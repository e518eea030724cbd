/**
 * Streaming rational-ratio resampling with a polyphase Kaiser-windowed sinc filter.
 *
 * Output sample n sits at input time n·M/L (L/M = outputRate/inputRate in lowest
 * terms) and is the dot product of the input around that time with one of L phases
 * of one low-pass filter. Its position is tracked in integers, so the output depends
 * only on the input samples, never on how they were split into blocks.
 */

import { ATTENUATION_DB, PASSBAND_FRACTION, STOPBAND_FRACTION } from "./constants.js";

/** Largest block `process` copies in one go; longer inputs are taken in pieces. */
const CHUNK = 1024;

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x) {
  const quarterSquare = (x * x) / 4;
  let sum = 1;
  let term = 1;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
  }
  return sum;
}

/**
 * The filter for one pair of rates: `taps` coefficients for each of `phases` phases,
 * phase-major, each phase normalised to unit DC gain.
 *
 * The low-pass is flat to PASSBAND_FRACTION and at least `attenuationDb` down from
 * STOPBAND_FRACTION of the lower rate: that removes everything that would alias
 * when going down, and every image when going up.
 *
 * @param {number} inputRate
 * @param {number} outputRate
 * @param {number} [attenuationDb] stopband attenuation, 50 to 150 dB
 * @returns {{phases: number, step: number, taps: number, coefficients: Float32Array}}
 */
export function designFilter(inputRate, outputRate, attenuationDb = ATTENUATION_DB) {
  if (!(attenuationDb >= 50 && attenuationDb <= 150)) {
    // Kaiser's formula for beta below holds from 50 dB; past 150 float32 taps cannot deliver.
    throw new RangeError(`attenuation must be 50 to 150 dB, not ${attenuationDb}`);
  }
  const divisor = gcd(inputRate, outputRate);
  const phases = outputRate / divisor; // L
  const step = inputRate / divisor; // M
  const lowerRate = Math.min(inputRate, outputRate);
  const passEdge = PASSBAND_FRACTION * lowerRate;
  const stopEdge = STOPBAND_FRACTION * lowerRate;
  const cutoff = (passEdge + stopEdge) / 2; // Hz, where the sinc crosses -6 dB
  // Kaiser's estimates: the window's shape for the attenuation, and its length in
  // seconds for the transition width (the same whatever rate it is sampled at).
  const beta = 0.1102 * (attenuationDb - 8.7);
  const seconds = (attenuationDb - 7.95) / (2.285 * 2 * Math.PI * (stopEdge - passEdge));
  const half = Math.ceil((seconds * inputRate) / 2); // input samples each side
  const taps = 2 * half;
  const coefficients = new Float32Array(phases * taps);
  const row = new Float64Array(taps);
  const i0Beta = besselI0(beta);
  const scale = (2 * cutoff) / inputRate;
  for (let phase = 0; phase < phases; phase++) {
    let sum = 0;
    for (let tap = 0; tap < taps; tap++) {
      // Distance from input sample (base - half + 1 + tap) to the output's time.
      const distance = phase / phases + half - 1 - tap; // input samples
      const x = distance / half;
      const window = Math.abs(x) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - x * x)) / i0Beta;
      const arg = scale * distance;
      const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
      row[tap] = scale * sinc * window;
      sum += row[tap];
    }
    for (let tap = 0; tap < taps; tap++) coefficients[phase * taps + tap] = row[tap] / sum;
  }
  return { phases, step, taps, coefficients };
}

export class Resampler {
  /**
   * @param {number} inputRate samples per second in (an integer)
   * @param {number} outputRate samples per second out (an integer)
   * @param {{attenuationDb?: number}} [options]
   */
  constructor(inputRate, outputRate, { attenuationDb } = {}) {
    if (!Number.isInteger(inputRate) || !Number.isInteger(outputRate)) {
      throw new RangeError(`rates must be whole Hz, not ${inputRate} and ${outputRate}`);
    }
    if (inputRate <= 0 || outputRate <= 0) {
      throw new RangeError(`rates must be positive, not ${inputRate} and ${outputRate}`);
    }
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    const filter = designFilter(inputRate, outputRate, attenuationDb);
    this.phases = filter.phases;
    this.step = filter.step;
    this.taps = filter.taps;
    this.coefficients = filter.coefficients;
    this.half = this.taps / 2;
    // The input that later outputs still need, with room for one chunk.
    this.history = new Float32Array(this.taps + CHUNK);
    this.reset();
  }

  /** Forget all input, as if newly made. */
  reset() {
    this.history.fill(0);
    // history[0] holds input sample `start`; samples before 0 are silence.
    this.start = 1 - this.half;
    this.length = this.half - 1;
    this.base = 0; // the next output sits at input time base + phase / phases
    this.phase = 0;
  }

  /** Seconds from an input sample to the output sample at the same time. */
  get delaySeconds() {
    return this.half / this.inputRate;
  }

  /**
   * The most samples `process` can write for `inputLength` input samples.
   * @param {number} inputLength
   */
  maxOutput(inputLength) {
    return Math.ceil((inputLength * this.phases) / this.step) + 1;
  }

  /**
   * Resample the next block of a stream. Allocates nothing (no views either).
   * @param {Float32Array} input the next samples, any number
   * @param {Float32Array} output room for at least `maxOutput(input.length)` samples
   * @returns {number} the samples written to the start of `output`
   */
  process(input, output) {
    let written = 0;
    for (let offset = 0; offset < input.length; offset += CHUNK) {
      const end = Math.min(offset + CHUNK, input.length);
      const { history, length } = this;
      for (let i = offset; i < end; i++) history[length + i - offset] = input[i];
      this.length += end - offset;
      written = this.drain(output, written);
    }
    return written;
  }

  /** Write every output the buffered input completes; keep what later ones need. */
  drain(output, written) {
    const { coefficients, history, taps, half, phases, step } = this;
    const available = this.start + this.length; // one past the newest input sample
    let { base, phase } = this;
    while (base + half < available) {
      const first = base - half + 1 - this.start;
      const row = phase * taps;
      let sum = 0;
      for (let tap = 0; tap < taps; tap++) sum += history[first + tap] * coefficients[row + tap];
      output[written++] = sum;
      phase += step;
      base += Math.floor(phase / phases);
      phase %= phases;
    }
    this.base = base;
    this.phase = phase;
    const keepFrom = base - half + 1 - this.start;
    if (keepFrom > 0) {
      history.copyWithin(0, keepFrom, this.length);
      this.start += keepFrom;
      this.length -= keepFrom;
    }
    return written;
  }
}
