/**
 * Strict standard base64, as Python's `base64.b64encode` writes it: the `+/` alphabet, `=`
 * padding, no whitespace, no trailing garbage, and zero bits where padding leaves a partial
 * byte (so every byte string has exactly one accepted encoding). The one base64 codec of the
 * library: packages, attestation fields, images.
 *
 * Packages carry megabytes of base64, so this is on the hot path of every request. Three
 * codecs, chosen once, by feature:
 * - `native`: `Uint8Array.prototype.toBase64` and `setFromBase64` with
 *   `lastChunkHandling: "strict"` (Deno, Bun, recent browsers);
 * - `node`: the global `Buffer`, when there is no native codec (Node 20 and 24); nothing is
 *   imported, so browser builds pull in no `node:` module;
 * - `portable`: plain JavaScript, everywhere else.
 * All three accept exactly the same strings and byte strings, and decode straight into the
 * caller's buffer.
 *
 * @module
 */
import { nativeBuffer, type NodeBufferClass } from "./native_buffer.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD = 0x3d; // "="

/** Character code → 6-bit value; 255 for anything outside the standard alphabet. */
const DECODE: Uint8Array = (() => {
  const table = new Uint8Array(256).fill(255);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();
const ENCODE: Uint8Array = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const asciiDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** One way of encoding and strictly decoding base64, as strings and as ASCII bytes. */
export interface Base64Codec {
  /** Standard padded base64 of `bytes`. */
  readonly encode: (bytes: Uint8Array) => string;
  /**
   * Decodes `s` into `target`, whose length must be {@linkcode strictBase64Length}`(s)`.
   * `false` when `s` is not strict, canonical base64 (`target` may then be partly written).
   */
  readonly decodeInto: (s: string, target: Uint8Array) => boolean;
  /**
   * Writes `encode(bytes)` into `out` as ASCII, one byte per character; returns the number of
   * bytes written ({@linkcode base64Length}`(bytes.length)`; `out` must have room for them).
   */
  readonly encodeInto: (bytes: Uint8Array, out: Uint8Array) => number;
  /**
   * {@linkcode Base64Codec.decodeInto} for base64 text held as bytes (a slice of an HTTP body):
   * it accepts exactly the byte strings whose ASCII text `decodeInto` accepts; any byte outside
   * ASCII is refused. `target` must be {@linkcode strictBase64LengthOfBytes}`(text)` long.
   */
  readonly decodeBytesInto: (text: Uint8Array, target: Uint8Array) => boolean;
}

/** Bytes that `n` characters of padded base64 ending in `last`, `beforeLast` decode to. */
const decodedLength = (n: number, last: number, beforeLast: number): number | undefined => {
  if (n % 4 !== 0) return undefined;
  if (n === 0) return 0;
  const pad = last !== PAD ? 0 : beforeLast !== PAD ? 1 : 2;
  return (n / 4) * 3 - pad;
};

/**
 * The number of bytes strict base64 `s` decodes to, from its length and padding alone;
 * `undefined` when its length is not a multiple of 4. A string that passes this may still be
 * refused by {@linkcode decodeBase64StrictInto}.
 *
 * @param s The base64 text.
 * @returns The decoded length, or `undefined`.
 */
export const strictBase64Length = (s: string): number | undefined =>
  decodedLength(s.length, s.charCodeAt(s.length - 1), s.charCodeAt(s.length - 2));

/**
 * {@linkcode strictBase64Length} of base64 text held as ASCII bytes.
 *
 * @param text The base64 text, one byte per character.
 * @returns The decoded length, or `undefined` when the length is not a multiple of 4.
 */
export const strictBase64LengthOfBytes = (text: Uint8Array): number | undefined =>
  decodedLength(text.length, text[text.length - 1] ?? 0, text[text.length - 2] ?? 0);

/**
 * The length of the standard padded base64 of `byteLength` bytes.
 *
 * @param byteLength The number of bytes to encode.
 * @returns The number of base64 characters.
 */
export const base64Length = (byteLength: number): number => Math.ceil(byteLength / 3) * 4;

/**
 * Whether the padding of `s` is well placed and the unused low bits of its last data
 * character are zero. Only the last four characters are read.
 */
const hasCanonicalTail = (s: string): boolean => {
  const n = s.length;
  if (n === 0) return true;
  if (s.charCodeAt(n - 1) !== PAD) return true;
  if (s.charCodeAt(n - 2) === PAD) {
    const c = s.charCodeAt(n - 3);
    return c < 256 && DECODE[c]! !== 255 && (DECODE[c]! & 0x0f) === 0;
  }
  const c = s.charCodeAt(n - 2);
  return c < 256 && DECODE[c]! !== 255 && (DECODE[c]! & 0x03) === 0;
};

/** The text of `text[start, end)`, one character per byte, or not (then it is refused). */
type ChunkText = (text: Uint8Array, start: number, end: number) => string;

const utf8ChunkText: ChunkText = (text, start, end) =>
  asciiDecoder.decode(text.subarray(start, end));

/**
 * Base64 text held as bytes, decoded `chunkChars` characters at a time by `decodeAscii` (given
 * only strings of one character per byte). A byte outside ASCII turns into a character outside
 * the alphabet, or changes the chunk's length, so it is refused; padding is accepted only at the
 * very end.
 */
const decodeBytesInChunks = (
  text: Uint8Array,
  target: Uint8Array,
  chunkChars: number,
  chunkText: ChunkText,
  decodeAscii: (s: string, target: Uint8Array) => boolean,
): boolean => {
  if (strictBase64LengthOfBytes(text) !== target.length) return false;
  let written = 0;
  for (let i = 0; i < text.length; i += chunkChars) {
    const end = Math.min(i + chunkChars, text.length);
    const chunk = chunkText(text, i, end);
    // One character per byte, or a byte was not ASCII. (Padding inside a chunk is refused by
    // the codec; padding at the end of a non-final chunk leaves `written` short below.)
    if (chunk.length !== end - i) return false;
    const length = strictBase64Length(chunk);
    if (length === undefined) return false;
    if (!decodeAscii(chunk, target.subarray(written, written + length))) return false;
    written += length;
  }
  return written === target.length;
};

/**
 * Characters per string where a codec works in chunks. Strings this small stay in V8's young
 * generation; a single 1.4 MB string costs Node 20 three times as much to make. A multiple of
 * 4, and its byte count a multiple of 3, so chunks never carry padding except the last.
 */
const CHUNK_CHARS = 64 * 1024;
const CHUNK_BYTES = (CHUNK_CHARS / 4) * 3;

// ---- portable ----

/** Writes the base64 of `bytes` into `out` (ASCII), no string made. */
const portableEncodeInto = (bytes: Uint8Array, out: Uint8Array): number => {
  const n = bytes.length;
  let i = 0;
  let j = 0;
  for (; i + 2 < n; i += 3, j += 4) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[j] = ENCODE[v >>> 18]!;
    out[j + 1] = ENCODE[(v >>> 12) & 63]!;
    out[j + 2] = ENCODE[(v >>> 6) & 63]!;
    out[j + 3] = ENCODE[v & 63]!;
  }
  if (i < n) {
    const v = (bytes[i]! << 16) | (i + 1 < n ? bytes[i + 1]! << 8 : 0);
    out[j] = ENCODE[v >>> 18]!;
    out[j + 1] = ENCODE[(v >>> 12) & 63]!;
    out[j + 2] = i + 1 < n ? ENCODE[(v >>> 6) & 63]! : PAD;
    out[j + 3] = PAD;
    j += 4;
  }
  return j;
};

const portableEncode = (bytes: Uint8Array): string => {
  const out = new Uint8Array(base64Length(bytes.length));
  portableEncodeInto(bytes, out);
  // ASCII only: every decoder takes its fast path.
  return asciiDecoder.decode(out);
};

const portableDecodeInto = (s: string, target: Uint8Array): boolean => {
  const n = s.length;
  if (strictBase64Length(s) !== target.length || !hasCanonicalTail(s)) return false;
  if (n === 0) return true;
  const full = s.charCodeAt(n - 1) === PAD ? n - 4 : n; // characters in complete groups
  let j = 0;
  for (let i = 0; i < full; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    if ((a | b | c | d) > 255) return false;
    const v = DECODE[a]!, w = DECODE[b]!, x = DECODE[c]!, y = DECODE[d]!;
    if ((v | w | x | y) === 255) return false;
    const bits = (v << 18) | (w << 12) | (x << 6) | y;
    target[j++] = bits >>> 16;
    target[j++] = (bits >>> 8) & 0xff;
    target[j++] = bits & 0xff;
  }
  if (full < n) {
    const a = s.charCodeAt(full);
    const b = s.charCodeAt(full + 1);
    const c = s.charCodeAt(full + 2); // a data character, or "=" when two are padding
    if ((a | b | c) > 255) return false;
    const v = DECODE[a]!, w = DECODE[b]!;
    if ((v | w) === 255) return false;
    target[j++] = (v << 2) | (w >>> 4);
    if (c !== PAD) {
      const x = DECODE[c]!;
      if (x === 255) return false;
      target[j++] = ((w & 0x0f) << 4) | (x >>> 2);
    }
  }
  return j === target.length;
};

/** Plain JavaScript, for runtimes with neither a native codec nor `Buffer`. */
const portable: Base64Codec = {
  encode: portableEncode,
  decodeInto: portableDecodeInto,
  encodeInto: portableEncodeInto,
  decodeBytesInto: (text, target) =>
    decodeBytesInChunks(text, target, CHUNK_CHARS, utf8ChunkText, portableDecodeInto),
};

// ---- native (TC39 Uint8Array base64) ----

interface NativeUint8Array {
  toBase64(): string;
  setFromBase64(
    s: string,
    options: { readonly lastChunkHandling: "strict" },
  ): { readonly read: number; readonly written: number };
}

const nativeDecodeInto = (s: string, target: Uint8Array): boolean => {
  // Strict mode refuses bad characters, misplaced padding and non-zero padding bits; it
  // skips ASCII whitespace, which shows as fewer bytes written than the length implies.
  if (strictBase64Length(s) !== target.length || !hasCanonicalTail(s)) return false;
  try {
    const { read, written } = (target as unknown as NativeUint8Array).setFromBase64(s, {
      lastChunkHandling: "strict",
    });
    return read === s.length && written === target.length;
  } catch {
    return false;
  }
};

const nativeProto = Uint8Array.prototype as unknown as Partial<NativeUint8Array>;
const native: Base64Codec | undefined = typeof nativeProto.toBase64 === "function" &&
    typeof nativeProto.setFromBase64 === "function"
  ? {
    encode: (bytes) => (bytes as unknown as NativeUint8Array).toBase64(),
    decodeInto: nativeDecodeInto,
    // Whole: these runtimes make large strings cheaply, and one call beats 22 (Deno: 0.07 ms
    // against 0.3 ms for 1 MiB).
    encodeInto: (bytes, out) =>
      textEncoder.encodeInto((bytes as unknown as NativeUint8Array).toBase64(), out).written,
    decodeBytesInto: (text, target) =>
      decodeBytesInChunks(text, target, Number.POSITIVE_INFINITY, utf8ChunkText, nativeDecodeInto),
  }
  : undefined;

// ---- Node's Buffer (found on globalThis, never imported) ----

const HYPHEN = 0x2d;
const UNDERSCORE = 0x5f;

const makeNodeCodec = (B: NodeBufferClass): Base64Codec => {
  const view = (bytes: Uint8Array) => B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Buffer's decoder is lenient: it reads both alphabets, skips any other character and stops
  // at "=", and it truncates characters above U+00FF to their low byte. So: nothing above
  // U+00FF, no URL-safe "-" or "_", a canonical tail; then every character skipped or stopped
  // at shows as fewer bytes written than the length of the text implies.
  const decodeLatin1WithoutUrlSafe = (s: string, target: Uint8Array): boolean =>
    strictBase64Length(s) === target.length && hasCanonicalTail(s) &&
    view(target).write(s, 0, target.byteLength, "base64") === target.byteLength;
  // Latin-1: one character (U+0000–U+00FF) per byte, so a byte outside ASCII is a character
  // outside both alphabets, skipped by the decoder, hence refused; and Node makes it faster
  // than UTF-8 (a copy).
  const latin1ChunkText: ChunkText = (text, start, end) =>
    view(text).toString("latin1", start, end);
  return {
    encode: (bytes) => view(bytes).toString("base64"),
    decodeInto: (s, target) =>
      B.byteLength(s, "utf8") === s.length && s.indexOf("-") === -1 &&
      s.indexOf("_") === -1 && decodeLatin1WithoutUrlSafe(s, target),
    encodeInto: (bytes, out) => {
      // In chunks (see CHUNK_CHARS), written as Latin-1: Node's TextEncoder.encodeInto costs
      // five times as much for ASCII (Node 20: 0.59 ms against 0.11 ms for 1 MiB).
      const target = view(out);
      let written = 0;
      for (let i = 0; i < bytes.length; i += CHUNK_BYTES) {
        const text = view(bytes.subarray(i, Math.min(i + CHUNK_BYTES, bytes.length)))
          .toString("base64");
        written += target.write(text, written, text.length, "latin1");
      }
      return written;
    },
    decodeBytesInto: (text, target) => {
      // "-" and "_" searched in the bytes (memchr) once, not in each chunk's string.
      const bytes = view(text);
      return bytes.indexOf(HYPHEN) === -1 && bytes.indexOf(UNDERSCORE) === -1 &&
        decodeBytesInChunks(text, target, CHUNK_CHARS, latin1ChunkText, decodeLatin1WithoutUrlSafe);
    },
  };
};

const node: Base64Codec | undefined = nativeBuffer === undefined
  ? undefined
  : makeNodeCodec(nativeBuffer);

/** The codec in use (`native`, else `node`, else `portable`), and every available one. */
export const base64Codecs: {
  readonly active: "native" | "node" | "portable";
  readonly native?: Base64Codec;
  readonly node?: Base64Codec;
  readonly portable: Base64Codec;
} = {
  active: native !== undefined ? "native" : node !== undefined ? "node" : "portable",
  ...(native === undefined ? {} : { native }),
  ...(node === undefined ? {} : { node }),
  portable,
};

const codec: Base64Codec = native ?? node ?? portable;

/**
 * Decodes strict standard base64 into `target`, which must be exactly
 * {@linkcode strictBase64Length}`(s)` bytes long (e.g. a `subarray` of a larger buffer).
 *
 * @param s The text to decode.
 * @param target Where the bytes go.
 * @returns `false` when `s` is not canonical base64 or `target` has another length (`target`
 * may then be partly written).
 */
export const decodeBase64StrictInto = (s: string, target: Uint8Array): boolean =>
  codec.decodeInto(s, target);

/**
 * Decodes strict standard base64; `undefined` when `s` is not exactly that.
 *
 * @param s The text to decode.
 * @returns The bytes, or `undefined` for anything that is not canonical base64.
 */
export const decodeBase64Strict = (s: string): Uint8Array<ArrayBuffer> | undefined => {
  const length = strictBase64Length(s);
  if (length === undefined) return undefined;
  const bytes = new Uint8Array(length);
  return codec.decodeInto(s, bytes) ? bytes : undefined;
};

/**
 * Encodes bytes as standard padded base64.
 *
 * @param bytes The bytes to encode.
 * @returns Standard base64 with `=` padding.
 */
export const encodeBase64 = (bytes: Uint8Array): string => codec.encode(bytes);

/**
 * Writes the standard padded base64 of `bytes` into `out` as ASCII, without ever holding the
 * text as one large string where that is costly (Node).
 *
 * @param bytes The bytes to encode.
 * @param out Where the text goes; at least {@linkcode base64Length}`(bytes.length)` long.
 * @returns The number of bytes written.
 */
export const encodeBase64Into = (bytes: Uint8Array, out: Uint8Array): number =>
  codec.encodeInto(bytes, out);

/**
 * {@linkcode decodeBase64StrictInto} for base64 text held as bytes (a slice of an HTTP body):
 * it accepts exactly the byte strings whose ASCII text the string decoder accepts. A byte
 * outside ASCII is refused; padding is accepted only at the very end.
 *
 * @param text The base64 text, one byte per character.
 * @param target Where the bytes go; exactly {@linkcode strictBase64LengthOfBytes}`(text)` long.
 * @returns `false` when `text` is not canonical base64 or `target` has another length (`target`
 * may then be partly written).
 */
export const decodeBase64StrictBytesInto = (text: Uint8Array, target: Uint8Array): boolean =>
  codec.decodeBytesInto(text, target);
