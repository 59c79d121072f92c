/**
 * A minimal, strict DER reader and writer: just what RSA key files need (SEQUENCE, SET,
 * INTEGER, OCTET STRING, OBJECT IDENTIFIER, NULL, BIT STRING and context-specific tags).
 *
 * The reader accepts DER only: low tag numbers, definite lengths in their shortest form, every
 * length checked against the bytes that remain, minimal INTEGERs, well-formed OIDs, no
 * constructed strings, no trailing bytes, a bounded nesting depth and input size. Decoded nodes
 * are views into the input (no copies), so zeroing the input zeroes them all. Bad input is a
 * {@linkcode KeyError} with reason `"Malformed"`: {@linkcode decodeDer} and {@linkcode parseDer}
 * never throw. The `read*` helpers throw an internal error and are meant to be called inside the
 * `read` callback of {@linkcode parseDer}, which turns that error into a `KeyError`.
 *
 * The writer builds a tree of {@linkcode DerValue}s and encodes it with one allocation, so
 * private material is copied exactly once, into a buffer the caller zeroes.
 *
 * Not supported on purpose: high tag numbers, indefinite lengths, lengths over 4 bytes, BER.
 * `SET OF` ordering is not checked (key files only carry it in ignored PKCS#8 attributes).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { KeyError } from "../errors.ts";

/** Identifier octets of the universal types this module reads and writes. */
export const DerTag: {
  readonly Boolean: 0x01;
  readonly Integer: 0x02;
  readonly BitString: 0x03;
  readonly OctetString: 0x04;
  readonly Null: 0x05;
  readonly ObjectIdentifier: 0x06;
  readonly Sequence: 0x30;
  readonly Set: 0x31;
} = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  ObjectIdentifier: 0x06,
  Sequence: 0x30,
  Set: 0x31,
};

/**
 * The identifier octet of a context-specific tag `[n]`.
 *
 * @param n Tag number, 0 to 30.
 * @param constructed Whether the element holds other elements (`[0] IMPLICIT SET OF …`, explicit tags).
 * @returns The identifier octet (`0x80 | n`, plus `0x20` when constructed).
 */
export const contextTag = (n: number, constructed: boolean): number => {
  if (!Number.isInteger(n) || n < 0 || n > 30) {
    throw new TypeError("Cannot build context tag: number must be an integer from 0 to 30");
  }
  return 0x80 | (constructed ? 0x20 : 0) | n;
};

/** Deepest nesting {@linkcode decodeDer} accepts (the outermost element is depth 1). */
export const MAX_DER_DEPTH = 16;

/** Largest input {@linkcode decodeDer} accepts, in bytes (a 16384-bit PKCS#8 key is ~9.5 KiB). */
export const MAX_DER_BYTES = 65536;

/** One decoded element: a view into the decoded bytes. */
export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  /** The contents octets (a view into the input, not a copy). */
  readonly contents: Uint8Array<ArrayBuffer>;
  /** The decoded children of a constructed element; empty for a primitive one. */
  readonly children: ReadonlyArray<DerNode>;
}

/** Why the bytes are not the DER expected; turned into a `KeyError` by `parseDer`. */
class DerError extends Error {
  constructor(detail: string) {
    super(detail);
  }
}

function fail(detail: string): never {
  throw new DerError(detail);
}

const UNIVERSAL_NAMES: Readonly<Record<number, string>> = {
  0x01: "BOOLEAN",
  0x02: "INTEGER",
  0x03: "BIT STRING",
  0x04: "OCTET STRING",
  0x05: "NULL",
  0x06: "OBJECT IDENTIFIER",
  0x30: "SEQUENCE",
  0x31: "SET",
};

/** A readable name of a tag, for messages. */
export const tagName = (tag: number): string => {
  const known = UNIVERSAL_NAMES[tag];
  if (known !== undefined) return known;
  const number = tag & 0x1f;
  switch (tag & 0xc0) {
    case 0x80:
      return `[${number}]`;
    case 0x40:
      return `[APPLICATION ${number}]`;
    case 0xc0:
      return `[PRIVATE ${number}]`;
    default:
      return `universal tag ${number}`;
  }
};

