/**
 * Differential check of the fast paths in `src/protocol` on the runtime it runs on, before any
 * number is trusted: every base64 codec available here (`native`, `node`, `portable`) and
 * `parsePackage` are compared with straightforward reference implementations (the previous
 * ones: an anchored regular expression plus effect's `Encoding`, and `JSON.parse` of the strict
 * UTF-8 text) on valid inputs and on thousands of mutated ones. Prints `N passed, 0 failed`;
 * exits non-zero on any difference.
 *
 * ```sh
 * deno run bench/verify_protocol.ts
 * node /tmp/verify_protocol.mjs   # bundled, as run_all.ts does
 * ```
 *
 * @module
 */
import process from "node:process";
import { Effect, Either, Encoding } from "effect";
import { makeHybridCipher } from "../src/crypto/hybrid_cipher.ts";
import { makeSecureBytes } from "../src/crypto/secure_bytes.ts";
import {
  type Base64Codec,
  base64Codecs,
  base64Length,
  decodeBase64Strict,
  decodeBase64StrictBytesInto,
  encodeBase64,
  encodeBase64Into,
  strictBase64Length,
  strictBase64LengthOfBytes,
} from "../src/protocol/base64.ts";
import {
  buildPackage,
  type DecodedPackage,
  decodePackage,
  encodePackageParts,
  parsePackage,
} from "../src/protocol/package.ts";

// ---- references ----
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const referenceTail = (s: string): boolean => {
  if (s.endsWith("==")) return (ALPHABET.indexOf(s[s.length - 3] ?? "A") & 0x0f) === 0;
  if (s.endsWith("=")) return (ALPHABET.indexOf(s[s.length - 2] ?? "A") & 0x03) === 0;
  return true;
};
const referenceDecode = (s: string): Uint8Array | undefined => {
  if (!STRICT_BASE64.test(s) || !referenceTail(s)) return undefined;
  const decoded = Encoding.decodeBase64(s);
  return Either.isRight(decoded) ? decoded.right : undefined;
};
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const referenceParse = (body: Uint8Array): string | DecodedPackage => {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(body));
  } catch {
    return "Cannot open package: body is not UTF-8 JSON";
  }
  const result = decodePackage(value, "p");
  return Either.isLeft(result) ? result.left.message : result.right;
};

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.length === b.length && a.every((x, i) => x === b[i]);
const samePackage = (a: string | DecodedPackage, b: string | DecodedPackage): boolean =>
  typeof a === "string" || typeof b === "string"
    ? a === b
    : sameBytes(a.wrappedKey, b.wrappedKey) && sameBytes(a.nonce, b.nonce) &&
      sameBytes(a.sealed, b.sealed) && a.processedAt === b.processedAt &&
      a.algorithm === b.algorithm;

let seed = 20240601;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};

let passed = 0;
let failed = 0;
const expect = (ok: boolean, what: () => string): void => {
  if (ok) passed++;
  else {
    failed++;
    if (failed <= 10) console.error(`DIFFERENCE: ${what()}`);
  }
};

// ---- base64 ----
const codecs: Array<[string, Base64Codec]> = [];
if (base64Codecs.native !== undefined) codecs.push(["native", base64Codecs.native]);
if (base64Codecs.node !== undefined) codecs.push(["node", base64Codecs.node]);
codecs.push(["portable", base64Codecs.portable]);

const JUNK = [" ", "\n", "\r", "\t", "\f", "-", "_", "=", "==", "!", "*", ".", "\u0141", "\u00c1"]
  .concat(["\u0100", "\ud83d\ude00", "\u0000", "\u00ff", "A", "/", "+", "\u0141\u0141"]);

const checkDecode = (s: string): void => {
  const want = referenceDecode(s);
  expect(sameBytes(want, decodeBase64Strict(s)), () => `decodeBase64Strict(${JSON.stringify(s)})`);
  const length = strictBase64Length(s);
  for (const [name, codec] of codecs) {
    let got: Uint8Array | undefined;
    if (length !== undefined) {
      const target = new Uint8Array(length);
      got = codec.decodeInto(s, target) ? target : undefined;
    }
    expect(sameBytes(want, got), () => `${name}.decodeInto(${JSON.stringify(s.slice(0, 60))})`);
  }
};

