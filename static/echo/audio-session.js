/**
 * One echo session in the browser: microphone → capture worklet → WebSocket →
 * playback worklet → speakers, with its state published in one plain object.
 */

import {
  DEFAULT_FORMAT,
  DEFAULT_JITTER_FRAMES,
  DEFAULT_PROCESSOR,
  EXPECTED_BUFFER_SIZE,
  JITTER_HEADROOM_FRAMES,
  REPORT_INTERVAL_MS,
  TARGET_DOWNSAMPLE_RATE,
} from "./constants.js";
import { CloseCode, decodeFrame, encodeFrame, parseMessage, sessionUrl } from "./protocol.js";

/** Frames whose send time is remembered to measure their round trip. */
const SEND_TIMES = 1024;
/** Round trips the percentiles are taken over: the last 16 s at the defaults. */
const RTT_WINDOW = 256;
/** How long Stop waits for replies still on their way. */
const REPLY_WAIT_MS = 1000;
/** How long Stop waits for playback beyond the audio it had buffered. */
const PLAY_OUT_MARGIN_MS = 500;

/** Microphone processing is off by default: it would change what the server hears. */
export const DEFAULT_CONSTRAINTS = Object.freeze({
  echoCancellation: false,
  noiseSuppression: false,
  autoGainControl: false,
});

/** Resolves once `done()` holds, or after `timeoutMs`. */
function until(done, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () =>
      done() || performance.now() > deadline ? resolve() : setTimeout(check, 10);
    check();
  });
}

const stopTracks = (stream) => stream.getTracks().forEach((track) => track.stop());

/**
 * The value at fraction `q` of sorted `values` (nearest rank).
 * @param {Float64Array} sorted
 * @param {number} q
 */
function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** The part of `window.wsaudio` that each Start begins afresh. */
function sessionCounters() {
  return {
    session: null,
    framesSent: 0,
    framesReceived: 0,
    rttMs: { p50: null, p95: null },
    bufferedMs: 0,
    underruns: 0,
    overruns: 0,
    trims: 0,
    samplesPlayed: 0,
    samplesDropped: 0,
    lastError: null,
    closeCode: null,
  };
}

export class AudioSession {
  /**
   * @param {object} [options]
   * @param {string} [options.server] the site's URL (default: this page's)
   * @param {number} [options.targetRate] samples per second on the wire
   * @param {number} [options.frameSize] samples per frame
   * @param {string} [options.format] "f32" or "s16"
   * @param {string} [options.processor] the server-side processor
   * @param {number} [options.depthFrames] jitter-buffer target, in frames
   * @param {MediaTrackConstraints} [options.constraints] microphone processing switches
   */
  constructor({
    server = globalThis.location?.href,
    targetRate = TARGET_DOWNSAMPLE_RATE,
    frameSize = EXPECTED_BUFFER_SIZE,
    format = DEFAULT_FORMAT,
    processor = DEFAULT_PROCESSOR,
    depthFrames = DEFAULT_JITTER_FRAMES,
    constraints = DEFAULT_CONSTRAINTS,
  } = {}) {
    this.options = { server, targetRate, frameSize, format, processor, depthFrames, constraints };
    /** What the session is doing, for the page, tests and the console (`window.wsaudio`). */
    this.status = {
      state: "idle",
      targetRate,
      frameSize,
      format,
      processor,
      depthFrames,
      contextRate: null,
      ...sessionCounters(),
    };
    this.sendTimes = new Float64Array(SEND_TIMES);
    this.rtts = new Float64Array(RTT_WINDOW);
    this.rttCount = 0;
  }