const checkPrimitive = (tag: number, c: Uint8Array): void => {
  switch (tag) {
    case DerTag.Boolean:
      if (c.length !== 1 || (c[0] !== 0x00 && c[0] !== 0xff)) fail("BOOLEAN is not DER");
      return;
    case DerTag.Integer: {
      if (c.length === 0) fail("INTEGER is empty");
      const b0 = c[0]!;
      const b1 = c[1];
      if (b1 !== undefined && ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80))) {
        fail("INTEGER is not minimally encoded");
      }
      return;
    }
    case DerTag.BitString: {
      const unused = c[0];
      if (unused === undefined) fail("BIT STRING is empty");
      if (unused! > 7 || (c.length === 1 && unused !== 0)) fail("BIT STRING has bad unused bits");
      if (unused! > 0 && (c[c.length - 1]! & ((1 << unused!) - 1)) !== 0) {
        fail("BIT STRING unused bits are not zero");
      }
      return;
    }
    case DerTag.Null:
      if (c.length !== 0) fail("NULL is not empty");
      return;
    case DerTag.ObjectIdentifier:
      checkOidContents(c);
      return;
  }
};

const checkOidContents = (c: Uint8Array): void => {
  if (c.length === 0) fail("OBJECT IDENTIFIER is empty");
  let start = true;
  let size = 0;
  for (const b of c) {
    if (start && b === 0x80) fail("OBJECT IDENTIFIER is not minimally encoded");
    size++;
    if (size > 7) fail("OBJECT IDENTIFIER arc is too large");
    start = (b & 0x80) === 0;
    if (start) size = 0;
  }
  if (!start) fail("OBJECT IDENTIFIER is truncated");
};

const decodeAt = (
  buf: Uint8Array<ArrayBuffer>,
  start: number,
  end: number,
  depth: number,
): { readonly node: DerNode; readonly next: number } => {
  if (depth > MAX_DER_DEPTH) fail(`nesting is deeper than ${MAX_DER_DEPTH}`);
  if (end - start < 2) fail("element is truncated");
  const tag = buf[start]!;
  if ((tag & 0x1f) === 0x1f) fail("high tag numbers are not supported");
  if (tag === 0x00) fail("end-of-contents octets are not DER");
  const constructed = (tag & 0x20) !== 0;
  const universal = (tag & 0xc0) === 0;
  if (universal && constructed && tag !== DerTag.Sequence && tag !== DerTag.Set) {
    fail(`constructed ${tagName(tag & ~0x20)} is not DER`);
  }
  if (universal && !constructed && (tag === 0x10 || tag === 0x11)) {
    fail("primitive SEQUENCE or SET is not DER");
  }
  let pos = start + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    if (first === 0x80) fail("indefinite length is not DER");
    const count = first & 0x7f;
    if (count > 4) fail("length is too large");
    if (end - pos < count) fail("length is truncated");
    if (buf[pos] === 0) fail("length is not minimally encoded");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80) fail("length is not minimally encoded");
  }
  if (length > end - pos) fail("length runs past the end of the data");
  const contentEnd = pos + length;
  const contents = buf.subarray(pos, contentEnd);
  const children: DerNode[] = [];
  if (constructed) {
    let at = pos;
    while (at < contentEnd) {
      const child = decodeAt(buf, at, contentEnd, depth + 1);
      children.push(child.node);
      at = child.next;
    }
  } else if (universal) {
    checkPrimitive(tag, contents);
  }
  return { node: { tag, contents, children }, next: contentEnd };
};

const decodeSync = (bytes: Uint8Array<ArrayBuffer>): DerNode => {
  if (bytes.length > MAX_DER_BYTES) fail(`data is larger than ${MAX_DER_BYTES} bytes`);
  const { node, next } = decodeAt(bytes, 0, bytes.length, 1);
  if (next !== bytes.length) fail("trailing bytes after the element");
  return node;
};

const toKeyError = (action: string, e: unknown): KeyError => {
  if (e instanceof KeyError) return e;
  const detail = e instanceof DerError ? e.message : "not valid DER";
  return new KeyError({ reason: "Malformed", message: `Cannot ${action}: ${detail}` });
};

