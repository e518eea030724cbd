/** The page's measurements: round trips, kbit/s, levels in dBFS and the latency budget. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  LEVEL_FLOOR_DBFS,
  LevelMeter,
  RoundTrips,
  Throughput,
  dbfs,
  latencyBudget,
} from "../../static/echo/measures.js";

/** `n` samples of a sine at `amplitude`, `cycles` whole cycles long. */
function sine(n, amplitude, cycles = 8) {
  return Float32Array.from(
    { length: n },
    (_, i) => amplitude * Math.sin((2 * Math.PI * cycles * i) / n),
  );
}

describe("round trips", () => {
  test("no reply yet gives no percentiles", () => {
    assert.deepEqual(new RoundTrips(4).percentiles(), { p50: null, p95: null });
  });

  test("each reply is timed from its own request's send time", () => {
    const trips = new RoundTrips(8);
    trips.sent(0, 100);
    trips.sent(1, 150);
    assert.equal(trips.received(1, 190), 40);
    assert.equal(trips.received(0, 130), 30);
  });

  test("percentiles are nearest-rank over the latest window of replies", () => {
    const trips = new RoundTrips(20, 64);
    for (let i = 0; i < 40; i++) {
      trips.sent(i, 0);
      trips.received(i, i < 20 ? 1000 : i - 19); // the first 20 fall out of the window
    }
    assert.deepEqual(trips.percentiles(), { p50: 10, p95: 19 });
  });

  test("reset forgets every reply", () => {
    const trips = new RoundTrips(4);
    trips.sent(0, 0);
    trips.received(0, 5);
    trips.reset();
    assert.deepEqual(trips.percentiles(), { p50: null, p95: null });
  });
});

describe("throughput", () => {
  test("is unknown until a whole window has passed", () => {
    const meter = new Throughput(1000);
    assert.equal(meter.read(0), null);
    meter.add(4096);
    assert.equal(meter.read(999), null);
  });

  test("16 frames of 4096 bytes a second read 524.288 kbit/s", () => {
    const meter = new Throughput(1000);
    meter.read(0);
    for (let i = 0; i < 16; i++) meter.add(4096);
    assert.equal(meter.read(1000), 524.288);
  });

  test("bytes counted before the first read belong to no window", () => {
    const meter = new Throughput(1000);
    meter.add(10_000);
    meter.read(0);
    meter.add(1000);
    assert.equal(meter.read(1000), 8);
  });

  test("keeps the last whole window's figure between windows", () => {
    const meter = new Throughput(1000);
    meter.read(0);
    meter.add(1000);
    assert.equal(meter.read(1000), 8);
    meter.add(5000);
    assert.equal(meter.read(1500), 8);
    assert.equal(meter.read(2000), 40);
  });
});

describe("levels", () => {
  test("a full-scale sine reads 0 dBFS peak and RMS, as the server's stats do", () => {
    const meter = new LevelMeter();
    meter.add(sine(1024, 1));
    assert.deepEqual(meter.read(), { peakDbfs: 0, rmsDbfs: 0 });
  });

  test("a half-scale sine reads -6.02 dBFS", () => {
    const meter = new LevelMeter();
    meter.add(sine(1024, 0.5));
    assert.deepEqual(meter.read(), { peakDbfs: -6.02, rmsDbfs: -6.02 });
  });

  test("a square wave's RMS is 3.01 dB over its peak", () => {
    const meter = new LevelMeter();
    meter.add(Float32Array.from({ length: 512 }, (_, i) => (i % 2 ? 0.5 : -0.5)));
    assert.deepEqual(meter.read(), { peakDbfs: -6.02, rmsDbfs: -3.01 });
  });

  test("covers every frame added since the last read, then starts afresh", () => {
    const meter = new LevelMeter();
    meter.add(sine(1024, 0.1));
    meter.add(sine(1024, 1));
    assert.equal(meter.read().peakDbfs, 0);
    assert.equal(meter.read(), null);
    meter.add(sine(1024, 0.1));
    assert.equal(meter.read().peakDbfs, -20);
  });

  test("silence reads the floor", () => {
    const meter = new LevelMeter();
    meter.add(new Float32Array(1024));
    assert.deepEqual(meter.read(), { peakDbfs: LEVEL_FLOOR_DBFS, rmsDbfs: LEVEL_FLOOR_DBFS });
    assert.equal(dbfs(1e-9), LEVEL_FLOOR_DBFS);
  });
});

describe("latency budget", () => {
  test("adds framing, the measured round trip, the buffer and the output device", () => {
    const budget = latencyBudget({
      frameSize: 1024,
      targetRate: 16384,
      rttMs: 12.5,
      bufferedMs: 125,
      outputLatencyMs: 20,
    });
    assert.deepEqual(budget, {
      captureMs: 62.5,
      networkMs: 12.5,
      jitterMs: 125,
      outputMs: 20,
      totalMs: 220,
    });
  });

  test("has no total until every part is measured", () => {
    const budget = latencyBudget({
      frameSize: 512,
      targetRate: 16000,
      rttMs: null,
      bufferedMs: 0,
      outputLatencyMs: 0,
    });
    assert.equal(budget.captureMs, 32);
    assert.equal(budget.totalMs, null);
  });
});
