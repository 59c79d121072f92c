/**
 * Runtime-neutral cases for the base64 codecs (no Deno API): every codec available on the
 * runtime (`native`, `node`, `portable`) must give the same text as effect's `Encoding` and
 * accept and refuse exactly the same strings and byte strings as the portable codec, hostile
 * ones included. Run in-process by `base64_codecs_test.ts` under Deno, and bundled under Node 20,
 * Node 24 and Bun, where the `node` and `native` codecs take other paths.
 *
 * @module
 */
import * as Either from "effect/Either";
import * as Encoding from "effect/Encoding";
import { decodePackage, encodePackageParts, parsePackage } from "../../src/protocol/package.ts";
import {
  type Base64Codec,
  base64Codecs,
  base64Length,
  strictBase64Length,
  strictBase64LengthOfBytes,
} from "../../src/protocol/base64.ts";

/** What a run found. */
export interface CodecReport {
  /** The codecs compared, the active one first. */
  readonly codecs: ReadonlyArray<string>;
  /** Cases checked. */
  readonly checked: number;
  /** Cases where a codec differs (at most 20 listed). */
  readonly failures: ReadonlyArray<string>;
  /** How many hostile inputs every codec refused (each must be refused by all). */
  readonly refused: number;
  /** Large bodies `parsePackage` read exactly as `decodePackage(JSON.parse(...))` did. */
  readonly bodies: number;
}

/** Standard base64 strings that are not canonical: every codec must refuse every one. */
export const HOSTILE_STRINGS: ReadonlyArray<string> = [
  "AAEC\n",
  "AA\r\nEC",
  " AAEC",
  "AAEC ",
  "AA EC",
  "AAE\t",
  "AAEC\f",
  "_-8=",
  "/-8=",
  "AA-C",
  "AA_C",
  "/w",
  "/+8",
  "/w=",
  "/w===",
  "=AAA",
  "A=AA",
  "AA=A",
  "AA==AAAA",
  "/x==",
  "/+9=",
  "AAB=",
  "AAEC====",
  "@@@@",
  "ÄAEC",
  "\u0141AEC", // low byte 0x41 ("A"): a decoder that truncates would accept it
  "AA\u0141C",
  "AAE\u0100",
  "AAEC\u0000",
  "\ud83d\ude00AA",
  "\ufeffAAEC",
  "AAEC\ufeff",
];

let seed = 7;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};
const bytesOf = (n: number): Uint8Array<ArrayBuffer> =>
  Uint8Array.from({ length: n }, () => rnd(256));
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.length === b.length && a.every((x, i) => x === b[i]);
const ascii = new TextEncoder();

const decodeString = (codec: Base64Codec, s: string): Uint8Array | undefined => {
  const length = strictBase64Length(s);
  if (length === undefined) return undefined;
  const target = new Uint8Array(length);
  return codec.decodeInto(s, target) ? target : undefined;
};
const decodeBytes = (codec: Base64Codec, text: Uint8Array): Uint8Array | undefined => {
  const length = strictBase64LengthOfBytes(text);
  if (length === undefined) return undefined;
  const target = new Uint8Array(length);
  return codec.decodeBytesInto(text, target) ? target : undefined;
};

/**
 * Runs every case against every codec available here.
 *
 * @returns What was found.
 */
