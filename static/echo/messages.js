/**
 * Words for everything that can stop or trouble a session: each error code and close
 * code of docs/protocol.md, and what can go wrong in the browser before audio flows.
 */

import { CloseCode, ErrorCode } from "./protocol.js";

/** Error codes the page itself sets, beside the server's `ErrorCode`. */
export const PageError = Object.freeze({
  BAD_OPTION: "bad_option",
  INSECURE_CONTEXT: "insecure_context",
  UNSUPPORTED_BROWSER: "unsupported_browser",
  MICROPHONE_DENIED: "microphone_denied",
  MICROPHONE_ABSENT: "microphone_absent",
  MICROPHONE_BUSY: "microphone_busy",
  SERVER_UNREACHABLE: "server_unreachable",
  HANDSHAKE_REFUSED: "handshake_refused",
  CONNECTION_CLOSED: "connection_closed",
  START_FAILED: "start_failed",
});

/** Close codes that come from the server software or the network, not the protocol. */
export const TransportClose = Object.freeze({
  GOING_AWAY: 1001,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
});

const HOW_TO_SERVE_SECURELY =
  "Open it as http://localhost:8000/ on the machine that runs the server, or serve " +
  "it over https:// (a reverse proxy with a certificate in front of the server).";

/** [title, advice] for each error code, the server's and the page's. */
const ERRORS = {
  [ErrorCode.BAD_REQUEST]: [
    "The server refused these settings",
    "Choose settings the server offers (its reason is below) and start again.",
  ],
  [ErrorCode.BUSY]: [
    "The server is full",
    "It is serving as many sessions as it allows. Try again in a minute.",
  ],
  [ErrorCode.BAD_FRAME]: [
    "A frame was malformed",
    "The server skipped it and the session goes on.",
  ],
  [ErrorCode.FRAME_TOO_LARGE]: [
    "A frame was too long for the server",
    "Choose fewer samples per frame and start again.",
  ],
  [ErrorCode.RATE_LIMITED]: [
    "Audio arrived faster than real time",
    "The server dropped a frame to keep pace; the session goes on.",
  ],
  [ErrorCode.BAD_MESSAGE]: [
    "The server did not understand a message",
    "It ignored that message; the session goes on.",
  ],
  [ErrorCode.TOO_MANY_ERRORS]: [
    "Too many malformed frames or messages",
    "The server ended the session. Reload the page before starting again.",
  ],
  [ErrorCode.TOO_MANY_MESSAGES]: [
    "Too many messages a second",
    "The server ended the session. Choose longer frames and start again.",
  ],
  [ErrorCode.IDLE_TIMEOUT]: [
    "The session timed out",
    "The server heard nothing from this page for too long: the network may have " +
      "stalled. Start again.",
  ],
  [ErrorCode.PROCESSING_FAILED]: [
    "The processor failed",
    "The same audio would likely fail again: choose another processor.",
  ],
  [ErrorCode.PROCESSING_BEHIND]: [
    "The processing fell behind",
    "This server cannot run the chosen processors as fast as the audio comes. " +
      "Choose a lighter chain, or try again when the server is less busy.",
  ],
  [ErrorCode.NOT_READING]: [
    "This page fell behind",
    "The server's replies waited too long to be read (a busy or suspended tab, or " +
      "a stalled network) and it ended the session. Start again.",
  ],
  [ErrorCode.SHUTTING_DOWN]: ["The server is shutting down", "Start again in a few seconds."],
  [PageError.BAD_OPTION]: ["A setting is not valid", "Correct it and start again."],
  [PageError.INSECURE_CONTEXT]: [
    "The microphone needs a secure page",
    "Browsers give the microphone only to pages on https:// or on localhost. " +
      HOW_TO_SERVE_SECURELY,
  ],
  [PageError.UNSUPPORTED_BROWSER]: [
    "This browser cannot run the page",
    "It needs getUserMedia, AudioWorklet and WebSocket: use a current Chrome, " +
      "Edge, Firefox or Safari.",
  ],
  [PageError.MICROPHONE_DENIED]: [
    "Microphone access was denied",
    "Allow the microphone for this site (the icon in the address bar, or the " +
      "browser's site settings), then start again.",
  ],
  [PageError.MICROPHONE_ABSENT]: [
    "No microphone was found",
    "Connect one, or enable it in the system's settings, then start again.",
  ],
  [PageError.MICROPHONE_BUSY]: [
    "The microphone could not be opened",
    "Another application may be using it, or the system blocked it. Close that " +
      "application and start again.",
  ],
  [PageError.SERVER_UNREACHABLE]: [
    "The server cannot be reached",
    "Check that it is running and that this page's address is right, then start again.",
  ],
  [PageError.HANDSHAKE_REFUSED]: [
    "The server refused the connection",
    "It answers this page but turned its WebSocket down: it takes sessions only " +
      "from pages on the sites it allows (WSAUDIO_ALLOWED_ORIGINS, else " +
      "DJANGO_ALLOWED_HOSTS), or a proxy in front of it does not pass WebSockets " +
      "on. Open the page under an address the server allows.",
  ],
  [PageError.START_FAILED]: ["The audio could not start", "Reload the page and start again."],
};

