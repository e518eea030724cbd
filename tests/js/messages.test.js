/** The page's words for each error and close code: none of docs/protocol.md is left out. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  PageError,
  explain,
  microphoneError,
  pageCannotStream,
  reconnected,
  retrying,
} from "../../static/echo/messages.js";

const PROTOCOL_DOC = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
const ERRORS_SECTION = PROTOCOL_DOC.split("## Errors and close codes")[1].split("\n## ")[0];
/** Rows of the table of error and close codes: `| error code | close code | ...`. */
const ROWS = ERRORS_SECTION.split("\n")
  .filter((line) => /^\| (`\w+`|–) \| (\d{4}|–) \|/.test(line))
  .map((line) => line.split("|").map((cell) => cell.trim()));
const DOCUMENTED_ERRORS = ROWS.map(([, error]) => error.replaceAll("`", "")).filter(
  (error) => error !== "–",
);
/** Every four-digit close code the section names, in the table or in its text. */
const RANGE_ENDS = new Set([4000, 4999]); // "a code in 4000–4999": a range, not codes
const DOCUMENTED_CLOSES = [...new Set(ERRORS_SECTION.match(/\b[14]\d{3}\b/g).map(Number))].filter(
  (code) => !RANGE_ENDS.has(code),
);

const FALLBACK = /^(Error: |The connection closed with code )/;

describe("every code of docs/protocol.md has words of its own", () => {
  test("the table was read", () => {
    assert.ok(DOCUMENTED_ERRORS.length >= 11, DOCUMENTED_ERRORS);
    for (const code of [1000, 1005, 1006, 1009, 1011, 1012, 4001, 4502, 4509])
      assert.ok(DOCUMENTED_CLOSES.includes(code), `${code} in ${DOCUMENTED_CLOSES}`);
  });

  for (const code of DOCUMENTED_ERRORS) {
    test(`error ${code}`, () => {
      const { title, advice } = explain({ code, detail: "d" });
      assert.doesNotMatch(title, FALLBACK);
      assert.ok(advice.length > 0);
    });
  }

  for (const code of DOCUMENTED_CLOSES) {
    test(`close ${code}, with no error before it`, () => {
      const { title } = explain({ code: PageError.CONNECTION_CLOSED, detail: "" }, code);
      assert.doesNotMatch(title, FALLBACK);
    });
  }
});

describe("explain", () => {
  test("the error decides over the close code that follows it", () => {
    const tooMany = explain({ code: "too_many_messages", detail: "" }, 4429);
    const tooManyErrors = explain({ code: "too_many_errors", detail: "" }, 4429);
    assert.notEqual(tooMany.title, tooManyErrors.title);
  });

  test("errors that leave the session open are warnings, the rest errors", () => {
    for (const code of ["bad_frame", "rate_limited", "bad_message"])
      assert.equal(explain({ code }).severity, "warning", code);
    for (const code of ["busy", "idle_timeout", "not_reading", "server_unreachable"])
      assert.equal(explain({ code }).severity, "error", code);
  });

  test("the server's detail is passed on as it came", () => {
    const detail = "rate 100 is out of range; use an integer sample rate in Hz from 8000 to 48000";
    assert.equal(explain({ code: "bad_request", detail }, 4400).detail, detail);
  });

  test("an unknown code still says something, with its number", () => {
    assert.equal(
      explain({ code: "connection_closed" }, 4999).title,
      "The connection closed with code 4999",
    );
    assert.equal(explain({ code: "from_the_future" }).title, "Error: from_the_future");
  });

  test("a page that is not a secure context is told about https and localhost", () => {
    const { advice } = explain({ code: PageError.INSECURE_CONTEXT });
    assert.match(advice, /https:\/\//);
    assert.match(advice, /localhost/);
  });
});

describe("microphone errors", () => {
  const cases = [
    ["NotAllowedError", PageError.MICROPHONE_DENIED],
    ["SecurityError", PageError.MICROPHONE_DENIED],
    ["NotFoundError", PageError.MICROPHONE_ABSENT],
    ["OverconstrainedError", PageError.MICROPHONE_ABSENT],
    ["NotReadableError", PageError.MICROPHONE_BUSY],
    ["TypeError", PageError.START_FAILED],
  ];
  for (const [name, code] of cases) {
    test(`${name} is ${code}`, () => {
      assert.deepEqual(microphoneError({ name, message: "m" }), { code, detail: "m" });
    });
  }
});

describe("pages that cannot stream", () => {
  const capable = {
    isSecureContext: true,
    navigator: { mediaDevices: { getUserMedia() {} } },
    AudioWorkletNode: class {},
    WebSocket: class {},
  };

  test("a capable, secure page can", () => {
    assert.equal(pageCannotStream(capable), null);
  });

  test("an insecure page cannot, whatever it has", () => {
    const insecure = { ...capable, isSecureContext: false, location: { origin: "http://x.test" } };
    assert.equal(pageCannotStream(insecure).code, PageError.INSECURE_CONTEXT);
  });

  test("a browser without AudioWorklet is named as such", () => {
    const old = { ...capable, AudioWorkletNode: undefined };
    assert.deepEqual(pageCannotStream(old), {
      code: PageError.UNSUPPORTED_BROWSER,
      detail: "missing: AudioWorklet",
    });
  });
});

describe("reconnecting", () => {
  test("a server that went away restarted; a dropped connection is told as such", () => {
    for (const closeCode of [4502, 1001, 1012])
      assert.equal(
        reconnected({ closeCode, seconds: 2.345 }),
        "The server restarted; reconnected after 2.3 s without audio.",
      );
    assert.equal(
      reconnected({ closeCode: 1006, seconds: 0.5 }),
      "The connection dropped; reconnected after 0.5 s without audio.",
    );
  });

  test("the status line says why it reconnects, and which try it is on", () => {
    assert.equal(retrying({ closeCode: 4502, tries: 0 }), "the server is restarting");
    assert.equal(retrying({ closeCode: 1012, tries: 1 }), "the server is restarting, try 1");
    assert.equal(retrying({ closeCode: 1006, tries: 3 }), "the connection dropped, try 3");
  });

  test("giving up on a shutting down server says when to start again", () => {
    const { title, advice } = explain({ code: "shutting_down", detail: "d" }, 4502);
    assert.equal(title, "The server is shutting down");
    assert.match(advice, /Start again/);
  });
});
