/** Signal helpers shared by the tests in tests/js/: tones, noise, a seeded PRNG, levels. */

/**
 * A seeded PRNG (mulberry32), so a "random" test fails the same way every run.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A whole number in [low, high], from `random`.
 * @param {() => number} random
 * @param {number} low
 * @param {number} high
 */
export function between(random, low, high) {
  return low + Math.floor(random() * (high - low + 1));
}

/**
 * A float32 sine at `hz`, `seconds` long at `rate`.
 * @param {number} rate samples per second
 * @param {number} seconds
 * @param {number} hz
 * @param {number} [amplitude] peak, full scale is 1
 * @param {number} [phase] radians at sample 0
 */
export function sine(rate, seconds, hz, amplitude = 0.5, phase = 0) {
  const samples = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < samples.length; i++) {
    samples[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate + phase);
  }
  return samples;
}

/**
 * `n` float32 samples of white noise, uniform in [-1, 1).
 * @param {number} n
 * @param {number} seed
 */
export function noise(n, seed) {
  const random = prng(seed);
  return Float32Array.from({ length: n }, () => 2 * random() - 1);
}

/** `n` float32 samples counting up from `first` (exact as float32 up to 2**24). */
export function counting(n, first = 0) {
  return Float32Array.from({ length: n }, (_, i) => first + i);
}

/**
 * Decibels of an amplitude ratio.
 * @param {number} ratio
 */
export function db(ratio) {
  return 20 * Math.log10(ratio);
}

/**
 * Root mean square of `samples`.
 * @param {Float32Array} samples
 */
export function rms(samples) {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / samples.length);
}

/**
 * The sine at `hz` that best fits `samples` (least squares in sine and cosine), and
 * what is left when it is taken away: images, aliases and noise.
 * @param {Float32Array} samples
 * @param {number} rate samples per second
 * @param {number} hz
 * @returns {{amplitude: number, residualRms: number}}
 */
export function fitSine(samples, rate, hz) {
  let ss = 0;
  let sc = 0;
  let cc = 0;
  let sx = 0;
  let cx = 0;
  for (let i = 0; i < samples.length; i++) {
    const angle = (2 * Math.PI * hz * i) / rate;
    const s = Math.sin(angle);
    const c = Math.cos(angle);
    ss += s * s;
    sc += s * c;
    cc += c * c;
    sx += s * samples[i];
    cx += c * samples[i];
  }
  const determinant = ss * cc - sc * sc;
  const a = (sx * cc - cx * sc) / determinant;
  const b = (cx * ss - sx * sc) / determinant;
  let residual = 0;
  for (let i = 0; i < samples.length; i++) {
    const angle = (2 * Math.PI * hz * i) / rate;
    const error = samples[i] - a * Math.sin(angle) - b * Math.cos(angle);
    residual += error * error;
  }
  return { amplitude: Math.hypot(a, b), residualRms: Math.sqrt(residual / samples.length) };
}

/**
 * Frequency of a tone from its rising zero crossings, each placed by linear
 * interpolation between the samples either side.
 * @param {Float32Array} samples
 * @param {number} rate samples per second
 */
export function zeroCrossingHz(samples, rate) {
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1] < 0 && samples[i] >= 0) {
      const at = i - 1 + samples[i - 1] / (samples[i - 1] - samples[i]);
      if (first < 0) first = at;
      last = at;
      crossings++;
    }
  }
  return ((crossings - 1) * rate) / (last - first);
}

/**
 * Everything `resampler` makes of `input`, fed in blocks of the given sizes (cycled;
 * default: the whole input at once).
 * @param {import("../../static/echo/resampler.js").Resampler} resampler
 * @param {Float32Array} input
 * @param {number[] | (() => number)} [blockSizes] sizes, or a function giving the next
 */
export function resampleAll(resampler, input, blockSizes = [input.length]) {
  const nextSize = typeof blockSizes === "function" ? blockSizes : cycle(blockSizes);
  const output = new Float32Array(resampler.maxOutput(input.length) + 1);
  let block = new Float32Array(0);
  let scratch = new Float32Array(0);
  let written = 0;
  for (let offset = 0; offset < input.length;) {
    const size = Math.min(nextSize(), input.length - offset);
    if (block.length !== size) {
      block = new Float32Array(size);
      scratch = new Float32Array(resampler.maxOutput(size));
    }
    block.set(input.subarray(offset, offset + size));
    const count = resampler.process(block, scratch);
    output.set(scratch.subarray(0, count), written);
    written += count;
    offset += size;
  }
  return output.slice(0, written);
}

function cycle(sizes) {
  let index = 0;
  return () => sizes[index++ % sizes.length];
}

/**
 * The output after the filter has settled: from the first sample whose taps all fall
 * on input, so the tone's onset at sample 0 leaves no transient in it.
 * @param {Float32Array} output
 * @param {{delaySeconds: number, outputRate: number}} resampler
 */
export function settled(output, resampler) {
  return output.subarray(Math.ceil(resampler.delaySeconds * resampler.outputRate) + 1);
}
