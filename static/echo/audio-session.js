/**
 * One echo session in the browser: microphone → capture worklet → WebSocket →
 * playback worklet → speakers, with its state published in one plain object and an
 * "update" event each time its measurements are refreshed. When the server goes
 * away mid-stream, the audio graph keeps running while a new session is opened.
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
import { LevelMeter, RoundTrips, Throughput, latencyBudget } from "./measures.js";
import { PageError, microphoneError } from "./messages.js";
import {
  CLOSING_ERRORS,
  CloseCode,
  decodeFrame,
  encodeFrame,
  parseMessage,
  sessionUrl,
} from "./protocol.js";
import { BACKOFF, RECONNECTING_CLOSES, retryDelay, shouldReconnect } from "./reconnect.js";

/** Frames whose send time is remembered to measure their round trip. */
const SEND_TIMES = 1024;
/** Round trips the percentiles are taken over: the last 16 s at the defaults. */
const RTT_WINDOW = 256;
/** A ping a second; the percentiles cover the last minute of them. */
const PING_INTERVAL_MS = 1000;
const PING_WINDOW = 60;
/** kbit/s is averaged over a second: a frame every 62.5 ms comes in uneven counts. */
const THROUGHPUT_WINDOW_MS = 1000;
/** How often the server is told what this page experienced (`client_stats`). */
const CLIENT_STATS_INTERVAL_MS = 2000;
/** How long Stop waits for replies still on their way. */
const REPLY_WAIT_MS = 1000;
/** How long Stop waits for playback beyond the audio it had buffered. */
const PLAY_OUT_MARGIN_MS = 500;

/** How long a failed start waits for the socket to say whether the server is there. */
const SOCKET_VERDICT_MS = 3000;

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

/** Resolves once `promise` settles either way, or after `timeoutMs`. */
function settled(promise, timeoutMs) {
  const noop = () => {};
  return Promise.race([promise.then(noop, noop), new Promise((r) => setTimeout(r, timeoutMs))]);
}

const stopTracks = (stream) => stream.getTracks().forEach((track) => track.stop());

/** The part of `window.wsaudio` that each Start begins afresh. */
function sessionCounters() {
  return {
    session: null,
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    rttMs: { p50: null, p95: null },
    pingRttMs: { p50: null, p95: null },
    kbps: { sent: null, received: null },
    levels: { input: null, output: null },
    latencyMs: { captureMs: null, networkMs: null, jitterMs: null, outputMs: null, totalMs: null },
    clientStatsSent: 0,
    bufferedMs: 0,
    underruns: 0,
    overruns: 0,
    trims: 0,
    samplesPlayed: 0,
    samplesDropped: 0,
    lastError: null,
    closeCode: null,
    reconnects: 0,
    reconnecting: null,
    lastGap: null,
  };
}

export class AudioSession extends EventTarget {
  /**
   * @param {object} [options] as for `configure()`, with
   * @param {string} [options.server] the site's URL (default: this page's)
   */
  constructor({ server = globalThis.location?.href, ...options } = {}) {
    super();
    this.server = server;
    /** What the session is doing, for the page, tests and the console (`window.wsaudio`). */
    this.status = { state: "idle", contextRate: null, ...sessionCounters() };
    this.configure(options);
    this.frameTrips = new RoundTrips(RTT_WINDOW, SEND_TIMES);
    this.pingTrips = new RoundTrips(PING_WINDOW);
    this.sentBytes = new Throughput(THROUGHPUT_WINDOW_MS);
    this.receivedBytes = new Throughput(THROUGHPUT_WINDOW_MS);
    this.inputLevel = new LevelMeter();
    this.outputLevel = new LevelMeter();
    this.accepts = [];
  }

