/**
 * The encrypted package of the NOMYO protocol 1.0 (both directions): its wire shape as a
 * Schema, strict decoding into bytes, and encoding to UTF-8 JSON.
 *
 * Decoding checks everything that can be checked without a key before any WebCrypto call:
 * field presence and types, the declared version and algorithms (no downgrade), strict base64
 * and the exact lengths of nonce (12) and tag (16), because runtimes differ in what they accept.
 *
 * @module
 */
import * as Either from "effect/Either";
import type * as ParseResult from "effect/ParseResult";
import * as Schema from "effect/Schema";
import { SecurityError } from "../errors.ts";
import { isJsonObject, isWithinDepth, MAX_JSON_DEPTH } from "./json.ts";
import { nativeBuffer } from "./native_buffer.ts";
import { decodeUtf8Strict, decodeUtf8StrictContinued } from "./utf8.ts";
import {
  base64Length,
  decodeBase64Strict,
  decodeBase64StrictBytesInto,
  decodeBase64StrictInto,
  encodeBase64,
  encodeBase64Into,
  strictBase64Length,
  strictBase64LengthOfBytes,
} from "./base64.ts";

/** The protocol version this library speaks. */
export const PROTOCOL_VERSION = "1.0" as const;
/** The package algorithm this library speaks. */
export const PACKAGE_ALGORITHM = "hybrid-aes256-rsa4096" as const;
/** Key wrap: RSA-OAEP with SHA-256 and MGF1-SHA-256, empty label. */
export const KEY_ALGORITHM = "RSA-OAEP-SHA256" as const;
/** Payload cipher: AES-256-GCM, 12-byte nonce, 16-byte tag, no AAD. */
export const PAYLOAD_ALGORITHM = "AES-256-GCM" as const;
/** AES-GCM nonce length in bytes. */
export const NONCE_BYTES = 12;
/** AES-GCM tag length in bytes. */
export const TAG_BYTES = 16;

/** The AES-GCM part of a package; every field is standard base64. */
export interface EncryptedPayload {
  /** The ciphertext without the tag. */
  readonly ciphertext: string;
  /** The 12-byte nonce. */
  readonly nonce: string;
  /** The 16-byte GCM tag. */
  readonly tag: string;
}

/** A package as it travels, in either direction. */
export interface SealedPackage {
  /** Always `"1.0"`. */
  readonly version: typeof PROTOCOL_VERSION;
  /** Always `"hybrid-aes256-rsa4096"`. */
  readonly algorithm: typeof PACKAGE_ALGORITHM;
  /** The AES-256-GCM payload. */
  readonly encrypted_payload: EncryptedPayload;
  /** The AES key, RSA-OAEP-SHA256-wrapped to the recipient, base64. */
  readonly encrypted_aes_key: string;
  /** Always `"RSA-OAEP-SHA256"` when present (required in requests). */
  readonly key_algorithm?: typeof KEY_ALGORITHM;
  /** Always `"AES-256-GCM"` when present (required in requests). */
  readonly payload_algorithm?: typeof PAYLOAD_ALGORITHM;
  /** Unix seconds when the router sealed a response. */
  readonly processed_at?: number;
}

/** Schema of {@linkcode EncryptedPayload}. */
export const EncryptedPayload: Schema.Schema<EncryptedPayload> = Schema.Struct({
  ciphertext: Schema.String,
  nonce: Schema.String,
  tag: Schema.String,
});

/**
 * Schema of {@linkcode SealedPackage}. Unknown fields are ignored; the declared constants are
 * literals, so a package that declares anything else is refused (no downgrade).
 */
export const SealedPackage: Schema.Schema<SealedPackage> = Schema.Struct({
  version: Schema.Literal(PROTOCOL_VERSION),
  algorithm: Schema.Literal(PACKAGE_ALGORITHM),
  encrypted_payload: EncryptedPayload,
  encrypted_aes_key: Schema.String,
  key_algorithm: Schema.optionalWith(Schema.Literal(KEY_ALGORITHM), { exact: true }),
  payload_algorithm: Schema.optionalWith(Schema.Literal(PAYLOAD_ALGORITHM), { exact: true }),
  processed_at: Schema.optionalWith(Schema.Number.pipe(Schema.finite()), { exact: true }),
});