export const runCodecCases = (): CodecReport => {
  const all: Array<[string, Base64Codec]> = [];
  if (base64Codecs.native !== undefined) all.push(["native", base64Codecs.native]);
  if (base64Codecs.node !== undefined) all.push(["node", base64Codecs.node]);
  all.push(["portable", base64Codecs.portable]);
  all.sort(([a], [b]) => (a === base64Codecs.active ? -1 : b === base64Codecs.active ? 1 : 0));
  const reference = base64Codecs.portable;
  const failures: string[] = [];
  let checked = 0;
  let refused = 0;
  const check = (ok: boolean, what: () => string): void => {
    checked++;
    if (!ok && failures.length < 20) failures.push(what());
  };

  // Encoding, as strings and into body bytes, around the 48 KiB chunks of the node codec.
  const sizes = [0, 1, 2, 3, 4, 5, 47, 48, 49, 255, 49_151, 49_152, 49_153, 98_304, 98_305];
  for (const n of sizes) {
    const bytes = bytesOf(n);
    const want = Encoding.encodeBase64(bytes);
    for (const [name, codec] of all) {
      check(codec.encode(bytes) === want, () => `${name}.encode of ${n} bytes`);
      const host = new Uint8Array(base64Length(n) + 2).fill(0x21);
      const out = host.subarray(1, host.length - 1);
      const written = codec.encodeInto(bytes, out);
      check(
        written === want.length && same(out, ascii.encode(want)) && host[0] === 0x21 &&
          host[host.length - 1] === 0x21,
        () => `${name}.encodeInto of ${n} bytes`,
      );
      check(same(decodeString(codec, want), bytes), () => `${name}.decodeInto of ${n} bytes`);
      check(
        same(decodeBytes(codec, ascii.encode(want)), bytes),
        () => `${name}.decodeBytesInto of ${n} bytes`,
      );
    }
  }

  // Hostile strings, as they are and inside a long valid text.
  const long = Encoding.encodeBase64(bytesOf(3000));
  // (A hostile string put over valid characters only where it brings a character outside the
  // alphabet: "/w" over two of them is valid.)
  const strings = [
    ...HOSTILE_STRINGS,
    ...HOSTILE_STRINGS.map((h) => `${long}${h}`),
    ...HOSTILE_STRINGS.filter((h) => /[^A-Za-z0-9+/]/.test(h))
      .map((h) => `${long.slice(0, 2000)}${h}${long.slice(2000 + h.length)}`),
  ];
  for (const s of strings) {
    for (const [name, codec] of all) {
      check(
        decodeString(codec, s) === undefined,
        () => `${name} accepts ${JSON.stringify(s.length > 40 ? `…${s.slice(-40)}` : s)}`,
      );
    }
    refused++;
  }

  // Hostile bytes: every byte outside the alphabet, at the start, the middle, the end and on
  // both sides of the node codec's 64 Ki-character chunk boundary.
  const short = ascii.encode(Encoding.encodeBase64(bytesOf(30)));
  const chunked = ascii.encode(Encoding.encodeBase64(bytesOf(98_304)));
  const alphabet = new Set(
    ascii.encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
  );
  for (let byte = 0; byte < 256; byte++) {
    if (alphabet.has(byte)) continue;
    for (
      const [text, at] of [[short, 0], [short, 17], [short, 39], [chunked, 65_535], [
        chunked,
        65_536,
      ]] as const
    ) {
      const mutated = text.slice();
      mutated[at] = byte;
      // "=" is padding: valid in the last two places only, and short of canonical there.
      const want = decodeBytes(reference, mutated);
      for (const [name, codec] of all) {
        const got = decodeBytes(codec, mutated);
        check(same(got, want), () => `${name}.decodeBytesInto, byte ${byte} at ${at}`);
        if (byte !== 0x3d) {
          check(got === undefined, () => `${name}.decodeBytesInto accepts byte ${byte} at ${at}`);
        }
      }
      if (byte !== 0x3d) refused++;
    }
  }

  // Random mutations of strings and bytes: every codec agrees with the portable one.
  const JUNK = [" ", "\n", "-", "_", "=", "==", "!", "\u0141", "\u00c1", "\u00ff", "\u0000", "A"];
  for (let i = 0; i < 2000; i++) {
    const good = Encoding.encodeBase64(bytesOf(rnd(40)));
    const pos = rnd(good.length + 1);
    const junk = JUNK[rnd(JUNK.length)]!;
    const mutated = rnd(2) === 0
      ? good.slice(0, pos) + junk + good.slice(pos)
      : good.slice(0, pos) + junk + good.slice(pos + 1);
    const want = decodeString(reference, mutated);
    const wantBytes = decodeBytes(
      reference,
      Uint8Array.from(mutated, (c) => c.charCodeAt(0) & 0xff),
    );
    for (const [name, codec] of all) {
      check(
        same(decodeString(codec, mutated), want),
        () => `${name}.decodeInto(${JSON.stringify(mutated)})`,
      );
      const asBytes = Uint8Array.from(mutated, (c) => c.charCodeAt(0) & 0xff);
      check(
        same(decodeBytes(codec, asBytes), wantBytes),
        () => `${name}.decodeBytesInto(${JSON.stringify(mutated)} as Latin-1)`,
      );
    }
  }
  // parsePackage's large-body path finds the ciphertext's closing quote its own way per runtime
  // (Buffer's memchr on Node and Bun, string search elsewhere): quotes, escapes and bytes outside
  // ASCII put before, at and after its 64 KiB search chunks must give what JSON.parse gives.
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const referenceParse = (body: Uint8Array): string => {
    let value: unknown;
    try {
      value = JSON.parse(fatal.decode(body));
    } catch {
      return "Cannot open package: body is not UTF-8 JSON";
    }
    const result = decodePackage(value, "p");
    return Either.isLeft(result)
      ? result.left.message
      : Array.from(result.right.sealed.subarray(0, 64)).join(",") +
        `/${result.right.sealed.length}`;
  };
  const fast = (body: Uint8Array): string => {
    const result = parsePackage(body, "p");
    if (Either.isLeft(result)) return result.left.message;
    // A body JSON.parse refuses is refused by both with the same message (checked above).
    return Array.from(result.right.sealed.subarray(0, 64)).join(",") +
      `/${result.right.sealed.length}`;
  };
  /** The longest text `JSON.parse` was given while `parsePackage(body)` ran. */
  const longestJsonParse = (body: Uint8Array): number => {
    const parse = JSON.parse;
    let longest = 0;
    JSON.parse =
      ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
        longest = Math.max(longest, text.length);
        return parse(text, reviver);
      }) as typeof JSON.parse;
    try {
      parsePackage(body, "p");
    } finally {
      JSON.parse = parse;
    }
    return longest;
  };
  const pkg = encodePackageParts({
    wrappedKey: bytesOf(512),
    nonce: bytesOf(12),
    sealed: bytesOf(150_000 + 16),
  });
  const start = pkg.indexOf(0x3a, pkg.indexOf(0x63)) + 2; // after `"ciphertext":"`
  let bodies = 0;
  const EDITS: ReadonlyArray<ReadonlyArray<number>> = [[0x22], [0x5c, 0x22], [0xc3, 0xa9], [0x80], [
    0xe2,
    0x82,
  ], [0x22, 0x2c, 0x22, 0x78, 0x22, 0x3a, 0x22]];
  for (const offset of [0, 100, 65_534, 65_535, 65_536, 65_537, 131_072, 199_999]) {
    for (const edit of EDITS) {
      const body = new Uint8Array(pkg.length + edit.length);
      body.set(pkg.subarray(0, start + offset));
      body.set(edit, start + offset);
      body.set(pkg.subarray(start + offset), start + offset + edit.length);
      const want = referenceParse(body);
      check(fast(body) === want, () => `parsePackage, bytes ${edit} at ${offset}: not ${want}`);
      bodies++;
    }
  }
  check(fast(pkg) === referenceParse(pkg) && !fast(pkg).startsWith("Cannot"), () => "parsePackage");
  // The fast path was taken: JSON.parse never saw the ciphertext.
  check(longestJsonParse(pkg) < 2048, () => "parsePackage handed the ciphertext to JSON.parse");
  bodies++;
  return { codecs: all.map(([name]) => name), checked, failures, refused, bodies };
};
