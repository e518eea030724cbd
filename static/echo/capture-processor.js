/**
 * The capture worklet: microphone samples at the context rate in, frames of exactly
 * `frameSize` samples at `targetRate` out to the page (as transferred ArrayBuffers
 * of float32 samples). The page hands each buffer back once it has been sent.
 */

import { Framer } from "./framing.js";
import { Resampler } from "./resampler.js";

/** Frames in flight to the page before another buffer must be allocated. */
const POOL_SIZE = 8;
/** The longest input block process() takes: a render quantum is 128 samples. */
const MAX_BLOCK = 4096;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor({ processorOptions: { targetRate, frameSize } }) {
    super();
    this.resampler = new Resampler(sampleRate, targetRate);
    this.scratch = new Float32Array(this.resampler.maxOutput(MAX_BLOCK));
    this.transfer = [null];
    this.pool = Array.from({ length: POOL_SIZE }, () => new Float32Array(frameSize));
    this.framer = new Framer(
      frameSize,
      () => this.pool.pop() ?? new Float32Array(frameSize),
      (frame) => {
        this.transfer[0] = frame.buffer; // one transfer list, reused: no garbage
        this.port.postMessage(frame.buffer, this.transfer);
      },
    );
    // From the first input on: the page connects the microphone once `ready` came.
    this.capturing = true;
    this.port.onmessage = ({ data }) => {
      if (data instanceof ArrayBuffer) this.pool.push(new Float32Array(data));
      else if (data === "stop") this.capturing = false;
    };
  }

  process(inputs) {
    const channel = inputs[0][0]; // mono: the node downmixes (channelCount 1)
    if (!this.capturing || channel === undefined) return true;
    const written = this.resampler.process(channel, this.scratch);
    this.framer.push(this.scratch, written);
    return true;
  }
}

registerProcessor("wsaudio-capture", CaptureProcessor);
