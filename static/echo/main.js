/**
 * The page: settings from the form (filled from its address and `/api/info/`),
 * Start and Stop, and the session drawn as it runs. The session's state is
 * `window.wsaudio`, one object for the page's whole life.
 */

import { AudioSession } from "./audio-session.js";
import { SettingsForm } from "./controls.js";
import { PageError, pageCannotStream } from "./messages.js";
import { SessionView } from "./session-view.js";

const start = document.querySelector("#start");
const stop = document.querySelector("#stop");
const settings = new SettingsForm(document.querySelector("#settings"));
const view = new SessionView(document);
const session = new AudioSession();
window.wsaudio = session.status;

settings.show(session.options);
settings.fillFromQuery(location.search);
const cannotStream = pageCannotStream();

/** Show a problem of the page's own, outside any session. */
function showProblem(error) {
  Object.assign(session.status, { state: "error", lastError: error, closeCode: null });
}

/** Take the form's settings; false (with the reason shown) if one is not usable. */
function configure() {
  try {
    session.configure(settings.options());
    return true;
  } catch (error) {
    showProblem({ code: PageError.BAD_OPTION, detail: error.message });
    return false;
  }
}

function render() {
  start.disabled = session.running || cannotStream !== null;
  stop.disabled = !session.running;
  settings.lock(session.running);
  view.render(session.status);
  view.drawWaveforms(session.waveforms);
}

async function loadServerInfo() {
  try {
    const response = await fetch(new URL("api/info/", document.baseURI));
    if (!response.ok) throw new Error(`/api/info/ answered ${response.status}`);
    settings.applyServerInfo(await response.json());
  } catch (error) {
    if (session.running) return; // the session says what went wrong
    showProblem({ code: PageError.SERVER_UNREACHABLE, detail: String(error.message) });
    render();
  }
}

start.addEventListener("click", () => {
  if (!configure()) return render();
  history.replaceState(null, "", settings.query());
  session.start();
  render();
});
stop.addEventListener("click", () => session.stop());
session.addEventListener("update", render);

if (cannotStream) showProblem(cannotStream);
else configure();
render();
loadServerInfo();
