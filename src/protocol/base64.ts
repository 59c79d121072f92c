/**
 * Strict standard base64, as Python's `base64.b64encode` writes it: the `+/` alphabet, `=`
 * padding, no whitespace, no trailing garbage, and zero bits where padding leaves a partial
 * byte (so every byte string has exactly one accepted encoding).
 *
 * Packages carry megabytes of base64, so this is on the hot path of every request. Three
 * codecs, chosen once, by feature:
 * - `native`: `Uint8Array.prototype.toBase64` and `setFromBase64` with
 *   `lastChunkHandling: "strict"` (Deno, Bun, recent browsers);
 * - `node`: the global `Buffer`, when there is no native codec (Node 20); nothing is imported, so
 *   browser builds pull in no `node:` module;
 * - `portable`: plain JavaScript, everywhere else.
 * All three accept exactly the same strings, and decode straight into the caller's buffer.
 *
 * @module
 */

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

/** One way of encoding and strictly decoding base64. */
export interface Base64Codec {
  /** Standard padded base64 of `bytes`. */
  readonly encode: (bytes: Uint8Array) => string;
  /**
   * Decodes `s` into `target`, whose length must be {@linkcode strictBase64Length}`(s)`.
   * `false` when `s` is not strict, canonical base64 (`target` may then be partly written).
   */
  readonly decodeInto: (s: string, target: Uint8Array) => boolean;
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

// ---- portable ----

const portableEncode = (bytes: Uint8Array): string => {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
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
  }
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
const portable: Base64Codec = { encode: portableEncode, decodeInto: portableDecodeInto };

// ---- native (TC39 Uint8Array base64) ----

interface NativeUint8Array {
  toBase64(): string;
  setFromBase64(
    s: string,
    options: { readonly lastChunkHandling: "strict" },
  ): { readonly read: number; readonly written: number };
}

const nativeProto = Uint8Array.prototype as unknown as Partial<NativeUint8Array>;
const native: Base64Codec | undefined = typeof nativeProto.toBase64 === "function" &&
    typeof nativeProto.setFromBase64 === "function"
  ? {
    encode: (bytes) => (bytes as unknown as NativeUint8Array).toBase64(),
    decodeInto: (s, target) => {
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
    },
  }
  : undefined;

// ---- Node's Buffer (found on globalThis, never imported) ----

interface NodeBufferView {
  toString(encoding: "base64"): string;
  write(s: string, offset: number, length: number, encoding: "base64"): number;
}
interface NodeBufferClass {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView;
  byteLength(s: string, encoding: "utf8"): number;
}

const nodeBuffer = (globalThis as { Buffer?: Partial<NodeBufferClass> }).Buffer;
const node: Base64Codec | undefined = typeof nodeBuffer?.from === "function" &&
    typeof nodeBuffer.byteLength === "function"
  ? (() => {
    const B = nodeBuffer as NodeBufferClass;
    return {
      encode: (bytes) =>
        B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"),
      decodeInto: (s, target) => {
        // Buffer's decoder is lenient: it reads both alphabets, skips any other character and
        // stops at "=", and it truncates characters above U+00FF to their low byte. So: ASCII
        // only (UTF-8 length = length), no URL-safe "-" or "_", a canonical tail; then every
        // character skipped or stopped at would show as fewer bytes written than the length
        // of the text implies.
        if (strictBase64Length(s) !== target.length || !hasCanonicalTail(s)) return false;
        if (B.byteLength(s, "utf8") !== s.length) return false;
        if (s.indexOf("-") !== -1 || s.indexOf("_") !== -1) return false;
        const view = B.from(target.buffer, target.byteOffset, target.byteLength);
        return view.write(s, 0, target.byteLength, "base64") === target.byteLength;
      },
    } satisfies Base64Codec;
  })()
  : undefined;

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

// ---- base64 text held as bytes (the HTTP bodies) ----

/**
 * Base64 characters converted per string. Strings this small stay in V8's young generation; a
 * single 1.4 MB string costs Node 20 three times as much to make. A multiple of 4, and its byte
 * count a multiple of 3, so chunks never carry padding except the last.
 */
const CHUNK_CHARS = 64 * 1024;
const CHUNK_BYTES = (CHUNK_CHARS / 4) * 3;

/**
 * The length of the standard padded base64 of `byteLength` bytes.
 *
 * @param byteLength The number of bytes to encode.
 * @returns The number of base64 characters.
 */
export const base64Length = (byteLength: number): number => Math.ceil(byteLength / 3) * 4;

/**
 * Writes the standard padded base64 of `bytes` into `out` as ASCII, chunk by chunk, without
 * ever holding the whole text as one string.
 *
 * @param bytes The bytes to encode.
 * @param out Where the text goes; at least {@linkcode base64Length}`(bytes.length)` long.
 * @returns The number of bytes written.
 */
export const encodeBase64Into = (bytes: Uint8Array, out: Uint8Array): number => {
  let written = 0;
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) {
    const text = codec.encode(bytes.subarray(i, Math.min(i + CHUNK_BYTES, bytes.length)));
    written += textEncoder.encodeInto(text, out.subarray(written)).written;
  }
  return written;
};

/**
 * {@linkcode strictBase64Length} of base64 text held as ASCII bytes.
 *
 * @param text The base64 text, one byte per character.
 * @returns The decoded length, or `undefined` when the length is not a multiple of 4.
 */
export const strictBase64LengthOfBytes = (text: Uint8Array): number | undefined =>
  decodedLength(text.length, text[text.length - 1] ?? 0, text[text.length - 2] ?? 0);

/**
 * {@linkcode decodeBase64StrictInto} for base64 text held as bytes (a slice of an HTTP body),
 * chunk by chunk: it accepts exactly the byte strings whose ASCII text the string decoder
 * accepts. A byte outside ASCII turns into a character outside the alphabet, or changes the
 * chunk's length, so it is refused; padding is accepted only at the very end.
 *
 * @param text The base64 text, one byte per character.
 * @param target Where the bytes go; exactly {@linkcode strictBase64LengthOfBytes}`(text)` long.
 * @returns `false` when `text` is not canonical base64 or `target` has another length (`target`
 * may then be partly written).
 */
export const decodeBase64StrictBytesInto = (text: Uint8Array, target: Uint8Array): boolean => {
  if (strictBase64LengthOfBytes(text) !== target.length) return false;
  let written = 0;
  for (let i = 0; i < text.length; i += CHUNK_CHARS) {
    const end = Math.min(i + CHUNK_CHARS, text.length);
    const chunk = asciiDecoder.decode(text.subarray(i, end));
    // One character per byte, or a byte was not ASCII. (Padding inside a chunk is refused by
    // the codec; padding at the end of a non-final chunk leaves `written` short below.)
    if (chunk.length !== end - i) return false;
    const length = strictBase64Length(chunk);
    if (length === undefined) return false;
    if (!codec.decodeInto(chunk, target.subarray(written, written + length))) return false;
    written += length;
  }
  return written === target.length;
};