/** A package whose fields are checked and decoded, ready for the cipher. */
export interface DecodedPackage {
  /** The RSA-OAEP-wrapped AES key. */
  readonly wrappedKey: Uint8Array<ArrayBuffer>;
  /** The 12-byte nonce. */
  readonly nonce: Uint8Array<ArrayBuffer>;
  /** Ciphertext followed by the 16-byte tag, as WebCrypto wants it. */
  readonly sealed: Uint8Array<ArrayBuffer>;
  /** `processed_at`, when the package had it. */
  readonly processedAt: number | undefined;
  /** The declared package algorithm (always {@linkcode PACKAGE_ALGORITHM}). */
  readonly algorithm: typeof PACKAGE_ALGORITHM;
}

const decodeShape = Schema.decodeUnknownEither(SealedPackage);
const textEncoder = new TextEncoder();
/** A format refusal; it names the field, never its value. */
export const malformed = (detail: string, payloadId?: string): SecurityError =>
  new SecurityError({
    reason: "MalformedPackage",
    message: `Cannot open package: ${detail}`,
    payloadId,
  });

/**
 * The path of the first issue, read off the issue tree: Schema's formatters would also format
 * the offending value, which costs time and stack for no use (the value is never shown).
 */
const firstIssuePath = (error: ParseResult.ParseError): string => {
  const path: string[] = [];
  let issue: ParseResult.ParseIssue | undefined = error.issue;
  while (issue !== undefined) {
    switch (issue._tag) {
      case "Pointer": {
        const keys: ReadonlyArray<PropertyKey> = Array.isArray(issue.path)
          ? issue.path
          : [issue.path as PropertyKey];
        path.push(...keys.map(String));
        issue = issue.issue;
        break;
      }
      case "Composite":
        issue = Array.isArray(issue.issues)
          ? (issue.issues as ReadonlyArray<ParseResult.ParseIssue>)[0]
          : issue.issues as ParseResult.ParseIssue;
        break;
      case "Refinement":
      case "Transformation":
        issue = issue.issue;
        break;
      default:
        issue = undefined;
    }
  }
  return path.length === 0 ? "not a package object" : `invalid or missing field ${path.join(".")}`;
};

/**
 * Checks an already parsed JSON value and decodes its fields into bytes.
 *
 * @param value The parsed JSON body.
 * @param payloadId The request's payload id, carried by errors.
 * @returns The decoded package, or a `SecurityError` (`MalformedPackage`).
 */
export const decodePackage = (
  value: unknown,
  payloadId?: string,
): Either.Either<DecodedPackage, SecurityError> => decodeFields(value, payloadId, undefined);

/**
 * {@linkcode decodePackage}, with the ciphertext's base64 taken from `ciphertextText` (bytes of
 * the body) instead of the parsed value, when given.
 */
const decodeFields = (
  value: unknown,
  payloadId: string | undefined,
  ciphertextText: Uint8Array | undefined,
): Either.Either<DecodedPackage, SecurityError> => {
  if (!isJsonObject(value)) {
    return Either.left(malformed("not a JSON object", payloadId));
  }
  if (!isWithinDepth(value)) {
    return Either.left(malformed(`nesting is deeper than ${MAX_JSON_DEPTH}`, payloadId));
  }
  const shape = decodeShape(value);
  if (Either.isLeft(shape)) return Either.left(malformed(firstIssuePath(shape.left), payloadId));
  const pkg = shape.right;
  const nonce = decodeBase64Strict(pkg.encrypted_payload.nonce);
  if (nonce === undefined || nonce.length !== NONCE_BYTES) {
    return Either.left(malformed("nonce is not 12 bytes of base64", payloadId));
  }
  // Ciphertext and tag are decoded straight into `ciphertext || tag`, as WebCrypto wants it:
  // no intermediate buffers, no copy (the ciphertext is most of the package).
  const { ciphertext, tag } = pkg.encrypted_payload;
  const ciphertextLength = ciphertextText === undefined
    ? strictBase64Length(ciphertext)
    : strictBase64LengthOfBytes(ciphertextText);
  const sealed = new Uint8Array((ciphertextLength ?? 0) + TAG_BYTES);
  if (
    strictBase64Length(tag) !== TAG_BYTES ||
    !decodeBase64StrictInto(tag, sealed.subarray(sealed.length - TAG_BYTES))
  ) {
    return Either.left(malformed("tag is not 16 bytes of base64", payloadId));
  }
  const body = sealed.subarray(0, ciphertextLength ?? 0);
  if (
    ciphertextLength === undefined ||
    !(ciphertextText === undefined
      ? decodeBase64StrictInto(ciphertext, body)
      : decodeBase64StrictBytesInto(ciphertextText, body))
  ) {
    return Either.left(malformed("ciphertext is not base64", payloadId));
  }
  const wrappedKey = decodeBase64Strict(pkg.encrypted_aes_key);
  if (wrappedKey === undefined || wrappedKey.length === 0) {
    return Either.left(malformed("encrypted_aes_key is not base64", payloadId));
  }
  return Either.right({
    wrappedKey,
    nonce,
    sealed,
    processedAt: pkg.processed_at,
    algorithm: pkg.algorithm,
  });
};