/**
 * Decodes exactly one DER element that spans all of `bytes`.
 *
 * @param bytes The DER. Nodes are views into it: zero it when it held a secret.
 * @param action What the caller was doing, for the message (`"import public key"`).
 * @returns The root node, or a `KeyError` `"Malformed"` naming what is wrong.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { decodeDer } from "./der.ts";
 * const root = Effect.runSync(decodeDer(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])));
 * // root.children[0].contents is [5]
 * ```
 */
export const decodeDer = (
  bytes: Uint8Array<ArrayBuffer>,
  action = "read DER",
): Effect.Effect<DerNode, KeyError> =>
  Effect.try({ try: () => decodeSync(bytes), catch: (e) => toKeyError(action, e) });

/**
 * Decodes `bytes` and reads a structure out of the root with `read`, which may use the
 * `read*`/`expect*` helpers of this module (they throw an internal error) or throw a
 * {@linkcode KeyError} itself. Whatever `read` throws becomes a `KeyError`: a `KeyError` is kept,
 * anything else is `"Malformed"` with message `Cannot <action>: <detail>`.
 *
 * @param bytes The DER.
 * @param action What the caller was doing, for the message.
 * @param read Reads the wanted values out of the root node.
 * @returns What `read` returned.
 */
export const parseDer = <A>(
  bytes: Uint8Array<ArrayBuffer>,
  action: string,
  read: (root: DerNode) => A,
): Effect.Effect<A, KeyError> =>
  Effect.try({ try: () => read(decodeSync(bytes)), catch: (e) => toKeyError(action, e) });

/**
 * Decodes DER nested in another element's contents (a BIT STRING or OCTET STRING that wraps
 * DER). For use inside the `read` callback of {@linkcode parseDer}.
 *
 * @param bytes The nested DER.
 * @returns Its root node.
 */
export const readNested = (bytes: Uint8Array<ArrayBuffer>): DerNode => decodeSync(bytes);

/**
 * Checks the tag of `node`. For use inside {@linkcode parseDer}.
 *
 * @param node The node, or `undefined` when a field is missing.
 * @param tag The expected identifier octet.
 * @param what The field's name, for the message.
 * @returns `node`.
 */
export const expectTag = (node: DerNode | undefined, tag: number, what: string): DerNode => {
  if (node === undefined) return fail(`${what} is missing`);
  if (node.tag !== tag) fail(`${what} is ${tagName(node.tag)}, expected ${tagName(tag)}`);
  return node;
};

/**
 * Reads a SEQUENCE and checks how many elements it holds. For use inside {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 * @param min Fewest elements.
 * @param max Most elements (default `min`).
 * @returns The elements.
 */
export const readSequence = (
  node: DerNode | undefined,
  what: string,
  min: number,
  max: number = min,
): ReadonlyArray<DerNode> => {
  const seq = expectTag(node, DerTag.Sequence, what);
  if (seq.children.length < min || seq.children.length > max) {
    fail(
      `${what} has ${seq.children.length} elements, expected ${
        min === max ? min : `${min} to ${max}`
      }`,
    );
  }
  return seq.children;
};

/**
 * Reads a non-negative INTEGER as its big-endian magnitude (without the sign octet). For use
 * inside {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 * @returns A view of the magnitude (one `0x00` octet for zero).
 */
export const readUnsignedInteger = (
  node: DerNode | undefined,
  what: string,
): Uint8Array<ArrayBuffer> => {
  const c = expectTag(node, DerTag.Integer, what).contents;
  if (c[0]! >= 0x80) fail(`${what} is negative`);
  return c.length > 1 && c[0] === 0 ? c.subarray(1) : c;
};

/**
 * Reads a non-negative INTEGER as a number; values past 2^53 read as `Infinity` so callers can
 * refuse huge counts with their own error. For use inside {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 * @returns The value.
 */
export const readSmallInteger = (node: DerNode | undefined, what: string): number => {
  const m = readUnsignedInteger(node, what);
  if (m.length > 6) return Number.POSITIVE_INFINITY;
  let v = 0;
  for (const b of m) v = v * 256 + b;
  return v;
};

/**
 * Reads an OCTET STRING. For use inside {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 * @returns A view of its contents.
 */
export const readOctetString = (node: DerNode | undefined, what: string): Uint8Array<ArrayBuffer> =>
  expectTag(node, DerTag.OctetString, what).contents;

