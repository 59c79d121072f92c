/**
 * Strict PEM armour (RFC 7468) for the four key labels this library reads and writes.
 *
 * Parsing accepts exactly one block, optionally surrounded by blank space, with LF or CRLF line
 * breaks; the body is standard base64 with `=` padding, canonical (unused bits zero), broken
 * into lines of any length. Anything else (other text, other labels, a second block, blank lines
 * or spaces inside the body, RFC 1421 headers) is refused. The legacy OpenSSL encryption of
 * `RSA PRIVATE KEY` files (`Proc-Type: 4,ENCRYPTED` + `DEK-Info`, MD5-based key derivation) is
 * refused with `"UnsupportedEncryption"` so callers can tell users to convert the file.
 *
 * Formatting writes 64-character lines and a trailing newline, as OpenSSL does.
 * {@linkcode formatPemBytes} writes ASCII bytes without ever building a JS string, for private
 * keys (a string cannot be zeroed); {@linkcode formatPem} returns a string, for public keys.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Encoding from "effect/Encoding";
import { KeyError } from "../errors.ts";

/** The labels this library knows. */
export type PemLabel = "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "PUBLIC KEY";

const LABELS: ReadonlySet<string> = new Set<PemLabel>([
  "PRIVATE KEY",
  "RSA PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
  "PUBLIC KEY",
]);

/** A parsed PEM block. */
export interface PemBlock {
  /** The label of the `BEGIN`/`END` lines. */
  readonly label: PemLabel;
  /** The decoded body, a fresh buffer owned by the caller (zero it when it held a secret). */
  readonly der: Uint8Array<ArrayBuffer>;
}

/** Largest PEM input accepted, in bytes or characters. */
export const MAX_PEM_LENGTH = 65536;

const malformed = (detail: string): KeyError =>
  new KeyError({ reason: "Malformed", message: `Cannot read PEM: ${detail}` });

const BEGIN = /^-----BEGIN ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/;
const END = /^-----END ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/;
const BODY_LINE = /^[A-Za-z0-9+/=]+$/;
const LEGACY_HEADER = /^(Proc-Type|DEK-Info):/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const toText = (input: string | Uint8Array): string | KeyError => {
  if (input.length > MAX_PEM_LENGTH) {
    return malformed(`input is larger than ${MAX_PEM_LENGTH} bytes`);
  }
  if (typeof input === "string") {
    // deno-lint-ignore no-control-regex
    return /[^\x00-\x7f]/.test(input) ? malformed("input is not ASCII") : input;
  }
  for (const b of input) if (b > 0x7f) return malformed("input is not ASCII");
  return new TextDecoder().decode(input);
};

const parseSync = (input: string | Uint8Array): PemBlock | KeyError => {
  const text = toText(input);
  if (text instanceof KeyError) return text;
  const lines = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "").split("\n").map((l) =>
    l.endsWith("\r") ? l.slice(0, -1) : l
  );
  const begin = BEGIN.exec(lines[0] ?? "");
  if (begin === null) return malformed("no BEGIN line");
  const label = begin[1]!;
  if (lines.length < 3) return malformed("no body");
  const end = END.exec(lines[lines.length - 1]!);
  if (end === null) return malformed("no END line, or text after it");
  if (end[1] !== label) return malformed("BEGIN and END labels differ");
  if (!LABELS.has(label)) return malformed(`unknown label "${label}"`);
  const body = lines.slice(1, -1);
  if (body.some((l) => LEGACY_HEADER.test(l))) {
    return new KeyError({
      reason: "UnsupportedEncryption",
      message:
        "Cannot read PEM: legacy OpenSSL encryption (Proc-Type/DEK-Info) is not supported; convert the file with `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
    });
  }
  for (const l of body) {
    if (l.includes(":")) return malformed("headers are not supported");
    if (l.startsWith("-----")) return malformed("more than one block");
    if (!BODY_LINE.test(l)) return malformed("body is not base64");
  }
  const b64 = body.join("");
  const decoded = Encoding.decodeBase64(b64);
  if (Either.isLeft(decoded)) return malformed("body is not base64");
  // Encoding.decodeBase64 returns a fresh `new Uint8Array(n)`, so its buffer is an ArrayBuffer.
  const der = decoded.right as Uint8Array<ArrayBuffer>;
  // Canonical base64: the bits dropped by the padding must be zero.
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  const last = pad === 0 ? 0 : ALPHABET.indexOf(b64[b64.length - pad - 1]!);
  if (
    der.length === 0 || (pad === 2 && (last & 0x0f) !== 0) || (pad === 1 && (last & 0x03) !== 0)
  ) {
    der.fill(0);
    return malformed("body is not canonical base64");
  }
  return { label: label as PemLabel, der };
};

