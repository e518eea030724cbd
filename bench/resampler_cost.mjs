/**
 * What the browser client's resampler costs per block, in Node (the same V8 that
 * runs the worklets in Chromium). Prints a Markdown table; median of 7 runs of 10 s
 * of audio each.
 *
 *   node bench/resampler_cost.mjs
 */

import { Resampler } from "../static/echo/resampler.js";

const SECONDS = 10;
const RUNS = 7;
// Capture takes render quanta of 128 samples; playback takes whole 1024-sample frames.
const CASES = [
  [44100, 16384, 128],
  [48000, 16384, 128],
  [16384, 44100, 1024],
  [16384, 48000, 1024],
];

console.log("| from → to (Hz) | block | phases × taps | design (ms) | per block (µs) | share of one core at real time |");
console.log("|---|---|---|---|---|---|");
for (const [inputRate, outputRate, block] of CASES) {
  const designStart = performance.now();
  const resampler = new Resampler(inputRate, outputRate);
  const designMs = performance.now() - designStart;
  const input = new Float32Array(inputRate * SECONDS).map((_, i) => Math.sin(i / 7));
  const output = new Float32Array(resampler.maxOutput(block));
  const blocks = [];
  for (let offset = 0; offset + block <= input.length; offset += block) {
    blocks.push(input.subarray(offset, offset + block));
  }
  const runs = [];
  for (let run = 0; run < RUNS; run++) {
    resampler.reset();
    const start = performance.now();
    for (const piece of blocks) resampler.process(piece, output);
    runs.push(performance.now() - start);
  }
  const median = runs.sort((a, b) => a - b)[RUNS >> 1];
  const perBlockUs = (1000 * median) / blocks.length;
  const share = median / (10 * SECONDS); // ms per 1000 ms of audio, as a percentage
  console.log(
    `| ${inputRate} → ${outputRate} | ${block} | ${resampler.phases} × ${resampler.taps} ` +
      `| ${designMs.toFixed(1)} | ${perBlockUs.toFixed(1)} | ${share.toFixed(2)} % |`,
  );
}