  /** Connect, open the microphone and stream until `stop()` or an error. */
  async start() {
    if (this.status.state === "connecting" || this.status.state === "running") return;
    this.resetCounters();
    this.status.state = "connecting";
    this.stopping = false;
    const { targetRate, frameSize, format, processor, constraints } = this.options;
    // Made before any await, so that it counts as started by the user's click.
    const context = new AudioContext({ latencyHint: "interactive" });
    this.context = context;
    this.status.contextRate = context.sampleRate;
    const socket = new WebSocket(
      sessionUrl(this.options.server, targetRate, { format, processor }),
    );
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    const ready = this.listen(socket);
    const microphone = navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, ...constraints },
    });
    try {
      const [stream] = await Promise.all([
        microphone,
        context.audioWorklet.addModule(new URL("./capture-processor.js", import.meta.url)),
        context.audioWorklet.addModule(new URL("./playback-processor.js", import.meta.url)),
        ready,
      ]);
      if (this.stopping) throw new Error("stopped while connecting");
      this.stream = stream;
      this.connectGraph(context, stream);
      await context.resume();
    } catch (error) {
      microphone.then(stopTracks, () => {}); // if it opens after all, close it again
      if (!this.stopping) this.fail(error);
      return;
    }
    this.status.state = "running";
    this.reporter = setInterval(() => this.updateRtt(), REPORT_INTERVAL_MS);
  }

  /**
   * End the session: capture stops, the replies still on their way arrive and are
   * played out, then the socket closes with 1000 and the state becomes "stopped".
   */
  async stop() {
    if (!this.socket || this.stopping) return;
    this.stopping = true;
    if (this.status.state === "running") {
      this.capture.port.postMessage("stop");
      await this.playOut();
    }
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(CloseCode.NORMAL);
  }

  async playOut() {
    const open = () => this.socket.readyState === WebSocket.OPEN && this.playback;
    const { status } = this;
    await until(() => !open() || status.framesReceived >= status.framesSent, REPLY_WAIT_MS);
    if (!open()) return;
    this.playback.port.postMessage("drain");
    await until(() => !open() || this.playedOut, status.bufferedMs + PLAY_OUT_MARGIN_MS);
  }

  resetCounters() {
    Object.assign(this.status, sessionCounters());
    this.rttCount = 0;
    this.playedOut = false;
  }

  /** Wire up the socket; the promise settles on `ready`, or on what came instead. */
  listen(socket) {
    return new Promise((resolve, reject) => {
      socket.onmessage = ({ data }) => {
        if (data instanceof ArrayBuffer) {
          this.receiveFrame(data);
          return;
        }
        const message = parseMessage(data);
        if (message?.type === "ready") {
          this.status.session = message.session;
          resolve(message);
        } else if (message?.type === "error") {
          this.status.lastError = { code: message.code, detail: message.detail };
        }
      };
      socket.onclose = ({ code }) => {
        this.status.closeCode = code;
        // Stopped by the user: after the session ran, or before `ready` came.
        const ended = this.stopping && (code === CloseCode.NORMAL || !this.status.session);
        if (!ended && !this.status.lastError) {
          this.status.lastError = {
            code: "connection_closed",
            detail: `the connection closed with code ${code} before the session ended`,
          };
        }
        reject(new Error(this.status.lastError?.detail ?? "closed"));
        this.teardown(ended ? "stopped" : "error");
      };
    });
  }

  connectGraph(context, stream) {
    const { targetRate, frameSize, depthFrames } = this.options;
    const processorOptions = {
      targetRate,
      frameSize,
      depthFrames,
      headroomFrames: JITTER_HEADROOM_FRAMES,
    };
    this.source = context.createMediaStreamSource(stream);
    this.capture = new AudioWorkletNode(context, "wsaudio-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit", // the graph mixes any microphone down to mono
      processorOptions,
    });
    this.playback = new AudioWorkletNode(context, "wsaudio-playback", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions,
    });
    this.capture.port.onmessage = ({ data }) => this.sendFrame(data);
    this.playback.port.onmessage = ({ data }) => this.playbackReport(data);
    this.source.connect(this.capture);
    this.playback.connect(context.destination);
  }

  /** A frame from the capture worklet: send it, then hand the buffer back. */
  sendFrame(buffer) {
    if (!this.capture) return; // a frame that was in flight when the session ended
    if (this.socket.readyState === WebSocket.OPEN && !this.stopping) {
      const frame = this.status.framesSent++;
      this.sendTimes[frame % SEND_TIMES] = performance.now();
      this.socket.send(encodeFrame(new Float32Array(buffer), this.options.format));
    }
    this.capture.port.postMessage(buffer, [buffer]);
  }

  /** A reply: replies come one per frame, in order, so the count names its frame. */
  receiveFrame(bytes) {
    const frame = this.status.framesReceived++;
    const rtt = performance.now() - this.sendTimes[frame % SEND_TIMES];
    this.rtts[this.rttCount++ % RTT_WINDOW] = rtt;
    if (!this.playback) return;
    const samples = decodeFrame(bytes, this.options.format);
    this.playback.port.postMessage(samples.buffer, [samples.buffer]);
  }

  playbackReport({ underruns, overruns, trims, playedSamples, droppedSamples, buffered, drained }) {
    this.playedOut = drained;
    Object.assign(this.status, {
      underruns,
      overruns,
      trims,
      samplesPlayed: playedSamples,
      samplesDropped: droppedSamples,
      bufferedMs: (1000 * buffered) / this.status.contextRate,
    });
  }

  updateRtt() {
    const n = Math.min(this.rttCount, RTT_WINDOW);
    if (n === 0) return;
    const sorted = this.rtts.slice(0, n).sort();
    this.status.rttMs = { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
  }

  fail(error) {
    if (!this.status.lastError) {
      const code = error?.name === "NotAllowedError" ? "microphone_denied" : "start_failed";
      this.status.lastError = { code, detail: String(error?.message ?? error) };
    }
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(CloseCode.NORMAL);
    this.teardown("error");
  }

  /** Release the microphone and the audio context; the session ends in `state`. */
  teardown(state) {
    clearInterval(this.reporter);
    this.updateRtt();
    if (this.stream) stopTracks(this.stream);
    this.source?.disconnect();
    this.playback?.disconnect();
    this.context?.close();
    this.stream = this.source = this.capture = this.playback = this.context = null;
    if (this.status.state !== "error") this.status.state = state;
  }
}