for (let iteration = 0; iteration < 4000; iteration++) {
  const bytes = Uint8Array.from({ length: rnd(40) }, () => rnd(256));
  const good = Encoding.encodeBase64(bytes);
  expect(encodeBase64(bytes) === good, () => `encodeBase64 of ${bytes.length} bytes`);
  for (const [name, codec] of codecs) {
    expect(codec.encode(bytes) === good, () => `${name}.encode of ${bytes.length} bytes`);
  }
  checkDecode(good);
  for (let m = 0; m < 6; m++) {
    const pos = rnd(good.length + 1);
    const junk = JUNK[rnd(JUNK.length)]!;
    const mutated = [
      good.slice(0, pos) + junk + good.slice(pos),
      good.slice(0, pos) + junk + good.slice(pos + 1),
      good.slice(0, pos) + good.slice(pos + 1),
      good.replace(/=+$/, ""),
      good.slice(0, pos) + ALPHABET[rnd(64)] + good.slice(pos + 1),
      good + junk + JUNK[rnd(JUNK.length)],
    ][m]!;
    checkDecode(mutated);
  }
}
const SMALL = ["A", "Q", "B", "/", "=", " ", "-", "\u0141"];
const every = (prefix: string, depth: number): void => {
  checkDecode(prefix);
  if (depth > 0) { for (const c of SMALL) every(prefix + c, depth - 1); }
};
every("", 5);
const big = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31) & 255);
for (const [name, codec] of codecs) {
  const view = big.subarray(7, 90_001);
  const text = codec.encode(view);
  expect(text === Encoding.encodeBase64(view), () => `${name}.encode of a subarray`);
  const host = new Uint8Array(view.length + 20);
  const target = host.subarray(10, 10 + view.length);
  expect(
    codec.decodeInto(text, target) && sameBytes(target, view) && host[9] === 0 &&
      host[10 + view.length] === 0,
    () => `${name}.decodeInto a subarray`,
  );
}

// ---- base64 held as body bytes (encodeBase64Into, decodeBase64StrictBytesInto) ----
const asciiText = (bytes: Uint8Array): string | undefined =>
  bytes.every((b) => b < 0x80) ? new TextDecoder().decode(bytes) : undefined;
const checkBytesDecode = (text: Uint8Array, what: () => string): void => {
  const ascii = asciiText(text);
  const want = ascii === undefined ? undefined : referenceDecode(ascii);
  const length = strictBase64LengthOfBytes(text);
  const decoders: Array<[string, (text: Uint8Array, target: Uint8Array) => boolean]> = [
    ["decodeBase64StrictBytesInto", decodeBase64StrictBytesInto],
    ...codecs.map(([name, codec]): [string, Base64Codec["decodeBytesInto"]] => [
      `${name}.decodeBytesInto`,
      codec.decodeBytesInto,
    ]),
  ];
  for (const [name, decode] of decoders) {
    let got: Uint8Array | undefined;
    if (length !== undefined) {
      const target = new Uint8Array(length);
      got = decode(text, target) ? target : undefined;
    }
    expect(sameBytes(want, got), () => `${name}: ${what()}`);
  }
};
// 48 KiB of bytes (64 Ki characters) per chunk: both sides of the first boundaries.
const BOUNDARY_SIZES = [0, 1, 2, 3, 49_151, 49_152, 49_153, 49_154, 98_303, 98_304, 98_306];
const BYTE_JUNK = [[0x3d], [0x3d, 0x3d], [0x20], [0x0a], [0x2d], [0x5f], [0x00], [0x80], [0xff]]
  .concat([[0xc3, 0xa9], [0xef, 0xbb, 0xbf], [0x22], [0x5c]]);
for (const n of BOUNDARY_SIZES) {
  const bytes = Uint8Array.from({ length: n }, () => rnd(256));
  const good = Encoding.encodeBase64(bytes);
  const out = new Uint8Array(base64Length(n) + 4).fill(0x21);
  const written = encodeBase64Into(bytes, out);
  expect(
    written === good.length && new TextDecoder().decode(out.subarray(0, written)) === good &&
      out[written] === 0x21,
    () => `encodeBase64Into of ${n} bytes`,
  );
  for (const [name, codec] of codecs) {
    const host = new Uint8Array(base64Length(n) + 8).fill(0x21);
    const into = host.subarray(3, host.length - 1);
    const count = codec.encodeInto(bytes, into);
    expect(
      count === good.length && new TextDecoder().decode(into.subarray(0, count)) === good &&
        host[2] === 0x21 && host[3 + count] === 0x21,
      () => `${name}.encodeInto of ${n} bytes`,
    );
  }
  const parts = {
    wrappedKey: Uint8Array.from({ length: 512 }, () => rnd(256)),
    nonce: Uint8Array.from({ length: 12 }, () => rnd(256)),
    sealed: new Uint8Array(n + 16).map(() => rnd(256)),
  };
  expect(
    sameBytes(
      encodePackageParts(parts),
      new TextEncoder().encode(JSON.stringify(buildPackage(parts))),
    ),
    () => `encodePackageParts with ${n} bytes of ciphertext`,
  );
  const text = new TextEncoder().encode(good);
  checkBytesDecode(text, () => `decodeBase64StrictBytesInto of ${n} bytes`);
  const positions = [0, 1, 65_534, 65_535, 65_536, 65_537, 131_071, 131_072, text.length - 1]
    .concat([text.length - 2, rnd(text.length + 1)])
    .filter((p) => p >= 0 && p < text.length);
  for (const pos of positions) {
    for (const junk of BYTE_JUNK) {
      const replaced = text.slice();
      replaced.set(junk.slice(0, text.length - pos), pos);
      checkBytesDecode(replaced, () => `decodeBase64StrictBytesInto, ${junk} at ${pos} of ${n}`);
      const inserted = new Uint8Array(text.length + junk.length);
      inserted.set(text.subarray(0, pos));
      inserted.set(junk, pos);
      inserted.set(text.subarray(pos), pos + junk.length);
      checkBytesDecode(
        inserted,
        () => `decodeBase64StrictBytesInto, ${junk} put at ${pos} of ${n}`,
      );
    }
  }
}