/**
 * Parses a raw response body (UTF-8 JSON) and decodes the package in it.
 *
 * @param body The HTTP body.
 * @param payloadId The request's payload id, carried by errors.
 * @returns The decoded package, or a `SecurityError` (`MalformedPackage`).
 */
export const parsePackage = (
  body: Uint8Array,
  payloadId?: string,
): Either.Either<DecodedPackage, SecurityError> => {
  const large = body.length >= LARGE_PACKAGE ? parseLargePackage(body, payloadId) : undefined;
  if (large !== undefined) return large;
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8Strict(body));
  } catch {
    return Either.left(malformed("body is not UTF-8 JSON", payloadId));
  }
  return decodePackage(value, payloadId);
};

/** Bodies from this many bytes on try {@linkcode parseLargePackage} first. */
const LARGE_PACKAGE = 16 * 1024;
/** `"ciphertext"` without its opening quote, as bytes. */
const CIPHERTEXT_KEY_REST = textEncoder.encode('ciphertext"');
const QUOTE = 0x22;

const isJsonSpace = (c: number | undefined): boolean =>
  c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

const asciiDecoder = new TextDecoder();
/** Bytes searched per string by {@linkcode indexOfQuote} where there is no native `Buffer`. */
const SEARCH_CHUNK = 64 * 1024;

/**
 * `body.indexOf(QUOTE, from)`, fast: `Uint8Array.prototype.indexOf` walks a megabyte in about
 * 0.8 ms on Node and Deno, `Buffer`'s `memchr` in 0.02 ms, and V8's string search in 0.1 ms.
 * Where there is no native `Buffer`, each chunk is decoded and searched as a string; a chunk
 * that is not one character per byte (not ASCII) is searched as bytes.
 */
const indexOfQuote = (body: Uint8Array, from: number): number => {
  if (nativeBuffer !== undefined) {
    return nativeBuffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(QUOTE, from);
  }
  for (let i = from; i < body.length; i += SEARCH_CHUNK) {
    const end = Math.min(i + SEARCH_CHUNK, body.length);
    const chunk = body.subarray(i, end);
    const text = asciiDecoder.decode(chunk);
    const at = text.length === chunk.length ? text.indexOf('"') : chunk.indexOf(QUOTE);
    if (at !== -1) return i + at;
  }
  return -1;
};

/** Where the first `"ciphertext"` starts in `body`, or -1. */
const findCiphertextKey = (body: Uint8Array): number => {
  const rest = CIPHERTEXT_KEY_REST;
  for (let at = body.indexOf(QUOTE); at !== -1; at = body.indexOf(QUOTE, at + 1)) {
    let i = 0;
    while (i < rest.length && body[at + 1 + i] === rest[i]) i++;
    if (i === rest.length) return at;
  }
  return -1;
};

/**
 * `decodePackage(JSON.parse(text))` without turning the ciphertext, nearly all of a large body,
 * into one big string for `JSON.parse`; `undefined` whenever this shortcut cannot prove it gives
 * the same result (the caller then parses the whole body).
 *
 * The ciphertext's string token (the bytes after the first `"ciphertext"` key up to the next
 * quote) is replaced by a random sentinel, and the rest is decoded and parsed. Replacing one
 * string token by another keeps the JSON's shape, so when the parsed
 * `encrypted_payload.ciphertext` is the sentinel, the token was the value `JSON.parse` would
 * have kept (duplicate keys included). Its bytes are then decoded as strict base64, which
 * admits no escape, control or non-ASCII byte: exactly the string `JSON.parse` would have
 * given. The body splits only at ASCII quotes, so it is valid UTF-8 exactly when its parts are
 * (the parts after the first are decoded without stripping a byte order mark). Any refusal is
 * left to the full parse, so that error messages stay exactly as they were.
 */
