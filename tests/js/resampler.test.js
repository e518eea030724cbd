/** The resampler: what it removes, what it keeps, and that blocking and latency change nothing. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  PASSBAND_FRACTION,
  STOPBAND_FRACTION,
  TARGET_DOWNSAMPLE_RATE,
} from "../../static/echo/constants.js";
import { Resampler } from "../../static/echo/resampler.js";
import {
  between,
  db,
  fitSine,
  noise,
  prng,
  resampleAll,
  rms,
  settled,
  sine,
  zeroCrossingHz,
} from "./signals.js";

const SESSION_RATE = TARGET_DOWNSAMPLE_RATE; // 16384 Hz
const PASS_EDGE = PASSBAND_FRACTION * SESSION_RATE; // 6553.6 Hz
const STOP_EDGE = STOPBAND_FRACTION * SESSION_RATE; // 8192 Hz, the session's Nyquist
/** The design asks for 70 dB; Kaiser's length formula is an estimate, so 10 dB spare. */
const REJECTION_DB = 60;
const FLATNESS_DB = 0.5;
const TONES = 40;
const TONE_SECONDS = 0.5; // 4096 cycles of a 8192 Hz alias: plenty for an RMS
const AMPLITUDE = 0.5;
const TONE_RMS = AMPLITUDE / Math.SQRT2;

/** The rates a browser's AudioContext runs at, going to the session rate and back. */
const DOWN = [44100, 48000].map((rate) => [rate, SESSION_RATE]);
const UP = [44100, 48000].map((rate) => [SESSION_RATE, rate]);

/** `count` tones spaced evenly in log frequency from `low` to `high`, both included. */
function logSpaced(low, high, count) {
  return Array.from({ length: count }, (_, i) => low * (high / low) ** (i / (count - 1)));
}

const passbandMeasurements = new Map();

/**
 * For tones across the passband: the gain in dB of the tone fitted at its frequency, and the
 * level of what is left once it is taken away, in dB below it. Measured once per pair of rates
 * (the flatness and the image tests read the same runs).
 */
function passbandGains(inputRate, outputRate) {
  const key = `${inputRate} → ${outputRate}`;
  if (!passbandMeasurements.has(key)) {
    passbandMeasurements.set(key, measurePassband(new Resampler(inputRate, outputRate)));
  }
  return passbandMeasurements.get(key);
}

function measurePassband(resampler) {
  return logSpaced(20, PASS_EDGE, TONES).map((hz) => {
    resampler.reset();
    const input = sine(resampler.inputRate, TONE_SECONDS, hz, AMPLITUDE);
    const output = settled(resampleAll(resampler, input), resampler);
    const fit = fitSine(output, resampler.outputRate, hz);
    return {
      hz,
      db: db(fit.amplitude / AMPLITUDE),
      residualDb: db(fit.residualRms / (fit.amplitude / Math.SQRT2)),
    };
  });
}

