/** The browser's protocol module: PCM bytes ↔ samples, session URLs and server messages. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { decodeFrame, encodeFrame, parseMessage, sessionUrl } from "../../static/echo/protocol.js";

/** The bytes of an ArrayBuffer, to compare with golden vectors. */
function bytesOf(buffer) {
  return [...new Uint8Array(buffer)];
}

/** Float32 samples with the given bit patterns. */
function floatsFromBits(bits) {
  return new Float32Array(new Uint32Array(bits).buffer);
}

const LSB = 1 / 32768; // one s16 step

describe("s16 frames", () => {
  test("every int16 value survives decode then encode exactly", () => {
    const every = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const bytes = new Uint8Array(every.buffer); // little-endian, as on every platform Node runs on
    assert.deepEqual(bytesOf(encodeFrame(decodeFrame(every.buffer, "s16"), "s16")), [...bytes]);
  });

  test("decode divides by 32768, reading little-endian bytes", () => {
    const bytes = new Uint8Array([0x00, 0x80, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0xff, 0x7f])
      .buffer;
    assert.deepEqual(decodeFrame(bytes, "s16"), new Float32Array([-1, -LSB, 0, LSB, 32767 * LSB]));
  });

  const golden = [
    ["half a step rounds to the even 0", 0.5 * LSB, [0x00, 0x00]],
    ["minus half a step rounds to the even 0", -0.5 * LSB, [0x00, 0x00]],
    ["a step and a half rounds to the even 2", 1.5 * LSB, [0x02, 0x00]],
    ["minus a step and a half rounds to the even -2", -1.5 * LSB, [0xfe, 0xff]],
    ["two and a half steps round to the even 2", 2.5 * LSB, [0x02, 0x00]],
    ["minus two and a half steps round to the even -2", -2.5 * LSB, [0xfe, 0xff]],
    ["a little over half a step rounds up to 1", 0.5000001 * LSB, [0x01, 0x00]],
    ["1.0 clips to 32767", 1.0, [0xff, 0x7f]],
    ["-1.0 is -32768 exactly", -1.0, [0x00, 0x80]],
    ["2.0 clips to 32767", 2.0, [0xff, 0x7f]],
    ["-2.0 clips to -32768", -2.0, [0x00, 0x80]],
    ["+Infinity clips to 32767", Number.POSITIVE_INFINITY, [0xff, 0x7f]],
    ["-Infinity clips to -32768", Number.NEGATIVE_INFINITY, [0x00, 0x80]],
    ["NaN becomes 0", Number.NaN, [0x00, 0x00]],
    ["-0 becomes 0", -0, [0x00, 0x00]],
    ["0x1234 steps is little-endian 34 12", 0x1234 * LSB, [0x34, 0x12]],
  ];
  for (const [behaviour, sample, bytes] of golden) {
    test(`encode: ${behaviour}`, () => {
      assert.deepEqual(bytesOf(encodeFrame(new Float32Array([sample]), "s16")), bytes);
    });
  }

  for (const length of [1, 3, 5]) {
    test(`decode refuses ${length} bytes: not whole s16 samples`, () => {
      assert.throws(() => decodeFrame(new ArrayBuffer(length), "s16"), RangeError);
    });
  }
});

describe("f32 frames", () => {
  const special = {
    "-0": 0x80000000,
    "the smallest subnormal": 0x00000001,
    "the largest subnormal": 0x007fffff,
    "a negative subnormal": 0x807fffff,
    "the largest float32": 0x7f7fffff,
    "+Infinity": 0x7f800000,
    "-Infinity": 0xff800000,
    "1.0": 0x3f800000,
    "-1.5": 0xbfc00000,
  };

  test("encode then decode keeps every non-NaN float32 bit for bit, incl. -0, subnormals and ±Infinity", () => {
    const bits = Object.values(special);
    const samples = floatsFromBits(bits);
    assert.deepEqual(
      [...new Uint32Array(decodeFrame(encodeFrame(samples, "f32"), "f32").buffer)],
      bits,
    );
  });

  test("encode writes each sample as its own four bytes, little-endian", () => {
    assert.deepEqual(
      bytesOf(encodeFrame(new Float32Array([1, -0]), "f32")),
      [0, 0, 0x80, 0x3f, 0, 0, 0, 0x80],
    );
  });

  test("decode reads little-endian bytes", () => {
    assert.deepEqual(
      decodeFrame(new Uint8Array([0, 0, 0xc0, 0xbf]).buffer, "f32"),
      new Float32Array([-1.5]),
    );
  });

  test("a NaN stays a NaN, whatever its bits (the engine may quiet a signalling NaN)", (t) => {
    const bits = [0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0xffffffff];
    const decoded = decodeFrame(encodeFrame(floatsFromBits(bits), "f32"), "f32");
    const hex = (word) => word.toString(16).padStart(8, "0");
    t.diagnostic(`in ${bits.map(hex)} out ${[...new Uint32Array(decoded.buffer)].map(hex)}`);
    assert.ok(decoded.every(Number.isNaN));
  });

  for (const length of [1, 2, 3, 5, 6, 7]) {
    test(`decode refuses ${length} bytes: not whole f32 samples`, () => {
      assert.throws(() => decodeFrame(new ArrayBuffer(length), "f32"), RangeError);
    });
  }
});