const parseLargePackage = (
  body: Uint8Array,
  payloadId: string | undefined,
): Either.Either<DecodedPackage, SecurityError> | undefined => {
  const key = findCiphertextKey(body);
  if (key === -1) return undefined;
  let i = key + 1 + CIPHERTEXT_KEY_REST.length;
  while (isJsonSpace(body[i])) i++;
  if (body[i] !== 0x3a) return undefined; // ":"
  i++;
  while (isJsonSpace(body[i])) i++;
  if (body[i] !== QUOTE) return undefined;
  const open = i;
  const close = indexOfQuote(body, open + 1);
  if (close === -1) return undefined;
  const sentinel = `nomyo-${
    Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(36)).join("-")
  }`;
  let skeleton: unknown;
  try {
    skeleton = JSON.parse(
      `${decodeUtf8Strict(body.subarray(0, open))}"${sentinel}"${
        decodeUtf8StrictContinued(body.subarray(close + 1))
      }`,
    );
  } catch {
    return undefined;
  }
  if (!isJsonObject(skeleton)) return undefined;
  const payload = skeleton.encrypted_payload;
  if (!isJsonObject(payload) || payload.ciphertext !== sentinel) return undefined;
  const decoded = decodeFields(skeleton, payloadId, body.subarray(open + 1, close));
  return Either.isRight(decoded) ? decoded : undefined;
};

/** What sealing gives, as bytes: the parts of a package. */
export interface PackageParts {
  /** The RSA-OAEP-wrapped AES key. */
  readonly wrappedKey: Uint8Array;
  /** The 12-byte nonce. */
  readonly nonce: Uint8Array;
  /** `ciphertext || tag`, as WebCrypto returns it. */
  readonly sealed: Uint8Array;
}

/**
 * Builds the wire package from sealed bytes.
 *
 * @param parts The wrapped key, the nonce and `ciphertext || tag` as WebCrypto returns it.
 * @returns The package, with every field of the protocol in the peers' order.
 */
export const buildPackage = (parts: PackageParts): SealedPackage => {
  const split = parts.sealed.length - TAG_BYTES;
  return {
    version: PROTOCOL_VERSION,
    algorithm: PACKAGE_ALGORITHM,
    encrypted_payload: {
      ciphertext: encodeBase64(parts.sealed.subarray(0, split)),
      nonce: encodeBase64(parts.nonce),
      tag: encodeBase64(parts.sealed.subarray(split)),
    },
    encrypted_aes_key: encodeBase64(parts.wrappedKey),
    key_algorithm: KEY_ALGORITHM,
    payload_algorithm: PAYLOAD_ALGORITHM,
  };
};

/**
 * Serializes a package as UTF-8 JSON bytes (the HTTP body).
 *
 * @param pkg The package.
 * @returns Its UTF-8 JSON.
 */
export const encodePackage = (pkg: SealedPackage): Uint8Array<ArrayBuffer> =>
  textEncoder.encode(JSON.stringify(pkg));

// `JSON.stringify(buildPackage(parts))` around its four base64 strings.
const JSON_PARTS = [
  `{"version":"${PROTOCOL_VERSION}","algorithm":"${PACKAGE_ALGORITHM}",` +
  `"encrypted_payload":{"ciphertext":"`,
  `","nonce":"`,
  `","tag":"`,
  `"},"encrypted_aes_key":"`,
  `","key_algorithm":"${KEY_ALGORITHM}","payload_algorithm":"${PAYLOAD_ALGORITHM}"}`,
].map((part) => textEncoder.encode(part));

/**
 * `encodePackage(buildPackage(parts))`, byte for byte, written straight from the bytes: base64
 * needs no JSON escaping, and the ciphertext never becomes one big string.
 *
 * @param parts The wrapped key, the nonce and `ciphertext || tag`.
 * @returns The package as UTF-8 JSON (the HTTP body).
 */
export const encodePackageParts = (parts: PackageParts): Uint8Array<ArrayBuffer> => {
  const split = parts.sealed.length - TAG_BYTES;
  const values = [
    parts.sealed.subarray(0, split),
    parts.nonce,
    parts.sealed.subarray(split),
    parts.wrappedKey,
  ];
  let size = 0;
  for (const part of JSON_PARTS) size += part.length;
  for (const value of values) size += base64Length(value.length);
  const out = new Uint8Array(size);
  let offset = 0;
  for (let i = 0; i < JSON_PARTS.length; i++) {
    const part = JSON_PARTS[i]!;
    out.set(part, offset);
    offset += part.length;
    const value = values[i];
    if (value !== undefined) offset += encodeBase64Into(value, out.subarray(offset));
  }
  return out;
};
