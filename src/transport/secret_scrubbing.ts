/**
 * What a router answers with, made safe to keep: every occurrence of the request's API key
 * (which a hostile router can echo back anywhere) replaced by `[redacted]` in error bodies and
 * kept out of the response headers; control characters and bidirectional overrides in the
 * router's `detail` escaped, so that it cannot forge log lines; sizes and depths bounded.
 *
 * @module
 */
import { defineOwn, isWithinDepth, parseJsonBounded } from "../protocol/json.ts";

/** The longest error detail kept in a message. */
const MAX_DETAIL_CHARS = 500;

const cut = (text: string): string =>
  text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;

/** What replaces a secret a router echoed back. */
const REDACTED = "[redacted]";

/** `text` with every occurrence of each secret replaced by {@linkcode REDACTED}. */
const scrubText = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((t, secret) => secret === "" ? t : t.replaceAll(secret, REDACTED), text);

/**
 * A parsed JSON value (of bounded depth) with the secrets scrubbed from every string and key:
 * JSON escapes (`\u0073k-…`) can spell a secret that the raw text does not hold.
 */
const scrubJson = (value: unknown, secrets: ReadonlyArray<string>): unknown => {
  if (typeof value === "string") return scrubText(value, secrets);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrubJson(v, secrets));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // defineOwn: a key named "__proto__" stays a plain entry.
    defineOwn(out, scrubText(key, secrets), scrubJson(v, secrets));
  }
  return out;
};

/**
 * Parses an error body: JSON when it is JSON of bounded depth (see `MAX_JSON_DEPTH`), else the
 * text (cut short), so that nothing deep is kept on the error for code that walks it. Every
 * occurrence of a secret (the request's API key, which a hostile router can echo back in its
 * `detail`) is replaced by `[redacted]`, before the body reaches an error, a log or an SDK.
 *
 * @param bytes The error body.
 * @param secrets Values that must not appear (the API key of the request).
 * @returns The parsed, scrubbed body.
 */
export const parseErrorBody = (bytes: Uint8Array, secrets: ReadonlyArray<string> = []): unknown => {
  const text = new TextDecoder().decode(bytes);
  const parsed = parseJsonBounded(text);
  return parsed.ok ? scrubJson(parsed.value, secrets) : cut(scrubText(text, secrets));
};

/**
 * Control characters (C0, DEL, C1) and bidirectional overrides: in a message they would let a
 * router forge log lines (a newline, then `level=ERROR …`), recolour a terminal (ANSI escapes)
 * or reorder what a reader sees.
 */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each unprintable character written as a `\u` escape with four hex digits. */
const printable = (text: string): string =>
  text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * The router's `detail`, when the body has one (a non-string one as JSON), cut short and with
 * control characters escaped, ready for a message.
 *
 * @param body A parsed error body (from {@linkcode parseErrorBody}, or a caller's).
 * @returns The printable detail, or `undefined` when there is none.
 */
export const detailOf = (body: unknown): string | undefined => {
  if (typeof body !== "object" || body === null) return undefined;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === "string") return printable(detail.slice(0, MAX_DETAIL_CHARS));
  if (detail === undefined) return undefined;
  // `body` may come from anywhere (a caller's error body too): bound it before stringifying.
  if (!isWithinDepth(detail)) return "error detail nested too deep";
  return printable(JSON.stringify(detail).slice(0, MAX_DETAIL_CHARS));
};

/** Longest header value kept in `APIError.headers`. */
const MAX_HEADER_CHARS = 1024;
/** Most headers kept in `APIError.headers`. */
const MAX_HEADERS = 64;
/** Headers never kept: they can carry a session credential. */
const DROPPED_HEADERS: ReadonlySet<string> = new Set(["set-cookie", "set-cookie2"]);

/**
 * The router's response headers as a plain record for `APIError.headers`: names lowercased, at
 * most 64 of them, no cookies, no value over 1024 characters, and no value that holds one of
 * `secrets` (a hostile router could echo the API key back).
 *
 * @param headers The response headers.
 * @param secrets Values that must not appear (the API key of the request).
 * @returns The record.
 */
export const responseHeaders = (
  headers: Readonly<Record<string, string>>,
  secrets: ReadonlyArray<string> = [],
): Record<string, string> => {
  const out: Record<string, string> = {};
  let kept = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (kept >= MAX_HEADERS) break;
    const key = name.toLowerCase();
    if (DROPPED_HEADERS.has(key) || value.length > MAX_HEADER_CHARS) continue;
    if (
      secrets.some((secret) => secret !== "" && (value.includes(secret) || key.includes(secret)))
    ) {
      continue;
    }
    // defineOwn: a header named "__proto__" stays a plain entry.
    defineOwn(out, key, value);
    kept++;
  }
  return out;
};