  /**
   * The options the next Start uses; anything left out keeps its default.
   * @param {object} [options]
   * @param {number} [options.targetRate] samples per second on the wire
   * @param {number} [options.frameSize] samples per frame
   * @param {string} [options.format] "f32" or "s16"
   * @param {string} [options.processor] the server-side processor
   * @param {number} [options.depthFrames] jitter-buffer target, in frames
   * @param {MediaTrackConstraints} [options.constraints] microphone processing switches
   */
  configure({
    targetRate = TARGET_DOWNSAMPLE_RATE,
    frameSize = EXPECTED_BUFFER_SIZE,
    format = DEFAULT_FORMAT,
    processor = DEFAULT_PROCESSOR,
    depthFrames = DEFAULT_JITTER_FRAMES,
    constraints = DEFAULT_CONSTRAINTS,
  } = {}) {
    this.options = { targetRate, frameSize, format, processor, depthFrames, constraints };
    Object.assign(this.status, { targetRate, frameSize, format, processor, depthFrames });
    /** The latest frame sent and received, at the wire rate, for a waveform view. */
    this.waveforms = { sent: new Float32Array(frameSize), received: new Float32Array(frameSize) };
  }

  get running() {
    return ["connecting", "running", "reconnecting"].includes(this.status.state);
  }

