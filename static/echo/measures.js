/**
 * What the page measures about a session: round trips, throughput, audio levels and
 * the latency budget. Plain numbers in, plain numbers out: Node's tests import it.
 */

/** The level of silence, or of no audio yet, as the server's stats report it. */
export const LEVEL_FLOOR_DBFS = -120;

/**
 * The value at fraction `q` of sorted `values` (nearest rank).
 * @param {Float64Array} sorted
 * @param {number} q
 */
function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * Round trips of numbered requests (frames, pings): when each was sent, and the
 * percentiles of the latest `window` times from sending one to its reply.
 */
export class RoundTrips {
  /**
   * @param {number} window round trips the percentiles are taken over
   * @param {number} remembered requests whose send time is kept while in flight
   */
  constructor(window, remembered = window) {
    this.sendTimes = new Float64Array(remembered);
    this.times = new Float64Array(window);
    this.count = 0;
  }

  /** Request `index` left at `now` (milliseconds). */
  sent(index, now) {
    this.sendTimes[index % this.sendTimes.length] = now;
  }

  /** The reply to request `index` came at `now`; returns its round trip in ms. */
  received(index, now) {
    const rtt = now - this.sendTimes[index % this.sendTimes.length];
    this.times[this.count++ % this.times.length] = rtt;
    return rtt;
  }

  /** Median and 95th percentile in milliseconds; null before the first reply. */
  percentiles() {
    const n = Math.min(this.count, this.times.length);
    if (n === 0) return { p50: null, p95: null };
    const sorted = this.times.slice(0, n).sort();
    return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
  }

  reset() {
    this.count = 0;
  }
}

/** Bytes counted as they pass, read as kbit/s over windows of at least `windowMs`. */
export class Throughput {
  /** @param {number} windowMs */
  constructor(windowMs) {
    this.windowMs = windowMs;
    this.reset();
  }

  reset() {
    this.bytes = 0;
    this.windowBytes = 0;
    this.windowStart = null;
    this.kbps = null;
  }

  add(byteCount) {
    this.bytes += byteCount;
  }

  /** kbit/s over the last whole window before `now` (ms); null until one has passed. */
  read(now) {
    if (this.windowStart === null) {
      this.windowStart = now; // bytes counted before the first read are in no window
      this.windowBytes = this.bytes;
    } else if (now - this.windowStart >= this.windowMs) {
      // bytes per millisecond × 8 = kbit/s
      this.kbps = (8 * (this.bytes - this.windowBytes)) / (now - this.windowStart);
      this.windowBytes = this.bytes;
      this.windowStart = now;
    }
    return this.kbps;
  }
}

/**
 * A level in dBFS by the AES17 convention, as the server reports it: a full-scale
 * sine reads 0.0 for both peak and RMS; silence reads the floor.
 * @param {number} amplitude peak |x|, or √2 × RMS
 */
export function dbfs(amplitude) {
  if (!(amplitude > 0)) return LEVEL_FLOOR_DBFS;
  const hundredths = Math.round(2000 * Math.log10(amplitude)) || 0; // never -0
  return Math.max(LEVEL_FLOOR_DBFS, hundredths / 100);
}

/** Peak and RMS of the samples added since the last read. */
export class LevelMeter {
  constructor() {
    this.reset();
  }

  reset() {
    this.peak = 0;
    this.sumOfSquares = 0;
    this.samples = 0;
  }

  /** @param {Float32Array} samples */
  add(samples) {
    let { peak, sumOfSquares } = this;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i];
      const magnitude = Math.abs(x);
      if (magnitude > peak) peak = magnitude;
      sumOfSquares += x * x;
    }
    this.peak = peak;
    this.sumOfSquares = sumOfSquares;
    this.samples += samples.length;
  }

  /** `{peakDbfs, rmsDbfs}` of what was added since the last read, or null if nothing was. */
  read() {
    if (this.samples === 0) return null;
    const rms = Math.sqrt(this.sumOfSquares / this.samples);
    const level = { peakDbfs: dbfs(this.peak), rmsDbfs: dbfs(Math.SQRT2 * rms) };
    this.reset();
    return level;
  }
}

/**
 * Where the delay from microphone to ear goes, in milliseconds. A sample waits for
 * its frame to fill (capture framing), travels to the server and back (network, the
 * measured round trip of a frame), waits in the jitter buffer, then in the output
 * device. The total is null until every part has been measured.
 * @param {{frameSize: number, targetRate: number, rttMs: number|null,
 *          bufferedMs: number|null, outputLatencyMs: number|null}} measured
 */
export function latencyBudget({ frameSize, targetRate, rttMs, bufferedMs, outputLatencyMs }) {
  const parts = {
    captureMs: (1000 * frameSize) / targetRate, // 1024 samples at 16384 Hz = 62.5 ms
    networkMs: rttMs,
    jitterMs: bufferedMs,
    outputMs: outputLatencyMs,
  };
  const values = Object.values(parts);
  const totalMs = values.includes(null) ? null : values.reduce((sum, ms) => sum + ms, 0);
  return { ...parts, totalMs };
}