/**
 * Reads a BIT STRING whose length is a whole number of octets. For use inside
 * {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 * @returns A view of its bits.
 */
export const readBitString = (node: DerNode | undefined, what: string): Uint8Array<ArrayBuffer> => {
  const c = expectTag(node, DerTag.BitString, what).contents;
  if (c[0] !== 0) fail(`${what} is not a whole number of octets`);
  return c.subarray(1);
};

/**
 * Reads a NULL. For use inside {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 */
export const readNull = (node: DerNode | undefined, what: string): void => {
  expectTag(node, DerTag.Null, what);
};

/**
 * Reads an OBJECT IDENTIFIER as its dotted form (`"1.2.840.113549.1.1.1"`). For use inside
 * {@linkcode parseDer}.
 *
 * @param node The node.
 * @param what The field's name, for the message.
 * @returns The dotted OID.
 */
export const readOid = (node: DerNode | undefined, what: string): string =>
  oidToString(expectTag(node, DerTag.ObjectIdentifier, what).contents);

/**
 * Whether `node` is the OBJECT IDENTIFIER `oid`, compared as encoded bytes.
 *
 * @param node The node (any tag; `false` when it is not an OID).
 * @param oid The encoded OID, from {@linkcode encodeOid}.
 * @returns Whether they are equal.
 */
export const isOid = (node: DerNode | undefined, oid: Uint8Array): boolean =>
  node !== undefined && node.tag === DerTag.ObjectIdentifier && bytesEqual(node.contents, oid);

/**
 * Whether two byte arrays hold the same bytes (not constant-time: for public data only).
 *
 * @param a One array.
 * @param b The other.
 * @returns Whether they are equal.
 */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * The dotted form of OID contents octets (checked by the reader).
 *
 * @param contents The contents octets of an OBJECT IDENTIFIER.
 * @returns The dotted OID.
 */
export const oidToString = (contents: Uint8Array): string => {
  checkOidContents(contents);
  const arcs: number[] = [];
  let v = 0;
  for (const b of contents) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = v < 40 ? 0 : v < 80 ? 1 : 2;
        arcs.push(first, v - first * 40);
      } else {
        arcs.push(v);
      }
      v = 0;
    }
  }
  return arcs.join(".");
};

/**
 * Encodes a dotted OID as its contents octets (for {@linkcode derOid} and {@linkcode isOid}).
 *
 * @param dotted The OID, e.g. `"1.2.840.113549.1.1.1"`.
 * @returns The contents octets.
 * @throws {TypeError} When `dotted` is not a valid OID (a programming error, not bad data).
 */
export const encodeOid = (dotted: string): Uint8Array<ArrayBuffer> => {
  const parts = dotted.split(".");
  if (parts.length < 2 || parts.some((p) => !/^(0|[1-9][0-9]{0,14})$/.test(p))) {
    throw new TypeError(`Cannot encode OID: ${JSON.stringify(dotted)} is not a dotted OID`);
  }
  const arcs = parts.map(Number);
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 > 2 || (a0 < 2 && a1 >= 40) || arcs.some((a) => a > 2 ** 49 - 1)) {
    throw new TypeError(`Cannot encode OID: ${JSON.stringify(dotted)} is out of range`);
  }
  const out: number[] = [];
  const push = (v: number): void => {
    const groups: number[] = [v % 128];
    let rest = Math.floor(v / 128);
    while (rest > 0) {
      groups.unshift((rest % 128) | 0x80);
      rest = Math.floor(rest / 128);
    }
    out.push(...groups);
  };
  push(a0 * 40 + a1);
  for (const a of arcs.slice(2)) push(a);
  return new Uint8Array(out);
};

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * An element to encode: primitive contents given as parts (concatenated without copying until
 * the final buffer), constructed children, or an already encoded element.
 */
export type DerValue =
  | { readonly tag: number; readonly parts: ReadonlyArray<Uint8Array> }
  | { readonly tag: number; readonly children: ReadonlyArray<DerValue> }
  | { readonly encoded: Uint8Array };

/**
 * A SEQUENCE.
 *
 * @param children The elements.
 * @returns The value.
 */
export const derSequence = (...children: ReadonlyArray<DerValue>): DerValue => ({
  tag: DerTag.Sequence,
  children,
});

