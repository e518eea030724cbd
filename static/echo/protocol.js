/**
 * The browser's side of wsaudio protocol v1 (docs/protocol.md): session URLs, the
 * PCM codec and the codes. A unit test holds it equal to echo/protocol.py.
 */

export const PROTOCOL_VERSION = 1;

/** Bytes per sample of each wire format; both are little-endian. */
export const SAMPLE_WIDTH = Object.freeze({ f32: 4, s16: 2 });

/** The control message types of protocol v1 (`ready.accepts` lists those a server takes). */
export const CONTROL_TYPES = Object.freeze(["ping", "stats", "client_stats", "configure"]);

/** WebSocket close codes the server sends. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  ENDED_BY_OPERATOR: 4001,
  BAD_REQUEST: 4400,
  IDLE_TIMEOUT: 4408,
  FRAME_TOO_LARGE: 4413,
  TOO_MANY: 4429,
  PROCESSING_FAILED: 4500,
  SHUTTING_DOWN: 4502,
  SERVER_FULL: 4503,
  PROCESSING_BEHIND: 4504,
  CLIENT_NOT_READING: 4509,
});

/** The `code` of an `error` message. */
export const ErrorCode = Object.freeze({
  BAD_REQUEST: "bad_request",
  BUSY: "busy",
  BAD_FRAME: "bad_frame",
  FRAME_TOO_LARGE: "frame_too_large",
  RATE_LIMITED: "rate_limited",
  BAD_MESSAGE: "bad_message",
  TOO_MANY_ERRORS: "too_many_errors",
  TOO_MANY_MESSAGES: "too_many_messages",
  IDLE_TIMEOUT: "idle_timeout",
  PROCESSING_FAILED: "processing_failed",
  PROCESSING_BEHIND: "processing_behind",
  NOT_READING: "not_reading",
  SHUTTING_DOWN: "shutting_down",
});

/** Errors after which the server closes the session, with the close code it uses. */
export const CLOSING_ERRORS = Object.freeze({
  [ErrorCode.BAD_REQUEST]: CloseCode.BAD_REQUEST,
  [ErrorCode.BUSY]: CloseCode.SERVER_FULL,
  [ErrorCode.FRAME_TOO_LARGE]: CloseCode.FRAME_TOO_LARGE,
  [ErrorCode.TOO_MANY_ERRORS]: CloseCode.TOO_MANY,
  [ErrorCode.TOO_MANY_MESSAGES]: CloseCode.TOO_MANY,
  [ErrorCode.IDLE_TIMEOUT]: CloseCode.IDLE_TIMEOUT,
  [ErrorCode.PROCESSING_FAILED]: CloseCode.PROCESSING_FAILED,
  [ErrorCode.PROCESSING_BEHIND]: CloseCode.PROCESSING_BEHIND,
  [ErrorCode.NOT_READING]: CloseCode.CLIENT_NOT_READING,
  [ErrorCode.SHUTTING_DOWN]: CloseCode.SHUTTING_DOWN,
});

const S16_SCALE = 32768; // int16 full scale: a power of two, so s16 round trips exactly

/**
 * `ws[s]://HOST/ws/echo/<rate>/?...` for a site at `base` (an http(s) or ws(s) URL,
 * with or without a path prefix). Parameters left undefined take the server's defaults.
 * @param {string} base
 * @param {number} rate
 * @param {{format?: string, processor?: string}} [params]
 */
export function sessionUrl(base, rate, { format, processor } = {}) {
  const url = new URL(base);
  const scheme = { "http:": "ws:", "https:": "wss:" }[url.protocol] ?? url.protocol;
  if (scheme !== "ws:" && scheme !== "wss:") {
    throw new TypeError(`${base} is not a ws://, wss://, http:// or https:// URL`);
  }
  const query = new URLSearchParams();
  if (format !== undefined) query.set("format", format);
  if (processor !== undefined) query.set("processor", processor);
  const path = `${url.pathname.replace(/\/+$/, "")}/ws/echo/${rate}/`;
  const search = String(query);
  return `${scheme}//${url.host}${path}${search && "?"}${search}`;
}

function widthOf(format) {
  const width = SAMPLE_WIDTH[format];
  if (width === undefined) throw new TypeError(`unknown sample format ${format}`);
  return width;
}

/**
 * Round half to even, as the server does (numpy's rint).
 * @param {number} x
 */
function roundHalfEven(x) {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The wire bytes of float samples: f32 as they are, s16 scaled by 32768, rounded
 * half to even and clipped to int16 (NaN becomes 0), exactly as the server encodes.
 * @param {Float32Array} samples
 * @param {string} format "f32" or "s16"
 * @returns {ArrayBuffer}
 */
export function encodeFrame(samples, format) {
  const width = widthOf(format);
  const bytes = new ArrayBuffer(samples.length * width);
  const view = new DataView(bytes);
  if (width === 4) {
    for (let i = 0; i < samples.length; i++) view.setFloat32(4 * i, samples[i], true);
    return bytes;
  }
  for (let i = 0; i < samples.length; i++) {
    const scaled = roundHalfEven(samples[i] * S16_SCALE) || 0;
    view.setInt16(2 * i, Math.max(-S16_SCALE, Math.min(S16_SCALE - 1, scaled)), true);
  }
  return bytes;
}

/**
 * Float samples of a frame's wire bytes (s16 divided by 32768).
 * @param {ArrayBuffer} bytes a whole number of samples
 * @param {string} format "f32" or "s16"
 * @returns {Float32Array}
 */
export function decodeFrame(bytes, format) {
  const width = widthOf(format);
  if (bytes.byteLength % width !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes are not whole ${format} samples`);
  }
  const view = new DataView(bytes);
  const samples = new Float32Array(bytes.byteLength / width);
  if (width === 4) {
    for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(4 * i, true);
  } else {
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true) / S16_SCALE;
  }
  return samples;
}

/**
 * A server text message as an object with a string `type`, or null if it is not one.
 * @param {string} text
 */
export function parseMessage(text) {
  try {
    const message = JSON.parse(text);
    const isObject = message !== null && typeof message === "object" && !Array.isArray(message);
    return isObject && typeof message.type === "string" ? message : null;
  } catch {
    return null;
  }
}