/**
 * Parses one PEM block.
 *
 * @param input The PEM text, as a string or as ASCII bytes (a file's contents).
 * @returns The label and decoded body, or a `KeyError`: `"Malformed"` for anything not strict
 * PEM with a known label, `"UnsupportedEncryption"` for legacy OpenSSL-encrypted files.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { parsePem } from "./pem.ts";
 * const block = Effect.runSync(parsePem("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"));
 * // block.label === "PUBLIC KEY", block.der is [0x30, 0x00]
 * ```
 */
export const parsePem = (input: string | Uint8Array): Effect.Effect<PemBlock, KeyError> =>
  Effect.suspend(() => {
    const r = parseSync(input);
    return r instanceof KeyError ? Effect.fail(r) : Effect.succeed(r);
  });

/**
 * Formats DER as PEM: 64-character lines and a trailing newline. Returns a string, which
 * cannot be zeroed: use {@linkcode formatPemBytes} for private keys.
 *
 * @param label The label.
 * @param der The DER body.
 * @returns The PEM text.
 */
export const formatPem = (label: PemLabel, der: Uint8Array): string => {
  const b64 = Encoding.encodeBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
};

const ALPHABET_CODES: Uint8Array = new TextEncoder().encode(ALPHABET);

/**
 * Formats DER as PEM into ASCII bytes, byte for byte the same as {@linkcode formatPem}, without
 * building any string from `der`, so the result can be zeroed.
 *
 * @param label The label.
 * @param der The DER body.
 * @returns The PEM bytes, a fresh buffer (zero it when it held a secret).
 */
export const formatPemBytes = (label: PemLabel, der: Uint8Array): Uint8Array<ArrayBuffer> => {
  const head = new TextEncoder().encode(`-----BEGIN ${label}-----\n`);
  const tail = new TextEncoder().encode(`-----END ${label}-----\n`);
  const chars = Math.ceil(der.length / 3) * 4;
  const lineCount = Math.ceil(chars / 64);
  const out = new Uint8Array(head.length + chars + lineCount + tail.length);
  out.set(head, 0);
  let pos = head.length;
  let col = 0;
  const put = (c: number): void => {
    out[pos++] = c;
    if (++col === 64) {
      out[pos++] = 0x0a;
      col = 0;
    }
  };
  for (let i = 0; i < der.length; i += 3) {
    const b0 = der[i]!;
    const b1 = der[i + 1];
    const b2 = der[i + 2];
    put(ALPHABET_CODES[b0 >> 2]!);
    put(ALPHABET_CODES[((b0 & 0x03) << 4) | ((b1 ?? 0) >> 4)]!);
    put(b1 === undefined ? 0x3d : ALPHABET_CODES[((b1 & 0x0f) << 2) | ((b2 ?? 0) >> 6)]!);
    put(b2 === undefined ? 0x3d : ALPHABET_CODES[b2 & 0x3f]!);
  }
  if (col !== 0) out[pos++] = 0x0a;
  out.set(tail, pos);
  return out;
};
