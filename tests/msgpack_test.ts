/**
 * The wire's msgpack codec (wire/msgpack.ts) against an independent implementation,
 * @msgpack/msgpack: the same bytes for every value the protocol sends, the same values back,
 * and refusals of what a hostile peer could send.
 */
import assert from "node:assert/strict";
import { decode as refDecode, encode as refEncode } from "@msgpack/msgpack";
import { MsgpackError } from "../wire/msgpack.ts";
import { decode } from "../wire/msgpack_decode.ts";
import { encodeArrayBinHead, encodeShared } from "../wire/msgpack_encode.ts";

const SAMPLES: [string, unknown][] = [
  ["small integers", [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]],
  ["negative integers", [
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -(2 ** 53) + 1,
  ]],
  ["floats", [1.5, -0.25, 1e300, NaN, Infinity, -Infinity]],
  ["ASCII strings of each header size", [
    "",
    "a",
    "x".repeat(31),
    "x".repeat(32),
    "x".repeat(300),
    "x".repeat(70000),
  ]],
  ["multi-byte strings", [
    "é".repeat(15),
    "é".repeat(16),
    "é".repeat(40),
    "😀".repeat(16),
    "日本".repeat(30),
    "é".repeat(40000),
  ]],
  ["nil and booleans", [null, true, false]],
  ["arrays of each header size", [
    [],
    [1, [2, [3]]],
    Array.from({ length: 16 }, (_, i) => i),
    new Array(70000).fill(0),
  ]],
  ["maps of each header size", [
    {},
    { a: 1, b: "c" },
    Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
  ]],
  ["binary of each header size", [
    new Uint8Array(0),
    new Uint8Array(255),
    new Uint8Array(256),
    new Uint8Array(70000).fill(7),
  ]],
  ["a call frame", [0, 2, "ls", { Path: "/X0123456789abcdef/a/b", Recursive: true, PostOrder: false }]],
  ["a handshake", {
    V: 1,
    Role: "client",
    Keyed: true,
    Target: "Q0123456789abcdef/812",
    Nonce: new Uint8Array(32),
  }],
];

Deno.test("encodeShared() writes the same bytes as @msgpack/msgpack", async (t) => {
  for (const [name, value] of SAMPLES) {
    await t.step(name, () => {
      assert.deepEqual(encodeShared(value), refEncode(value, { ignoreUndefined: true }));
    });
  }
});

Deno.test("decode() reads back what @msgpack/msgpack wrote", async (t) => {
  for (const [name, value] of SAMPLES) {
    await t.step(name, () => {
      const bytes = refEncode(value);
      assert.deepEqual(decode(bytes), refDecode(bytes));
    });
  }
});

Deno.test("encodeArrayBinHead() writes a data frame's bytes but for its payload", () => {
  for (const id of [1, 200, 70000, 2 ** 33]) {
    for (const length of [0, 255, 256, 65536, 70000]) {
      const payload = new Uint8Array(length).fill(5);
      const whole = refEncode([4, id, payload]);
      const head = encodeArrayBinHead([4, id], length);
      assert.deepEqual(head, whole.subarray(0, whole.length - length), `id ${id}, ${length} bytes`);
    }
  }
});

Deno.test("encodeShared() leaves out undefined properties and reuses its buffer", () => {
  assert.deepEqual(decode(encodeShared({ a: undefined, b: 2 })), { b: 2 });
  const first = encodeShared([1]);
  encodeShared([2]);
  assert.deepEqual(first, new Uint8Array([0x91, 2]), "the first result is a view of the shared buffer");
});

Deno.test("encodeShared() turns a lone surrogate into U+FFFD, as TextEncoder does", () => {
  const short = decode(encodeShared("a\ud800b"));
  const long = decode(encodeShared("a\ud800b".repeat(40)));
  assert.equal(short, "a\ufffdb");
  assert.equal(long, "a\ufffdb".repeat(40));
});

Deno.test("encodeShared() refuses values outside the protocol's subset", () => {
  for (const value of [() => 1, Symbol("s"), 1n, new Date(0), new Float32Array(1)]) {
    assert.throws(() => encodeShared(value), TypeError);
  }
  const cycle: unknown[] = [];
  cycle.push(cycle);
  assert.throws(() => encodeShared(cycle), /nested too deeply/);
});

Deno.test("decode() returns binary values as copies, so its input can be reused", () => {
  const bytes = new Uint8Array([0x92, 0xc4, 0x02, 9, 8, 0x01]);
  const [bin] = decode(bytes) as [Uint8Array];
  bytes[3] = 42;
  assert.deepEqual([...bin], [9, 8]);
});

Deno.test("decode() refuses malformed and hostile input", async (t) => {
  const cases: [string, number[]][] = [
    ["empty input", []],
    ["a truncated string", [0xa5, 0x61]],
    ["a truncated uint32", [0xce, 0, 0]],
    ["trailing bytes", [0x01, 0x02]],
    ["an array32 declaring 2^32-1 elements in 5 bytes", [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ["a map32 declaring more entries than bytes", [0xdf, 0, 0, 0, 3, 0xa1, 0x61, 0x01]],
    ["nested array headers", new Array(200).fill(0x91)],
    ["an extension type", [0xd4, 0x01, 0x00]],
    ["a timestamp extension", [0xd6, 0xff, 0, 0, 0, 0]],
    ["the never-used byte 0xc1", [0xc1]],
    ["a map key that is an array", [0x81, 0x90, 0x01]],
    ["the key __proto__", [0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x80]],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, () => assert.throws(() => decode(new Uint8Array(bytes)), MsgpackError));
  }
});
