/**
 * The byte-level fast paths of the package codec, each checked against the plain path it
 * replaces: `encodePackageParts` against `JSON.stringify`, the chunked base64 of body bytes
 * against the string codec, and `parsePackage`'s large-body shortcut against
 * `decodePackage(JSON.parse(...))`, on valid and hostile input.
 */
import assert from "node:assert/strict";
import { Either, Encoding } from "effect";
import {
  base64Length,
  decodeBase64StrictBytesInto,
  decodeBase64StrictInto,
  encodeBase64,
  encodeBase64Into,
  strictBase64Length,
  strictBase64LengthOfBytes,
} from "../../src/protocol/base64.ts";
import {
  buildPackage,
  type DecodedPackage,
  decodePackage,
  encodePackage,
  encodePackageParts,
  type PackageParts,
  parsePackage,
} from "../../src/protocol/package.ts";
import type { SecurityError } from "../../src/errors.ts";
import { prng, randomBytes } from "../_helpers.ts";

const utf8 = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true });
const latin1 = (text: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(text, (c) => c.charCodeAt(0));

// The codec converts 64 Ki characters (48 KiB) at a time: probe both sides of each boundary.
const CHUNK_CHARS = 64 * 1024;
const CHUNK_BYTES = 48 * 1024;
const SIZES = [
  0,
  1,
  2,
  3,
  4,
  CHUNK_BYTES - 1,
  CHUNK_BYTES,
  CHUNK_BYTES + 1,
  CHUNK_BYTES + 2,
  2 * CHUNK_BYTES - 2,
  2 * CHUNK_BYTES,
  3 * CHUNK_BYTES + 1,
  1024 * 1024,
];

Deno.test("encodeBase64Into() writes exactly the standard base64 text at every chunk boundary", () => {
  const next = prng(5);
  for (const n of SIZES) {
    const bytes = randomBytes(next, n);
    const out = new Uint8Array(base64Length(n) + 8).fill(0x21);
    const written = encodeBase64Into(bytes, out);
    assert.equal(written, base64Length(n), `size ${n}`);
    const text = fatal.decode(out.subarray(0, written));
    assert.equal(text, Encoding.encodeBase64(bytes), `size ${n}`);
    assert.equal(text, encodeBase64(bytes), `size ${n}`);
    assert.ok(out.subarray(written).every((b) => b === 0x21), `size ${n}: nothing past the end`);
  }
});

const randomParts = (next: () => number, sealedLength: number): PackageParts => ({
  wrappedKey: randomBytes(next, 512),
  nonce: randomBytes(next, 12),
  sealed: randomBytes(next, sealedLength),
});

Deno.test("encodePackageParts() is encodePackage(buildPackage()) byte for byte", () => {
  const next = prng(17);
  for (const n of SIZES) {
    const parts = randomParts(next, n + 16);
    const fast = encodePackageParts(parts);
    const plain = encodePackage(buildPackage(parts));
    assert.equal(fast.length, plain.length, `size ${n}`);
    assert.ok(fast.every((b, i) => b === plain[i]), `size ${n}: same bytes`);
    assert.deepEqual(JSON.parse(fatal.decode(fast)), buildPackage(parts), `size ${n}`);
  }
});

/** What the string codec says of `text`, read as strict UTF-8 the way a body would be. */
const referenceDecode = (text: Uint8Array): Uint8Array | undefined => {
  let s: string;
  try {
    s = fatal.decode(text);
  } catch {
    return undefined;
  }
  // A leading byte order mark is not base64: the slice of a body never strips one.
  if (text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf) s = `\uFEFF${s}`;
  const length = strictBase64Length(s);
  if (length === undefined) return undefined;
  const out = new Uint8Array(length);
  return decodeBase64StrictInto(s, out) ? out : undefined;
};

const bytesDecode = (text: Uint8Array): Uint8Array | undefined => {
  const length = strictBase64LengthOfBytes(text);
  if (length === undefined) return undefined;
  const out = new Uint8Array(length);
  return decodeBase64StrictBytesInto(text, out) ? out : undefined;
};

/** Puts `patch` over `text` at `at`, keeping the length unless `patch` runs past the end. */
const overwrite = (text: Uint8Array, at: number, patch: ArrayLike<number>): Uint8Array => {
  const out = text.slice();
  for (let i = 0; i < patch.length && at + i < out.length; i++) out[at + i] = patch[i]!;
  return out;
};

Deno.test("decodeBase64StrictBytesInto() accepts exactly what the string decoder accepts", () => {
  const next = prng(29);
  const patches: ReadonlyArray<ArrayLike<number>> = [
    latin1("="),
    latin1("=="),
    latin1("-"),
    latin1("_"),
    latin1(" "),
    latin1("\n"),
    latin1("\\"),
    latin1('"'),
    [0],
    [0x80],
    [0xff],
    [0xc3, 0xa9], // é: two bytes for one character
    [0xef, 0xbb, 0xbf], // a byte order mark
    [0xc3, 0xa9, 0xc3, 0xa9, 0xc3, 0xa9, 0xc3, 0xa9], // 8 bytes, 4 characters
    [0xed, 0xa0, 0x80], // an encoded lone surrogate
  ];
  let accepted = 0;
  let refused = 0;
  for (
    const n of [0, 1, 2, 3, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES + 2]
  ) {
    const text = latin1(encodeBase64(randomBytes(next, n)));
    const positions = new Set(
      [0, 1, 2, 3, text.length - 4, text.length - 2, text.length - 1, text.length >> 1]
        .concat([CHUNK_CHARS - 2, CHUNK_CHARS - 1, CHUNK_CHARS, CHUNK_CHARS + 1])
        .concat([2 * CHUNK_CHARS - 1, 2 * CHUNK_CHARS])
        .filter((p) => p >= 0 && p < text.length),
    );
    const variants: Uint8Array[] = [text, text.subarray(0, Math.max(0, text.length - 4))];
    for (let cut = 1; cut < 4 && cut <= text.length; cut++) {
      variants.push(text.subarray(0, text.length - cut));
    }
    for (const at of positions) {
      for (const patch of patches) variants.push(overwrite(text, at, patch));
      // The next letter of the alphabet: a valid text that decodes differently, or a
      // non-canonical last character.
      variants.push(overwrite(text, at, [text[at] === 0x41 ? 0x42 : 0x41]));
    }
    for (const variant of variants) {
      const expected = referenceDecode(variant);
      const actual = bytesDecode(variant);
      if (expected === undefined) {
        assert.equal(actual, undefined, `size ${n}: refused like the string decoder`);
        refused++;
      } else {
        assert.deepEqual(actual, expected, `size ${n}: same bytes`);
        accepted++;
      }
    }
  }
  // The cases must exercise both outcomes, or the comparison proves nothing.
  assert.ok(accepted > 20 && refused > 200, `${accepted} accepted, ${refused} refused`);
});

Deno.test("decodeBase64StrictBytesInto() refuses a target of the wrong length", () => {
  const text = latin1(encodeBase64(new Uint8Array([1, 2, 3, 4])));
  assert.equal(decodeBase64StrictBytesInto(text, new Uint8Array(3)), false);
  assert.equal(decodeBase64StrictBytesInto(text, new Uint8Array(5)), false);
  assert.equal(decodeBase64StrictBytesInto(text, new Uint8Array(4)), true);
  assert.equal(strictBase64LengthOfBytes(latin1("AAA")), undefined);
  assert.equal(strictBase64LengthOfBytes(latin1("")), 0);
});

// ---- parsePackage: the large-body shortcut against the plain parse ----

type Outcome = Either.Either<DecodedPackage, SecurityError>;

const notJsonMessage = (() => {
  const small = parsePackage(utf8.encode("{"), "pid");
  assert.ok(Either.isLeft(small));
  return small.left.message;
})();

/** The plain path: strict UTF-8, JSON.parse, decodePackage. */
const referenceParse = (body: Uint8Array): Outcome | "not-json" => {
  try {
    return decodePackage(JSON.parse(fatal.decode(body)), "pid");
  } catch {
    return "not-json";
  }
};

const assertSameOutcome = (body: Uint8Array, label: string): Outcome => {
  const expected = referenceParse(body);
  const actual = parsePackage(body, "pid");
  if (expected === "not-json") {
    assert.ok(Either.isLeft(actual), `${label}: refused`);
    assert.equal(actual.left.reason, "MalformedPackage", label);
    assert.equal(actual.left.message, notJsonMessage, label);
  } else if (Either.isLeft(expected)) {
    assert.ok(Either.isLeft(actual), `${label}: refused`);
    assert.equal(actual.left.reason, expected.left.reason, label);
    assert.equal(actual.left.message, expected.left.message, label);
  } else {
    assert.ok(Either.isRight(actual), `${label}: accepted`);
    assert.deepEqual(actual.right, expected.right, label);
  }
  return actual;
};

Deno.test("parsePackage() reads large bodies exactly as JSON.parse + decodePackage, hostile ones included", () => {
  const next = prng(41);
  let accepted = 0;
  let refused = 0;
  // 40 KiB crosses the shortcut's threshold in one base64 chunk; 200 KiB spans several.
  for (const n of [40 * 1024, 200 * 1024]) {
    const pkg = buildPackage(randomParts(next, n + 16));
    const json = JSON.stringify(pkg);
    const ct = pkg.encrypted_payload.ciphertext;
    const ctAt = json.indexOf(ct);
    const afterCt = ctAt + ct.length + 1; // just past the closing quote
    const withCt = (text: string) => json.replace(`"ciphertext":"${ct}"`, text);
    const payloadOf = (c: string) => JSON.stringify({ ...pkg.encrypted_payload, ciphertext: c });
    const decoy = encodeBase64(randomBytes(next, 48));
    const bodies: Array<[string, Uint8Array]> = [
      ["valid", utf8.encode(json)],
      ["byte order mark first", utf8.encode(`\uFEFF${json}`)],
      [
        "byte order mark after the ciphertext",
        utf8.encode(json.slice(0, afterCt) + "\uFEFF" + json.slice(afterCt)),
      ],
      [
        "byte order mark inside the ciphertext",
        utf8.encode(json.slice(0, ctAt + 8) + "\uFEFF" + json.slice(ctAt + 8)),
      ],
      ["spaces around the colon", utf8.encode(withCt(`"ciphertext" \n:\t "${ct}"`))],
      [
        "decoy ciphertext key first",
        utf8.encode(withCt(`"ciphertext":"${decoy}","ciphertext":"${ct}"`)),
      ],
      [
        "decoy ciphertext key last",
        utf8.encode(withCt(`"ciphertext":"${ct}","ciphertext":"${decoy}"`)),
      ],
      [
        "nested decoy before the payload",
        utf8.encode(`{"x":{"ciphertext":"${decoy}"},${json.slice(1)}`),
      ],
      ["ciphertext as a string value first", utf8.encode(`{"x":"ciphertext",${json.slice(1)}`)],
      [
        "duplicate payload, decoy last",
        utf8.encode(json.replace(/}$/, `,"encrypted_payload":${payloadOf(decoy)}}`)),
      ],
      [
        "unicode escape in the ciphertext",
        utf8.encode(withCt(`"ciphertext":"\\u00${ct.charCodeAt(0).toString(16)}${ct.slice(1)}"`)),
      ],
      ["escaped slash in the ciphertext", utf8.encode(withCt(`"ciphertext":"\\/${ct.slice(1)}"`))],
      ["escaped quote in the ciphertext", utf8.encode(withCt(`"ciphertext":"\\"${ct.slice(1)}"`))],
      ["non-ASCII in the ciphertext", utf8.encode(withCt(`"ciphertext":"é${ct.slice(2)}"`))],
      [
        "control character in the ciphertext",
        utf8.encode(withCt(`"ciphertext":"\u0001${ct.slice(1)}"`)),
      ],
      [
        "padding at a chunk boundary",
        utf8.encode(
          withCt(`"ciphertext":"${ct.slice(0, CHUNK_CHARS - 1)}=${ct.slice(CHUNK_CHARS)}"`),
        ),
      ],
      ["ciphertext one character short", utf8.encode(withCt(`"ciphertext":"${ct.slice(1)}"`))],
      ["empty ciphertext", utf8.encode(withCt(`"ciphertext":""`))],
      ["unterminated ciphertext", utf8.encode(json.slice(0, afterCt - 1))],
      ["non-ASCII text after the payload", utf8.encode(json.replace(/}$/, `,"note":"Grüße 🚀"}`))],
      ["ciphertext closed twice", utf8.encode(withCt(`"ciphertext":"${ct}""`))],
    ];
    const raw = utf8.encode(json);
    const at = (i: number, patch: number[]) => {
      const out = new Uint8Array(raw.length + patch.length);
      out.set(raw.subarray(0, i));
      out.set(patch, i);
      out.set(raw.subarray(i), i + patch.length);
      return out;
    };
    bodies.push(
      ["invalid byte before the ciphertext", at(3, [0xff])],
      ["invalid byte inside the ciphertext", at(ctAt + 100, [0xff])],
      ["invalid byte after the ciphertext", at(afterCt + 2, [0xff])],
      ["encoded lone surrogate after the ciphertext", at(afterCt + 2, [0xed, 0xa0, 0x80])],
      ["truncated character at the end", at(raw.length, [0xe2, 0x82])],
    );
    for (const [label, body] of bodies) {
      const outcome = assertSameOutcome(body, `${label} (${n} bytes)`);
      if (Either.isRight(outcome)) accepted++;
      else refused++;
    }
  }
  assert.ok(accepted >= 10 && refused >= 20, `${accepted} accepted, ${refused} refused`);
});

Deno.test("parsePackage() never hands a large ciphertext to JSON.parse", () => {
  const body = encodePackageParts(randomParts(prng(43), 256 * 1024));
  const parse = JSON.parse;
  let longest = 0;
  JSON.parse =
    ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      longest = Math.max(longest, text.length);
      return parse(text, reviver);
    }) as typeof JSON.parse;
  let result: Outcome;
  try {
    result = parsePackage(body, "pid");
  } finally {
    JSON.parse = parse;
  }
  assert.ok(Either.isRight(result));
  assert.equal(result.right.sealed.length, 256 * 1024);
  assert.ok(longest > 0 && longest < 2048, `JSON.parse saw ${longest} characters`);
});