/** [title, advice] for each close code that can end a session without an error. */
const CLOSES = {
  [CloseCode.NORMAL]: ["The session ended", ""],
  [CloseCode.ENDED_BY_OPERATOR]: [
    "An operator ended this session",
    "Start again only if you are meant to.",
  ],
  [CloseCode.BAD_REQUEST]: ERRORS[ErrorCode.BAD_REQUEST],
  [CloseCode.IDLE_TIMEOUT]: ERRORS[ErrorCode.IDLE_TIMEOUT],
  [CloseCode.FRAME_TOO_LARGE]: ERRORS[ErrorCode.FRAME_TOO_LARGE],
  [CloseCode.TOO_MANY]: [
    "Too many errors or messages",
    "The server ended the session. Start again.",
  ],
  [CloseCode.PROCESSING_FAILED]: ERRORS[ErrorCode.PROCESSING_FAILED],
  [CloseCode.SHUTTING_DOWN]: ERRORS[ErrorCode.SHUTTING_DOWN],
  [CloseCode.SERVER_FULL]: ERRORS[ErrorCode.BUSY],
  [CloseCode.PROCESSING_BEHIND]: ERRORS[ErrorCode.PROCESSING_BEHIND],
  [CloseCode.CLIENT_NOT_READING]: ERRORS[ErrorCode.NOT_READING],
  [TransportClose.GOING_AWAY]: ["The server went away", "Start again in a few seconds."],
  [TransportClose.NO_STATUS]: [
    "The connection closed without a reason",
    "Something between this page and the server closed it. Start again.",
  ],
  [TransportClose.ABNORMAL]: [
    "The connection dropped",
    "The network or the server went away without closing the session. Start again.",
  ],
  [TransportClose.MESSAGE_TOO_BIG]: [
    "A message was too large for the server",
    "Choose fewer samples per frame and start again.",
  ],
  [TransportClose.INTERNAL_ERROR]: [
    "The server hit an unexpected error",
    "Start again; if it happens again, tell whoever runs the server.",
  ],
  [TransportClose.SERVICE_RESTART]: ["The server is restarting", "Start again in a few seconds."],
};

/** Codes that leave the session running: the message is a warning, not an error. */
const WARNINGS = new Set([ErrorCode.BAD_FRAME, ErrorCode.RATE_LIMITED, ErrorCode.BAD_MESSAGE]);

/**
 * What to tell the user about `error` (`{code, detail}`, as in `window.wsaudio`) and
 * the close code that followed it, if any. The error code decides when it is known;
 * a close with no error of its own (`connection_closed`) is told by its close code.
 * @param {{code: string, detail?: string}} error
 * @param {number|null} [closeCode]
 * @returns {{severity: "error"|"warning", title: string, advice: string, detail: string}}
 */
export function explain(error, closeCode = null) {
  const { code, detail = "" } = error;
  let words = ERRORS[code];
  if (words === undefined && closeCode !== null) words = CLOSES[closeCode];
  if (words === undefined) {
    words =
      closeCode === null
        ? [`Error: ${code}`, "Start again."]
        : [`The connection closed with code ${closeCode}`, "Start again."];
  }
  const [title, advice] = words;
  const severity = WARNINGS.has(code) ? "warning" : "error";
  return { severity, title, advice, detail };
}

/** Closes that say the server itself went (to restart, or to hand over to another). */
const SERVER_WENT = new Set([
  CloseCode.SHUTTING_DOWN,
  TransportClose.GOING_AWAY,
  TransportClose.SERVICE_RESTART,
]);

/**
 * Why the page is reconnecting, and how far it got, for the status line.
 * @param {{closeCode: number, tries: number}} reconnecting as in `window.wsaudio`
 */
export function retrying({ closeCode, tries }) {
  const why = SERVER_WENT.has(closeCode) ? "the server is restarting" : "the connection dropped";
  return tries === 0 ? why : `${why}, try ${tries}`;
}

/**
 * The notice once a new session has taken over.
 * @param {{closeCode: number, seconds: number}} gap `window.wsaudio.lastGap`
 */
export function reconnected({ closeCode, seconds }) {
  const what = SERVER_WENT.has(closeCode) ? "The server restarted" : "The connection dropped";
  return `${what}; reconnected after ${seconds.toFixed(1)} s without audio.`;
}

/** The page's error for a failed getUserMedia, by the DOMException's name. */
export function microphoneError(exception) {
  const code =
    {
      NotAllowedError: PageError.MICROPHONE_DENIED,
      SecurityError: PageError.MICROPHONE_DENIED,
      NotFoundError: PageError.MICROPHONE_ABSENT,
      OverconstrainedError: PageError.MICROPHONE_ABSENT,
      NotReadableError: PageError.MICROPHONE_BUSY,
      AbortError: PageError.MICROPHONE_BUSY,
    }[exception?.name] ?? PageError.START_FAILED;
  return { code, detail: String(exception?.message ?? exception) };
}

/** Why this page cannot stream at all, before anyone clicks Start; null if it can. */
export function pageCannotStream(scope = globalThis) {
  if (scope.isSecureContext === false) {
    return {
      code: PageError.INSECURE_CONTEXT,
      detail: `${scope.location?.origin ?? "this page"} is not a secure context.`,
    };
  }
  const missing = [
    ["getUserMedia", scope.navigator?.mediaDevices?.getUserMedia],
    ["AudioWorklet", scope.AudioWorkletNode],
    ["WebSocket", scope.WebSocket],
  ].filter(([, feature]) => feature === undefined);
  if (missing.length === 0) return null;
  return {
    code: PageError.UNSUPPORTED_BROWSER,
    detail: `missing: ${missing.map(([name]) => name).join(", ")}`,
  };
}
