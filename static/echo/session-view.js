/**
 * Draws a session's `status` on the page: the status line, the notice, the message,
 * levels, waveform, live stats and the latency budget. Reads the status, never
 * changes it.
 */

import { explain, reconnected, retrying } from "./messages.js";

const NONE = "–";

/** @param {number|null} value @param {number} digits @param {string} unit */
export function formatNumber(value, digits, unit = "") {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  return `${value.toFixed(digits)}${unit && ` ${unit}`}`;
}

function percentiles({ p50, p95 }) {
  if (p50 === null) return NONE;
  return `${formatNumber(p50, 1)} ms (p95 ${formatNumber(p95, 1)})`;
}

export class SessionView {
  /** @param {Document} document */
  constructor(document) {
    const $ = (id) => document.getElementById(id);
    this.$ = $;
    this.message = $("message");
    this.notice = $("notice");
    this.canvas = $("waveform");
    this.latencyBar = $("latency-bar");
  }

  /** @param {object} status the session's `window.wsaudio` */
  render(status) {
    const { $ } = this;
    $("status").textContent = describeState(status);
    this.renderNotice(status);
    this.renderMessage(status);
    this.renderLevel("input", status.levels.input);
    this.renderLevel("output", status.levels.output);
    $("stat-rtt-frame").textContent = percentiles(status.rttMs);
    $("stat-rtt-ping").textContent = percentiles(status.pingRttMs);
    $("stat-frames-sent").textContent = String(status.framesSent);
    $("stat-frames-received").textContent = String(status.framesReceived);
    $("stat-kbps-sent").textContent = formatNumber(status.kbps.sent, 1, "kbit/s");
    $("stat-kbps-received").textContent = formatNumber(status.kbps.received, 1, "kbit/s");
    $("stat-buffer").textContent = formatNumber(status.bufferedMs, 1, "ms");
    $("stat-underruns").textContent = String(status.underruns);
    this.renderLatency(status.latencyMs);
  }

  /** Once a new session has taken over, for as long as it runs: not an error. */
  renderNotice({ state, lastGap }) {
    const shown = state === "running" && lastGap !== null;
    this.notice.hidden = !shown;
    this.notice.textContent = shown ? reconnected(lastGap) : "";
  }

  renderMessage({ lastError, closeCode }) {
    this.message.hidden = lastError === null;
    if (lastError === null) return;
    const { severity, title, advice, detail } = explain(lastError, closeCode);
    this.message.className = `message ${severity}`;
    this.$("message-title").textContent = title;
    this.$("message-advice").textContent = advice;
    this.$("message-detail").textContent = detail;
  }

  renderLevel(which, level) {
    const meter = this.$(`level-${which}`);
    meter.value = level === null ? meter.min : level.peakDbfs;
    this.$(`level-${which}-text`).textContent =
      level === null
        ? NONE
        : `peak ${formatNumber(level.peakDbfs, 1)} · rms ${formatNumber(level.rmsDbfs, 1)} dBFS`;
  }

  renderLatency(latency) {
    const parts = ["capture", "network", "jitter", "output"];
    for (const part of parts)
      this.$(`latency-${part}`).textContent = formatNumber(latency[`${part}Ms`], 1, "ms");
    this.$("latency-total").textContent = formatNumber(latency.totalMs, 1, "ms");
    const spans = this.latencyBar.children;
    parts.forEach((part, i) => {
      const share = latency.totalMs ? (latency[`${part}Ms`] ?? 0) / latency.totalMs : 0;
      spans[i].style.flexGrow = String(share);
    });
  }

  /** The latest frame sent (upper half) and returned (lower half), across the canvas. */
  drawWaveforms({ sent, received }) {
    const { canvas } = this;
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const lane = height / 2;
    trace(context, sent, 0, width, lane, style.getPropertyValue("--sent").trim());
    trace(context, received, lane, width, lane, style.getPropertyValue("--returned").trim());
  }
}

/** `samples` as a line in the lane `top`..`top + height`, full scale at its edges. */
function trace(context, samples, top, width, height, color) {
  context.strokeStyle = color;
  context.lineWidth = 1.5;
  context.beginPath();
  const step = samples.length / width;
  for (let x = 0; x < width; x++) {
    const sample = samples[Math.floor(x * step)];
    const y = top + (0.5 - 0.5 * Math.max(-1, Math.min(1, sample))) * height;
    if (x === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  }
  context.stroke();
}

function describeState({ state, targetRate, format, processor, contextRate, reconnecting }) {
  const parts = [state];
  if (reconnecting !== null) parts.push(retrying(reconnecting));
  if (["running", "connecting", "reconnecting"].includes(state)) {
    parts.push(`${targetRate} Hz ${format}, ${processor}`);
    if (contextRate) parts.push(`audio device at ${contextRate} Hz`);
  }
  return parts.join(" · ");
}