describe("either format", () => {
  for (const [format, width] of [
    ["f32", 4],
    ["s16", 2],
  ]) {
    test(`${format}: encode gives ${width} bytes a sample, and no bytes decode to no samples`, () => {
      assert.equal(encodeFrame(new Float32Array(5), format).byteLength, 5 * width);
      assert.deepEqual(decodeFrame(new ArrayBuffer(0), format), new Float32Array(0));
    });
  }

  for (const format of ["f64", "S16", "", undefined]) {
    test(`refuses the unknown format ${JSON.stringify(format)} both ways`, () => {
      assert.throws(() => encodeFrame(new Float32Array(1), format), TypeError);
      assert.throws(() => decodeFrame(new ArrayBuffer(4), format), TypeError);
    });
  }
});

describe("sessionUrl", () => {
  test("http becomes ws", () => {
    assert.equal(sessionUrl("http://example.com", 16384), "ws://example.com/ws/echo/16384/");
  });

  test("https becomes wss", () => {
    assert.equal(sessionUrl("https://example.com/", 16384), "wss://example.com/ws/echo/16384/");
  });

  test("ws stays ws", () => {
    assert.equal(sessionUrl("ws://example.com", 16384), "ws://example.com/ws/echo/16384/");
  });

  test("wss stays wss", () => {
    assert.equal(sessionUrl("wss://example.com", 48000), "wss://example.com/ws/echo/48000/");
  });

  test("a port is kept", () => {
    assert.equal(sessionUrl("http://127.0.0.1:8000/", 16384), "ws://127.0.0.1:8000/ws/echo/16384/");
  });

  test("an IPv6 host keeps its brackets", () => {
    assert.equal(sessionUrl("http://[::1]:8000/", 16384), "ws://[::1]:8000/ws/echo/16384/");
  });

  test("a path prefix is kept", () => {
    assert.equal(
      sessionUrl("https://example.com/audio", 16384),
      "wss://example.com/audio/ws/echo/16384/",
    );
  });

  test("a prefix's trailing slashes are not doubled", () => {
    assert.equal(
      sessionUrl("https://example.com/audio//", 16384),
      "wss://example.com/audio/ws/echo/16384/",
    );
  });

  test("the page's query and fragment are left behind", () => {
    assert.equal(
      sessionUrl("http://example.com/?debug=1#top", 16384),
      "ws://example.com/ws/echo/16384/",
    );
  });

  test("format alone goes in the query", () => {
    assert.equal(
      sessionUrl("http://example.com", 16384, { format: "s16" }),
      "ws://example.com/ws/echo/16384/?format=s16",
    );
  });

  test("processor alone goes in the query", () => {
    assert.equal(
      sessionUrl("http://example.com", 16384, { processor: "echo" }),
      "ws://example.com/ws/echo/16384/?processor=echo",
    );
  });

  test("format comes before processor", () => {
    assert.equal(
      sessionUrl("http://example.com", 16384, { processor: "echo", format: "f32" }),
      "ws://example.com/ws/echo/16384/?format=f32&processor=echo",
    );
  });

  test("parameters are escaped", () => {
    assert.equal(
      sessionUrl("http://example.com", 16384, { processor: "a b&c" }),
      "ws://example.com/ws/echo/16384/?processor=a+b%26c",
    );
  });

  test("without params the server's defaults apply", () => {
    assert.equal(sessionUrl("http://example.com", 16384), "ws://example.com/ws/echo/16384/");
  });

  for (const base of ["ftp://example.com", "file:///tmp/index.html"]) {
    test(`refuses a base that is not http(s) or ws(s): ${base}`, () => {
      assert.throws(() => sessionUrl(base, 16384), TypeError);
    });
  }

  test("refuses a base that is not an absolute URL", () => {
    assert.throws(() => sessionUrl("example.com", 16384), TypeError);
  });
});

describe("parseMessage", () => {
  test("gives back an object with a string type", () => {
    const text = '{"type": "ready", "rate": 16384, "accepts": ["ping"]}';
    assert.deepEqual(parseMessage(text), { type: "ready", rate: 16384, accepts: ["ping"] });
  });

  const refused = {
    "an array": '[{"type": "ready"}]',
    null: "null",
    "a number": "42",
    "a string": '"ready"',
    "a boolean": "true",
    "an object without a type": '{"rate": 16384}',
    "an object whose type is not a string": '{"type": 1}',
    "an object whose type is null": '{"type": null}',
    "text that is not JSON": "{type: ready}",
    "an empty string": "",
  };
  for (const [what, text] of Object.entries(refused)) {
    test(`gives null for ${what}`, () => {
      assert.equal(parseMessage(text), null);
    });
  }
});
