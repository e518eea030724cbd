// The page's own resampling, in Node: float32 samples on stdin at one rate,
// float32 samples on stdout at another, through static/echo/resampler.js.
//   node resample.mjs 16384 44100 < in.f32 > out.f32

import { Resampler } from "../../static/echo/resampler.js";

const [inputRate, outputRate] = process.argv.slice(2).map(Number);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bytes = Buffer.concat(chunks);
const input = new Float32Array(
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
);
const resampler = new Resampler(inputRate, outputRate);
const output = new Float32Array(resampler.maxOutput(input.length));
const written = resampler.process(input, output);
process.stdout.write(Buffer.from(output.buffer, 0, written * 4));
