/**
 * The page: options from the query string (`?rate=&frame=&format=&depth=&processor=`),
 * Start and Stop, a status line, and the session's state as `window.wsaudio`.
 */

import { AudioSession } from "./audio-session.js";

/** Session options given in the page's URL; anything absent keeps its default. */
function optionsFromQuery(search) {
  const query = new URLSearchParams(search);
  const options = {};
  const integer = (name, key) => {
    if (!query.has(name)) return;
    const value = Number(query.get(name));
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(`?${name}= must be a positive integer, not "${query.get(name)}"`);
    }
    options[key] = value;
  };
  integer("rate", "targetRate");
  integer("frame", "frameSize");
  if (query.has("depth")) {
    const depth = Number(query.get("depth"));
    if (!(depth > 0)) throw new RangeError(`?depth= must be a positive number of frames`);
    options.depthFrames = depth;
  }
  if (query.has("format")) options.format = query.get("format");
  if (query.has("processor")) options.processor = query.get("processor");
  return options;
}

function describe(status) {
  const { state, framesSent, framesReceived, rttMs, bufferedMs, underruns, lastError } = status;
  const parts = [state];
  if (framesSent) {
    parts.push(`${framesSent} frames sent, ${framesReceived} back`);
    if (rttMs.p50 !== null)
      parts.push(`round trip ${rttMs.p50.toFixed(1)} ms (p95 ${rttMs.p95.toFixed(1)})`);
    parts.push(`buffer ${bufferedMs.toFixed(0)} ms, ${underruns} underruns`);
  }
  if (lastError) parts.push(`${lastError.code}: ${lastError.detail}`);
  return parts.join(" · ");
}

const start = document.querySelector("#start");
const stop = document.querySelector("#stop");
const line = document.querySelector("#status");
let session;
let optionsError = null;
try {
  session = new AudioSession(optionsFromQuery(location.search));
} catch (error) {
  session = new AudioSession();
  optionsError = { code: "bad_option", detail: error.message };
  Object.assign(session.status, { state: "error", lastError: optionsError });
}
window.wsaudio = session.status;

function render() {
  const busy = ["connecting", "running"].includes(session.status.state);
  start.disabled = busy || optionsError !== null;
  stop.disabled = !busy;
  line.textContent = describe(session.status);
}

start.addEventListener("click", () => session.start().finally(render));
stop.addEventListener("click", () => session.stop());
render();
setInterval(render, 250);