// Every byte outside ASCII, in a short text and at a chunk boundary of a long one.
{
  const short = new TextEncoder().encode(Encoding.encodeBase64(Uint8Array.of(1, 2, 3, 4, 5, 6)));
  const long = new TextEncoder().encode(
    Encoding.encodeBase64(Uint8Array.from({ length: 98_304 }, () => rnd(256))),
  );
  for (let byte = 0x80; byte <= 0xff; byte++) {
    for (const [text, pos] of [[short, 0], [short, 5], [long, 65_535], [long, 65_536]] as const) {
      const replaced = text.slice();
      replaced[pos] = byte;
      checkBytesDecode(replaced, () => `byte ${byte} at ${pos} of ${text.length}`);
    }
  }
}

// ---- parsePackage ----
const { publicKey } = await crypto.subtle.generateKey(
  {
    name: "RSA-OAEP",
    hash: "SHA-256",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  },
  false,
  ["wrapKey", "unwrapKey"],
);
const cipher = makeHybridCipher(makeSecureBytes());
const sealed = await Effect.runPromise(cipher.seal(new Uint8Array(30_000).fill(65), publicKey));
const base = JSON.stringify({ ...sealed, processed_at: 12 });
// A ciphertext over several base64 chunks: mutations at and around a chunk boundary.
const large = JSON.stringify({
  ...(await Effect.runPromise(cipher.seal(new Uint8Array(200_000).fill(66), publicKey))),
  processed_at: 12,
});
const boundary = large.indexOf('"ciphertext":"') + '"ciphertext":"'.length + 65_536;
const utf8 = new TextEncoder();
const checkBody = (body: Uint8Array): void => {
  const got = parsePackage(body, "p");
  const want = referenceParse(body);
  expect(
    samePackage(want, Either.isLeft(got) ? got.left.message : got.right),
    () => `parsePackage(${JSON.stringify(new TextDecoder().decode(body.subarray(0, 100)))}…)`,
  );
};
const EDITS = ["\\", '"', '\\"', " ", "\n", "\u0001", "\u00e9", "\ud800", "=", "-", "}", "{", ","]
  .concat([":", '"ciphertext":"QUJD",', "\\u0041", "\ufeff", "\ufffd"])
  .concat([
    '"encrypted_payload":{"ciphertext":"","nonce":"AAAAAAAAAAAAAAAA",' +
    '"tag":"AAAAAAAAAAAAAAAAAAAAAA=="},',
  ]);
for (
  const text of [
    base,
    `\ufeff${base}`,
    base.replace('"ciphertext"', '"ciphertext" : '),
    base.replace('"ciphertext":', '"ciphertext":"AAAA","ciphertext":'),
    base.replace('{"version"', '{"x":"\\"ciphertext\\":\\"AAAA\\"","version"'),
    base.replace('{"version"', '{"x":{"ciphertext":"AAAA"},"version"'),
    base.replace('"tag"', '"ciphertext":"QUJD","tag"'),
  ]
) checkBody(utf8.encode(text));
checkBody(utf8.encode(large));
for (const edit of ["=", "==", "\u00e9", "\\", '"', " ", "\ufeff", "A"]) {
  for (const offset of [-2, -1, 0, 1]) {
    const pos = boundary + offset;
    checkBody(utf8.encode(large.slice(0, pos) + edit + large.slice(pos + 1)));
    checkBody(utf8.encode(large.slice(0, pos) + edit + large.slice(pos)));
  }
}
const at = base.indexOf('"ciphertext"');
for (let iteration = 0; iteration < 2000; iteration++) {
  let text = base;
  for (let k = 1 + rnd(3); k > 0; k--) {
    const pos = rnd(4) === 0 ? rnd(text.length) : Math.max(0, at + rnd(40) - 10);
    const edit = EDITS[rnd(EDITS.length)]!;
    const kind = rnd(3);
    text = kind === 0
      ? text.slice(0, pos) + edit + text.slice(pos)
      : kind === 1
      ? text.slice(0, pos) + edit + text.slice(pos + 1)
      : text.slice(0, pos) + text.slice(pos + 1 + rnd(3));
  }
  checkBody(utf8.encode(text));
}
const good = utf8.encode(base);
for (let iteration = 0; iteration < 300; iteration++) {
  const body = good.slice();
  body[rnd(body.length)] = 0x80 + rnd(128);
  checkBody(body);
}

const codecNames = codecs.map(([name]) => name).join(", ");
console.log(`verify_protocol: base64 codecs ${codecNames} (active: ${base64Codecs.active})`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