  /** Connect, open the microphone and stream until `stop()` or an error. */
  async start() {
    if (this.running) return;
    this.resetCounters();
    this.status.state = "connecting";
    this.stopping = false;
    this.accepts = [];
    const { targetRate, frameSize, format, processor, constraints } = this.options;
    // Made before any await, so that it counts as started by the user's click.
    const context = new AudioContext({ latencyHint: "interactive" });
    this.context = context;
    this.status.contextRate = context.sampleRate;
    this.url = sessionUrl(this.server, targetRate, { format, processor });
    const ready = this.listen(this.connect());
    const microphone = navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, ...constraints },
    });
    const worklets = Promise.all([
      context.audioWorklet.addModule(new URL("./capture-processor.js", import.meta.url)),
      context.audioWorklet.addModule(new URL("./playback-processor.js", import.meta.url)),
    ]);
    try {
      const [stream] = await Promise.all([
        microphone.catch((error) => {
          this.status.lastError ??= microphoneError(error);
          throw error;
        }),
        worklets,
        ready,
      ]);
      if (this.stopping) throw new Error("stopped while connecting");
      this.stream = stream;
      this.connectGraph(context, stream);
      await context.resume();
    } catch (error) {
      microphone.then(stopTracks, () => {}); // if it opens after all, close it again
      // A server out of reach fails the worklets' fetch too, often first: the
      // socket's verdict names the cause the user can act on.
      await settled(ready, SOCKET_VERDICT_MS);
      if (!this.stopping) this.fail(error);
      this.emit();
      return;
    }
    this.status.state = "running";
    this.reporter = setInterval(() => this.report(), REPORT_INTERVAL_MS);
    this.emit();
  }

  /**
   * End the session: capture stops, the replies still on their way arrive and are
   * played out, the server hears the final `client_stats`, then the socket closes
   * with 1000 and the state becomes "stopped".
   */
  async stop() {
    if (!this.socket || this.stopping) return;
    this.stopping = true;
    if (this.status.state === "reconnecting") {
      this.abandon(this.socket); // a try in flight: its close would be no news
      this.teardown("stopped");
      return;
    }
    if (this.status.state === "running") {
      this.capture.port.postMessage("stop");
      await this.playOut();
      this.measure();
      this.sendClientStats({ playedOut: true });
    }
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(CloseCode.NORMAL);
  }

  async playOut() {
    const open = () => this.socket.readyState === WebSocket.OPEN && this.playback;
    const { status, exchange } = this;
    await until(() => !open() || exchange.received >= exchange.sent, REPLY_WAIT_MS);
    if (!open()) return;
    this.playback.port.postMessage("drain");
    await until(() => !open() || this.playedOut, status.bufferedMs + PLAY_OUT_MARGIN_MS);
  }

  resetCounters() {
    Object.assign(this.status, sessionCounters());
    for (const measure of [this.frameTrips, this.pingTrips, this.sentBytes, this.receivedBytes])
      measure.reset();
    this.inputLevel.reset();
    this.outputLevel.reset();
    this.waveforms.sent.fill(0);
    this.waveforms.received.fill(0);
    this.playedOut = false;
    this.playbackCounters = null;
    this.reports = 0;
    this.pingsSent = 0;
    this.exchange = { sent: 0, received: 0 };
    this.inSession = false;
    this.farewell = null;
    this.gap = null;
  }

  /** A new socket to the session URL, made the current one. */
  connect() {
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    return socket;
  }

  /** Wire up the socket; the promise settles on `ready`, or on what came instead. */
  listen(socket) {
    let opened = false;
    socket.onopen = () => (opened = true);
    return new Promise((resolve, reject) => {
      socket.onmessage = ({ data }) => {
        if (data instanceof ArrayBuffer) {
          this.receiveFrame(data);
          return;
        }
        const message = parseMessage(data);
        if (message?.type === "ready") {
          this.sessionReady(message);
          resolve(message);
        } else if (message?.type === "pong") {
          if (Number.isInteger(message.id)) this.pingTrips.received(message.id, performance.now());
        } else if (message?.type === "error") {
          const error = { code: message.code, detail: message.detail };
          // Announces a close the page rides through: no alert unless it gives up.
          if (RECONNECTING_CLOSES.has(CLOSING_ERRORS[message.code])) this.farewell = error;
          else this.status.lastError = error;
        }
      };
      socket.onclose = ({ code }) => {
        reject(new Error(`closed with code ${code}`));
        this.closed(socket, code, opened);
      };
    });
  }

  /** `ready`: a session, the first or one that takes over from a lost one. */
  sessionReady(message) {
    this.status.session = message.session;
    this.accepts = Array.isArray(message.accepts) ? message.accepts : [];
    this.exchange = { sent: 0, received: 0 };
    this.frameTrips.reset(); // replies are matched to frames by their count in a session
    this.inSession = true;
    this.farewell = null;
    if (this.gap) this.reconnected();
  }

  /** A socket closed: ride through it, or end the session as its code says. */
  closed(socket, code, opened) {
    const streaming = this.inSession && this.status.state === "running";
    this.inSession = false;
    this.status.closeCode = code;
    if (this.gap) {
      this.retryFailed(code);
      return;
    }
    if (shouldReconnect({ closeCode: code, streaming, stopped: this.stopping })) {
      this.startGap(code);
      return;
    }
    this.status.lastError ??= this.farewell;
    // Stopped by the user: after the session ran, or before `ready` came.
    const ended = this.stopping && (code === CloseCode.NORMAL || !this.status.session);
    if (!ended && !this.status.lastError) {
      this.status.lastError = opened
        ? {
            code: PageError.CONNECTION_CLOSED,
            detail: `the connection closed with code ${code} before the session ended`,
          }
        : {
            code: PageError.SERVER_UNREACHABLE,
            detail: `no WebSocket connection to ${socket.url} (close code ${code})`,
          };
      if (!opened) this.diagnoseRefusal();
    }
    this.teardown(ended ? "stopped" : "error");
  }

  /** The session dropped while streaming: keep the audio graph, open another. */
  startGap(closeCode) {
    this.gap = {
      closeCode,
      cause: this.farewell,
      startedAt: performance.now(),
      tries: 0,
      framesUnsent: 0,
      framesUnanswered: this.exchange.sent - this.exchange.received,
    };
    this.farewell = null;
    this.accepts = []; // no pings nor client_stats until the next `ready`
    this.status.lastError = null; // a warning of the old session says nothing of the next
    // Nothing is sent or received meanwhile: the meters and waveform say so.
    this.status.levels = { input: null, output: null };
    this.inputLevel.reset();
    this.outputLevel.reset();
    this.waveforms.sent.fill(0);
    this.waveforms.received.fill(0);
    this.status.state = "reconnecting";
    this.status.reconnecting = { closeCode, tries: 0 };
    this.scheduleRetry();
    this.emit();
  }

  scheduleRetry() {
    const { gap } = this;
    const delay = retryDelay(gap.tries, performance.now() - gap.startedAt);
    if (delay === null) {
      this.giveUp();
      return;
    }
    this.retryTimer = setTimeout(() => this.retry(), delay);
  }

  retry() {
    const { gap } = this;
    gap.tries++;
    this.status.reconnecting = { closeCode: gap.closeCode, tries: gap.tries };
    const socket = this.connect();
    this.listen(socket).catch(() => {}); // its close says what comes next
    // A try that hangs (a server that accepts but never answers) ends at the deadline.
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(
      () => {
        this.abandon(socket);
        this.giveUp();
      },
      gap.startedAt + BACKOFF.deadlineMs - performance.now(),
    );
    this.emit();
  }

  /** A try closed before its `ready`: try again if that close allows it. */
  retryFailed(code) {
    if (RECONNECTING_CLOSES.has(code)) {
      this.scheduleRetry();
      return;
    }
    const { gap } = this;
    this.endGap();
    this.status.lastError ??= {
      code: PageError.CONNECTION_CLOSED,
      detail: `reconnecting after close code ${gap.closeCode}, a new session closed with ${code}`,
    };
    this.teardown("error");
  }

  /** No new session before the deadline: the error of the close that began it all. */
  giveUp() {
    const { closeCode, cause, startedAt, tries } = this.gap;
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(0);
    const why = cause?.detail ?? `the connection closed with code ${closeCode}`;
    this.endGap();
    this.status.closeCode = closeCode;
    this.status.lastError ??= {
      code: cause?.code ?? PageError.CONNECTION_CLOSED,
      detail: `${why}; no new session in ${seconds} s (${tries} tries)`,
    };
    this.teardown("error");
  }

  reconnected() {
    const { gap, status } = this;
    this.endGap();
    status.reconnects++;
    status.lastGap = {
      closeCode: gap.closeCode,
      seconds: (performance.now() - gap.startedAt) / 1000,
      tries: gap.tries,
      framesUnsent: gap.framesUnsent,
      framesUnanswered: gap.framesUnanswered,
    };
    status.closeCode = null;
    status.state = "running";
    this.emit();
  }

  endGap() {
    clearTimeout(this.retryTimer);
    clearTimeout(this.deadlineTimer);
    this.gap = null;
    this.status.reconnecting = null;
  }

  /** Close `socket` without hearing of it again. */
  abandon(socket) {
    socket.onopen = socket.onmessage = socket.onclose = null;
    if (socket.readyState <= WebSocket.OPEN) socket.close(CloseCode.NORMAL);
  }

  /**
   * A WebSocket that never opened: the browser does not say why. If the server
   * answers HTTP, it refused the handshake (an origin it does not allow, or a proxy
   * that does not pass WebSockets on) rather than being out of reach.
   */
  async diagnoseRefusal() {
    const unreachable = this.status.lastError;
    try {
      const response = await fetch(new URL("api/info/", this.server), { cache: "no-store" });
      if (!response.ok) return;
    } catch {
      return; // out of reach indeed
    }
    if (this.status.lastError !== unreachable) return; // a new Start since
    this.status.lastError = { ...unreachable, code: PageError.HANDSHAKE_REFUSED };
    this.emit();
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
    if (this.inSession && this.socket.readyState === WebSocket.OPEN && !this.stopping) {
      const samples = new Float32Array(buffer);
      const bytes = encodeFrame(samples, this.options.format);
      this.frameTrips.sent(this.exchange.sent++, performance.now());
      this.status.framesSent++;
      this.socket.send(bytes);
      this.sentBytes.add(bytes.byteLength);
      this.status.bytesSent += bytes.byteLength;
      this.inputLevel.add(samples);
      this.waveforms.sent.set(samples.subarray(0, this.waveforms.sent.length));
    } else if (this.gap) {
      this.gap.framesUnsent++; // dropped, not queued: the new session starts in the present
    }
    this.capture.port.postMessage(buffer, [buffer]);
  }

  /** A reply: replies come one per frame, in order, so the count names its frame. */
  receiveFrame(bytes) {
    this.frameTrips.received(this.exchange.received++, performance.now());
    this.status.framesReceived++;
    this.receivedBytes.add(bytes.byteLength);
    this.status.bytesReceived += bytes.byteLength;
    if (!this.playback) return;
    const samples = decodeFrame(bytes, this.options.format);
    this.outputLevel.add(samples);
    this.waveforms.received.set(samples.subarray(0, this.waveforms.received.length));
    this.playback.port.postMessage(samples.buffer, [samples.buffer]);
  }

  /** The playback worklet's counters, published with the next measurements. */
  playbackReport(report) {
    this.playedOut = report.drained;
    this.playbackCounters = report;
  }

  /** Each report interval: refresh the measurements, ping and tell the server. */
  report() {
    this.measure();
    const elapsed = this.reports++ * REPORT_INTERVAL_MS;
    if (elapsed % PING_INTERVAL_MS === 0) this.ping();
    if (elapsed % CLIENT_STATS_INTERVAL_MS === 0 && elapsed > 0) this.sendClientStats();
    this.emit();
  }

  measure() {
    const now = performance.now();
    const { status, options, context } = this;
    const played = this.playbackCounters;
    if (played) {
      Object.assign(status, {
        underruns: played.underruns,
        overruns: played.overruns,
        trims: played.trims,
        samplesPlayed: played.playedSamples,
        samplesDropped: played.droppedSamples,
        bufferedMs: (1000 * played.buffered) / status.contextRate,
      });
    }
    status.rttMs = this.frameTrips.percentiles();
    status.pingRttMs = this.pingTrips.percentiles();
    status.kbps = { sent: this.sentBytes.read(now), received: this.receivedBytes.read(now) };
    status.levels = {
      input: this.inputLevel.read() ?? status.levels.input,
      output: this.outputLevel.read() ?? status.levels.output,
    };
    const outputLatency = context ? (context.outputLatency ?? 0) + context.baseLatency : null;
    status.latencyMs = latencyBudget({
      frameSize: options.frameSize,
      targetRate: options.targetRate,
      rttMs: status.rttMs.p50,
      bufferedMs: status.bufferedMs,
      outputLatencyMs: outputLatency === null ? null : 1000 * outputLatency,
    });
  }

  ping() {
    if (!this.accepts.includes("ping") || this.socket.readyState !== WebSocket.OPEN) return;
    const id = this.pingsSent++;
    this.pingTrips.sent(id, performance.now());
    this.socket.send(JSON.stringify({ type: "ping", id }));
  }

  /**
   * What this page experienced, for the session's record on the server. Once Stop
   * has played the buffer out, its level says nothing about the session, so the
   * last report leaves it out and the server keeps the one before.
   */
  sendClientStats({ playedOut = false } = {}) {
    if (!this.accepts.includes("client_stats")) return;
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const { rttMs, bufferedMs, underruns, overruns } = this.status;
    const values = { underruns, overruns };
    if (!playedOut) values.buffered_ms = bufferedMs;
    if (rttMs.p50 !== null) Object.assign(values, { rtt_ms_p50: rttMs.p50, rtt_ms_p95: rttMs.p95 });
    this.socket.send(JSON.stringify({ type: "client_stats", ...values }));
    this.status.clientStatsSent++;
  }

  emit() {
    this.dispatchEvent(new Event("update"));
  }

  fail(error) {
    this.status.lastError ??= {
      code: PageError.START_FAILED,
      detail: String(error?.message ?? error),
    };
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(CloseCode.NORMAL);
    this.teardown("error");
  }

  /** Release the microphone and the audio context; the session ends in `state`. */
  teardown(state) {
    clearInterval(this.reporter);
    this.endGap();
    if (this.status.state === "running") this.measure();
    if (this.stream) stopTracks(this.stream);
    this.source?.disconnect();
    this.playback?.disconnect();
    this.context?.close();
    this.stream = this.source = this.capture = this.playback = this.context = null;
    if (this.status.state !== "error") this.status.state = state;
    this.emit();
  }
}
