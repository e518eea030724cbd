/**
 * The playback worklet: received frames at `targetRate` in (float32 ArrayBuffers
 * from the page), upsampled to the context rate into a jitter buffer, played out
 * one render quantum at a time. Posts its counters to the page a few times a second,
 * and once more when, after "drain", it has played out the last of the audio.
 */

import { REPORT_INTERVAL_MS } from "./constants.js";
import { JitterBuffer } from "./jitter-buffer.js";
import { Resampler } from "./resampler.js";

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor({ processorOptions: { targetRate, frameSize, depthFrames, headroomFrames } }) {
    super();
    this.resampler = new Resampler(targetRate, sampleRate);
    this.upsampled = new Float32Array(this.resampler.maxOutput(frameSize));
    this.frameSize = frameSize;
    const frameAtContextRate = (frameSize * sampleRate) / targetRate;
    const target = Math.round(depthFrames * frameAtContextRate);
    const capacity = Math.round((depthFrames + headroomFrames) * frameAtContextRate);
    this.jitter = new JitterBuffer(target, capacity, frameAtContextRate);
    this.reportEvery = Math.round((REPORT_INTERVAL_MS / 1000) * sampleRate);
    this.sinceReport = 0;
    this.report = {
      underruns: 0,
      overruns: 0,
      trims: 0,
      droppedSamples: 0,
      playedSamples: 0,
      buffered: 0,
      drained: false,
    };
    this.port.onmessage = ({ data }) => {
      if (data === "drain") this.jitter.drain();
      else this.receive(new Float32Array(data));
    };
  }

  /** One received frame; frames longer than `frameSize` are taken in pieces. */
  receive(samples) {
    for (let offset = 0; offset < samples.length; offset += this.frameSize) {
      const piece = samples.subarray(offset, offset + this.frameSize);
      const written = this.resampler.process(piece, this.upsampled);
      this.jitter.push(this.upsampled, written);
    }
  }

  process(inputs, outputs) {
    const output = outputs[0][0];
    const { jitter, report } = this;
    if (report.drained) return false; // played out: the node may be released
    jitter.pull(output);
    this.sinceReport += output.length;
    if (this.sinceReport >= this.reportEvery || jitter.drained) {
      this.sinceReport = 0;
      report.underruns = jitter.underruns;
      report.overruns = jitter.overruns;
      report.trims = jitter.trims;
      report.droppedSamples = jitter.droppedSamples;
      report.playedSamples = jitter.playedSamples;
      report.buffered = jitter.buffered;
      report.drained = jitter.drained;
      this.port.postMessage(report);
    }
    return true;
  }
}

registerProcessor("wsaudio-playback", PlaybackProcessor);