/**
 * A context-specific constructed element `[n]` (an explicit tag or an implicit SET/SEQUENCE).
 *
 * @param n Tag number.
 * @param children The elements.
 * @returns The value.
 */
export const derContext = (n: number, ...children: ReadonlyArray<DerValue>): DerValue => ({
  tag: contextTag(n, true),
  children,
});

/**
 * A non-negative INTEGER from its big-endian magnitude (leading zeros are dropped, a sign octet
 * added when needed). The magnitude is not copied until encoding.
 *
 * @param magnitude Unsigned big-endian bytes.
 * @returns The value.
 */
export const derUnsignedInteger = (magnitude: Uint8Array): DerValue => {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length === 0) return { tag: DerTag.Integer, parts: [new Uint8Array([0])] };
  return {
    tag: DerTag.Integer,
    parts: m[0]! >= 0x80 ? [new Uint8Array([0]), m] : [m],
  };
};

/**
 * A non-negative INTEGER from a safe integer.
 *
 * @param n The value, `0 <= n <= Number.MAX_SAFE_INTEGER`.
 * @returns The value.
 */
export const derSmallInteger = (n: number): DerValue => {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TypeError("Cannot encode INTEGER: not a non-negative safe integer");
  }
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return derUnsignedInteger(new Uint8Array(bytes));
};

/**
 * An OCTET STRING (not copied until encoding).
 *
 * @param bytes Its contents.
 * @returns The value.
 */
export const derOctetString = (bytes: Uint8Array): DerValue => ({
  tag: DerTag.OctetString,
  parts: [bytes],
});

/**
 * A BIT STRING of whole octets (not copied until encoding).
 *
 * @param bytes Its bits.
 * @returns The value.
 */
export const derBitString = (bytes: Uint8Array): DerValue => ({
  tag: DerTag.BitString,
  parts: [new Uint8Array([0]), bytes],
});

/**
 * A NULL.
 *
 * @returns The value.
 */
export const derNull = (): DerValue => ({ tag: DerTag.Null, parts: [] });

/**
 * An OBJECT IDENTIFIER.
 *
 * @param oid Dotted form, or contents octets from {@linkcode encodeOid}.
 * @returns The value.
 */
export const derOid = (oid: string | Uint8Array): DerValue => ({
  tag: DerTag.ObjectIdentifier,
  parts: [typeof oid === "string" ? encodeOid(oid) : oid],
});

const lengthOfLength = (
  n: number,
): number => (n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5);

const contentLength = (v: DerValue): number => {
  if ("encoded" in v) return v.encoded.length;
  if ("parts" in v) return v.parts.reduce((s, p) => s + p.length, 0);
  return v.children.reduce((s, c) => s + encodedLength(c), 0);
};

const encodedLength = (v: DerValue): number => {
  if ("encoded" in v) return v.encoded.length;
  const n = contentLength(v);
  return 1 + lengthOfLength(n) + n;
};

const writeInto = (out: Uint8Array, at: number, v: DerValue): number => {
  if ("encoded" in v) {
    out.set(v.encoded, at);
    return at + v.encoded.length;
  }
  let pos = at;
  out[pos++] = v.tag;
  const n = contentLength(v);
  const ll = lengthOfLength(n);
  if (ll === 1) {
    out[pos++] = n;
  } else {
    out[pos++] = 0x80 | (ll - 1);
    for (let i = ll - 2; i >= 0; i--) out[pos++] = Math.floor(n / 256 ** i) % 256;
  }
  if ("parts" in v) {
    for (const p of v.parts) {
      out.set(p, pos);
      pos += p.length;
    }
  } else {
    for (const c of v.children) pos = writeInto(out, pos, c);
  }
  return pos;
};

/**
 * Encodes a value as DER into one new buffer.
 *
 * @param value The tree to encode.
 * @returns The DER bytes (zero them when they hold a secret).
 *
 * @example
 * ```ts
 * import { derSequence, derSmallInteger, encodeDer } from "./der.ts";
 * encodeDer(derSequence(derSmallInteger(5))); // 30 03 02 01 05
 * ```
 */
export const encodeDer = (value: DerValue): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(encodedLength(value));
  writeInto(out, 0, value);
  return out;
};