/** Bits of float samples, so that comparing them tells -0 from 0 and one NaN from another. */
function bitsOf(samples) {
  return new Uint32Array(samples.buffer, samples.byteOffset, samples.length);
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

describe("downsampling removes everything above the session's Nyquist", () => {
  for (const inputRate of [22050, 44100, 48000, 96000]) {
    test(`tones from ${STOP_EDGE} Hz up to ${inputRate / 2} Hz come out at least ${REJECTION_DB} dB down, ${inputRate} → ${SESSION_RATE} Hz`, (t) => {
      const resampler = new Resampler(inputRate, SESSION_RATE);
      const step = (inputRate / 2 - STOP_EDGE) / TONES;
      const levels = Array.from({ length: TONES }, (_, i) => {
        const hz = STOP_EDGE + i * step;
        resampler.reset();
        // Phase π/4: a tone at exactly 8192 Hz lands on every output sample at
        // ±amplitude/√2, so even there the output's RMS is the alias's level.
        const input = sine(inputRate, TONE_SECONDS, hz, AMPLITUDE, Math.PI / 4);
        const output = settled(resampleAll(resampler, input), resampler);
        return { hz, db: db(rms(output) / TONE_RMS) };
      });
      const worst = levels.reduce((a, b) => (b.db > a.db ? b : a));
      t.diagnostic(`worst: ${worst.db.toFixed(1)} dB at ${worst.hz.toFixed(1)} Hz`);
      assert.deepEqual(
        levels.filter((level) => level.db > -REJECTION_DB),
        [],
      );
    });
  }
});

describe("the passband is flat to 0.4 × 16384 Hz both ways", () => {
  for (const [inputRate, outputRate] of [...DOWN, ...UP]) {
    test(`tones from 20 Hz to ${PASS_EDGE} Hz keep their level within ${FLATNESS_DB} dB, ${inputRate} → ${outputRate} Hz`, (t) => {
      const gains = passbandGains(inputRate, outputRate);
      const lowest = Math.min(...gains.map((gain) => gain.db));
      const highest = Math.max(...gains.map((gain) => gain.db));
      t.diagnostic(`gain from ${lowest.toFixed(4)} to ${highest.toFixed(4)} dB`);
      assert.deepEqual(
        gains.filter((gain) => Math.abs(gain.db) > FLATNESS_DB),
        [],
      );
    });
  }

  for (const [inputRate, outputRate] of [...DOWN, ...UP]) {
    test(`a constant (0 Hz) comes out unchanged, ${inputRate} → ${outputRate} Hz`, () => {
      const resampler = new Resampler(inputRate, outputRate);
      const output = settled(resampleAll(resampler, new Float32Array(5000).fill(0.25)), resampler);
      const worst = output.reduce((most, x) => Math.max(most, Math.abs(x - 0.25)), 0);
      assert.ok(worst < 1e-6, `off by ${worst}`);
    });
  }
});

describe("upsampling leaves no images of the session's audio", () => {
  for (const [inputRate, outputRate] of UP) {
    test(`everything but the tone itself is at least ${REJECTION_DB} dB down, ${inputRate} → ${outputRate} Hz`, (t) => {
      // What the fitted tone leaves is its images at k·16384 ± f (and float32 noise).
      const gains = passbandGains(inputRate, outputRate);
      const worst = gains.reduce((a, b) => (b.residualDb > a.residualDb ? b : a));
      t.diagnostic(`worst: images ${worst.residualDb.toFixed(1)} dB at ${worst.hz.toFixed(1)} Hz`);
      assert.deepEqual(
        gains.filter((gain) => gain.residualDb > -REJECTION_DB),
        [],
      );
    });
  }
});

describe("a tone sent to the session rate and back", () => {
  for (const rate of [44100, 48000]) {
    /** A function sending a stream down and back up, each time from a fresh start. */
    const roundTrip = () => {
      const down = new Resampler(rate, SESSION_RATE);
      const up = new Resampler(SESSION_RATE, rate);
      // Both filters' onsets are over once the two delays have passed.
      const skip = Math.ceil((down.delaySeconds + up.delaySeconds) * rate) + 2;
      return (input) => {
        down.reset();
        up.reset();
        return { output: resampleAll(up, resampleAll(down, input)), skip };
      };
    };

    test(`keeps its frequency within 0.1 Hz and its level within 0.1 dB, ${rate} Hz`, (t) => {
      const round = roundTrip();
      for (const hz of [20, 440, 1000, 3000, 6000]) {
        const { output, skip } = round(sine(rate, 1, hz, AMPLITUDE));
        const tone = output.subarray(skip);
        const measuredHz = zeroCrossingHz(tone, rate);
        const levelDb = db(fitSine(tone, rate, hz).amplitude / AMPLITUDE);
        t.diagnostic(
          `${hz} Hz: ${(measuredHz - hz).toExponential(1)} Hz, ${levelDb.toFixed(4)} dB`,
        );
        assert.ok(Math.abs(measuredHz - hz) < 0.1, `${hz} Hz came back at ${measuredHz} Hz`);
        assert.ok(Math.abs(levelDb) < 0.1, `${hz} Hz came back ${levelDb} dB off`);
      }
    });

    test(`comes back on the very samples it left from, ${rate} Hz`, () => {
      // The output is timed on the input's clock: latency, but no shift in index.
      const round = roundTrip();
      for (const hz of [1000, 3000]) {
        const input = sine(rate, TONE_SECONDS, hz, AMPLITUDE);
        const { output, skip } = round(input);
        let worst = 0;
        for (let i = skip; i < output.length; i++) {
          worst = Math.max(worst, Math.abs(output[i] - input[i]));
        }
        assert.ok(
          db(worst / AMPLITUDE) < -REJECTION_DB,
          `${hz} Hz differs by ${db(worst / AMPLITUDE)} dB`,
        );
      }
    });
  }
});

describe("the output keeps the input's clock", () => {
  for (const [inputRate, outputRate] of [...DOWN, ...UP]) {
    test(`an impulse peaks at the output sample at its own time, ${inputRate} → ${outputRate} Hz`, () => {
      const step = inputRate / gcd(inputRate, outputRate); // input samples between shared instants
      const at = step * Math.ceil(1000 / step); // well past the filter's onset
      const input = new Float32Array(at + 1000);
      input[at] = 1;
      const output = resampleAll(new Resampler(inputRate, outputRate), input);
      const peak = output.reduce(
        (best, x, i) => (Math.abs(x) > Math.abs(output[best]) ? i : best),
        0,
      );
      assert.equal(peak, (at * outputRate) / inputRate);
    });

    test(`each output sample comes out once the input delaySeconds past its time is in, ${inputRate} → ${outputRate} Hz`, () => {
      const resampler = new Resampler(inputRate, outputRate);
      const one = new Float32Array(1);
      const out = new Float32Array(resampler.maxOutput(1));
      const lateness = []; // seconds from each output's time to the newest input
      for (let newest = 0; newest < 3000; newest++) {
        const count = resampler.process(one, out);
        for (let i = 0; i < count; i++) {
          const time = (lateness.length * inputRate) / outputRate; // in input samples
          lateness.push((newest - time) / inputRate);
        }
      }
      const { delaySeconds } = resampler;
      assert.ok(lateness.length > 0);
      // Not later than delaySeconds, and not a whole input sample sooner either.
      assert.deepEqual(
        lateness.filter(
          (late) => late > delaySeconds + 1e-12 || late <= delaySeconds - 1 / inputRate,
        ),
        [],
      );
    });
  }
});

describe("blocks", () => {
  for (const [inputRate, outputRate] of [...DOWN, ...UP]) {
    test(`the output is bit-identical however the input is split into blocks, ${inputRate} → ${outputRate} Hz`, () => {
      const input = noise(20000, 1);
      const resampler = new Resampler(inputRate, outputRate);
      const whole = bitsOf(resampleAll(resampler, input));
      // 128 samples is one Web Audio render quantum; 0 is an empty block.
      const random = prng(2);
      const splits = {
        "blocks of 1": [1],
        "blocks of 127": [127],
        "blocks of 128": [128],
        "blocks of 1000": [1000],
        "blocks of 1024 (frames, as playback gets them: no joins)": [1024],
        "blocks of 5000": [5000],
        "blocks of 0, 3, 128, 0, 4096": [0, 3, 128, 0, 4096],
        "seeded random blocks of 0 to 3000": () => between(random, 0, 3000),
      };
      for (const [name, sizes] of Object.entries(splits)) {
        resampler.reset();
        assert.deepEqual(bitsOf(resampleAll(resampler, input, sizes)), whole, name);
      }
    });
  }

  test("reset forgets all input: the same stream gives the same output as a new resampler", () => {
    const resampler = new Resampler(48000, SESSION_RATE);
    resampleAll(resampler, noise(5001, 3));
    resampler.reset();
    const stream = noise(10000, 4);
    assert.deepEqual(
      bitsOf(resampleAll(resampler, stream)),
      bitsOf(resampleAll(new Resampler(48000, SESSION_RATE), stream)),
    );
  });

  test("process never writes more than maxOutput for the block it was given", () => {
    const random = prng(5);
    const source = noise(4096, 6);
    const SENTINEL = 12345;
    for (const [inputRate, outputRate] of [
      ...DOWN,
      ...UP,
      [22050, SESSION_RATE],
      [SESSION_RATE, 96000],
    ]) {
      const resampler = new Resampler(inputRate, outputRate);
      const room = new Float32Array(resampler.maxOutput(source.length) + 16);
      for (let block = 0; block < 100; block++) {
        const input = source.subarray(0, between(random, 0, source.length));
        room.fill(SENTINEL);
        const count = resampler.process(input, room);
        const limit = resampler.maxOutput(input.length);
        assert.ok(count <= limit, `${count} samples from ${input.length}, more than ${limit}`);
        assert.ok(
          room.subarray(count).every((x) => x === SENTINEL),
          "wrote past the count it returned",
        );
      }
    }
  });
});

describe("the constructor", () => {
  const refused = [
    [44100.5, SESSION_RATE],
    [48000, 16384.25],
    [0, SESSION_RATE],
    [48000, 0],
    [-48000, SESSION_RATE],
    [48000, -SESSION_RATE],
    [Number.NaN, SESSION_RATE],
    [Number.POSITIVE_INFINITY, SESSION_RATE],
    ["48000", SESSION_RATE],
  ];
  const shown = (rate) => (typeof rate === "string" ? `"${rate}"` : String(rate));
  for (const [inputRate, outputRate] of refused) {
    test(`refuses the rates ${shown(inputRate)} → ${shown(outputRate)} Hz`, () => {
      assert.throws(() => new Resampler(inputRate, outputRate), RangeError);
    });
  }

  for (const attenuationDb of [5, 49, 151, Number.NaN]) {
    test(`refuses a design attenuation of ${attenuationDb} dB`, () => {
      assert.throws(() => new Resampler(48000, SESSION_RATE, { attenuationDb }), RangeError);
    });
  }
});
