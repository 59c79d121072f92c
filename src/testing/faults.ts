/**
 * Faults the test router can be told to produce: error statuses, non-JSON error bodies, delays,
 * and 200 answers whose package is broken in one named way.
 *
 * @module
 */
import type { SealedPackage } from "../protocol/package.ts";
import { decodeBase64Strict, encodeBase64 } from "../protocol/base64.ts";

/**
 * How to break a successful answer (HTTP 200).
 *
 * On `POST /v1/chat/secure_completion`, starting from a real sealed answer:
 * - `"ciphertext"`, `"tag"`, `"nonce"`, `"wrapped-key"`: one bit of that field flipped (lengths
 *   stay valid, so only the cryptography can tell);
 * - `"missing-tag"`: `encrypted_payload.tag` removed;
 * - `"downgrade"`: `algorithm` set to `"hybrid-aes128-rsa2048"`;
 * - `"wrong-recipient"`: sealed to another RSA key than the caller's;
 * - `"plaintext-not-json"`: a well-sealed package whose plaintext is not JSON;
 * - `"not-json"`: a body that is not JSON at all;
 * - `"html"`: an HTML page (`text/html`), as a captive portal or proxy sends.
 *
 * On `GET /pki/public_key`: `"wrong-recipient"` serves another RSA key (key substitution),
 * `"downgrade"` a 1024-bit RSA key, `"html"` an HTML page, and every other mode text that is
 * not a PEM key.
 */
export type Tamper =
  | "ciphertext"
  | "tag"
  | "nonce"
  | "wrapped-key"
  | "not-json"
  | "html"
  | "missing-tag"
  | "downgrade"
  | "wrong-recipient"
  | "plaintext-not-json";

/** Every {@linkcode Tamper} mode, for tests that loop over them. */
export const TAMPERS: ReadonlyArray<Tamper> = [
  "ciphertext",
  "tag",
  "nonce",
  "wrapped-key",
  "not-json",
  "html",
  "missing-tag",
  "downgrade",
  "wrong-recipient",
  "plaintext-not-json",
];

/**
 * One fault for the test router. A fault with `status` or `rawBody` answers that instead of
 * the normal answer; one with `tamper` breaks a normal 200 answer (an error answer, e.g. a 401,
 * is sent unchanged); one with only `delayMs` delays the normal answer.
 */
export interface Fault {
  /** Answer this status with `{"detail": detail}` (JSON) instead of the normal answer. */
  readonly status?: number;
  /** The `detail` of the error body (default: a text naming the status). */
  readonly detail?: string;
  /** A non-JSON error body (`text/plain`) instead; the status defaults to 500. */
  readonly rawBody?: string;
  /** `Retry-After` header value (seconds or an HTTP date). */
  readonly retryAfter?: string;
  /** Wait this long before answering. The wait ends early when the caller goes away or the
   * router closes, so it never keeps the process alive. */
  readonly delayMs?: number;
  /** Answer 200 with a broken package (see {@linkcode Tamper}). */
  readonly tamper?: Tamper;
  /** How many requests this fault applies to (default 1), then normal service. */
  readonly times?: number;
  /** Which endpoint: `"completion"` (default) or `"public_key"`. */
  readonly path?: "completion" | "public_key";
}

/** Which endpoint a request went to, for fault matching. */
export type FaultPath = "completion" | "public_key";

/**
 * A queue of faults: each request takes the first fault queued for its endpoint.
 */
export interface FaultQueue {
  /** Appends faults (checked: a misuse throws a `TypeError`). */
  readonly push: (faults: ReadonlyArray<Fault>) => void;
  /** Takes the fault that applies to the next request on `path`, if any. */
  readonly take: (path: FaultPath) => Fault | undefined;
  /** Drops every queued fault. */
  readonly clear: () => void;
}

const checkFault = (fault: Fault): void => {
  const { status, times, delayMs } = fault;
  if (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 599)) {
    throw new TypeError(`Cannot inject fault: status ${status} is not an HTTP status`);
  }
  if (times !== undefined && !(Number.isInteger(times) && times >= 1)) {
    throw new TypeError(`Cannot inject fault: times must be a positive integer`);
  }
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new TypeError(`Cannot inject fault: delayMs must be a non-negative number`);
  }
  if (fault.tamper !== undefined && !TAMPERS.includes(fault.tamper)) {
    throw new TypeError(`Cannot inject fault: unknown tamper mode ${String(fault.tamper)}`);
  }
  if (/[\r\n\0]/.test(fault.retryAfter ?? "")) {
    throw new TypeError("Cannot inject fault: retryAfter holds CR, LF or NUL");
  }
};

/**
 * Makes an empty {@linkcode FaultQueue}.
 *
 * @returns The queue.
 */
export const makeFaultQueue = (): FaultQueue => {
  const queue: { fault: Fault; left: number }[] = [];
  return {
    push: (faults) => {
      faults.forEach(checkFault);
      for (const fault of faults) queue.push({ fault, left: fault.times ?? 1 });
    },
    take: (path) => {
      const i = queue.findIndex((q) => (q.fault.path ?? "completion") === path);
      const entry = queue[i];
      if (entry === undefined) return undefined;
      entry.left -= 1;
      if (entry.left === 0) queue.splice(i, 1);
      return entry.fault;
    },
    clear: () => {
      queue.length = 0;
    },
  };
};

/** Flips the lowest bit of the middle byte of a base64 field. */
const flipBit = (b64: string): string => {
  const bytes = decodeBase64Strict(b64);
  if (bytes === undefined || bytes.length === 0) return b64;
  const i = bytes.length >> 1;
  bytes[i] = bytes[i]! ^ 0x01;
  return encodeBase64(bytes);
};

/**
 * Breaks a sealed package in one of the ways that only need the package itself.
 *
 * @param pkg The real sealed answer (with `processed_at`).
 * @param mode `"ciphertext"`, `"tag"`, `"nonce"`, `"wrapped-key"`, `"missing-tag"` or
 * `"downgrade"`; other modes return the package unchanged.
 * @returns The broken package as a JSON-ready object.
 */
export const tamperPackage = (pkg: SealedPackage, mode: Tamper): Record<string, unknown> => {
  const payload = pkg.encrypted_payload;
  switch (mode) {
    case "ciphertext":
      return { ...pkg, encrypted_payload: { ...payload, ciphertext: flipBit(payload.ciphertext) } };
    case "tag":
      return { ...pkg, encrypted_payload: { ...payload, tag: flipBit(payload.tag) } };
    case "nonce":
      return { ...pkg, encrypted_payload: { ...payload, nonce: flipBit(payload.nonce) } };
    case "wrapped-key":
      return { ...pkg, encrypted_aes_key: flipBit(pkg.encrypted_aes_key) };
    case "missing-tag":
      return {
        ...pkg,
        encrypted_payload: { ciphertext: payload.ciphertext, nonce: payload.nonce },
      };
    case "downgrade":
      return { ...pkg, algorithm: "hybrid-aes128-rsa2048" };
    default:
      return { ...pkg };
  }
};

/** The HTML page of the `"html"` tamper mode. */
export const HTML_PAGE =
  "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1></body></html>\n";

/** The body of the `"not-json"` tamper mode. */
export const NOT_JSON_BODY = "this is not JSON {";
