/**
 * What a failed connection to the router was, told from the `fetch` error's cause chain, for a
 * message that names the router's origin and the cause: refused, DNS, a rejected TLS
 * certificate, a reset or a connect timeout. Deno, Node (undici) and Bun fail differently:
 *
 * | cause | Deno | Node | Bun |
 * |---|---|---|---|
 * | refused | `tcp connect error: Connection refused` | `code: "ECONNREFUSED"` | `code: "ECONNREFUSED"` |
 * | DNS | `dns error: failed to lookup address information` | `code: "ENOTFOUND"` / `"EAI_AGAIN"` | `code: "ENOTFOUND"` |
 * | certificate | `invalid peer certificate: …` | `code: "DEPTH_ZERO_SELF_SIGNED_CERT"`, `"CERT_HAS_EXPIRED"`, … | the same codes |
 *
 * Only `code` and `message` are read (to classify), never copied into the message: the message
 * is built from fixed text and the origin (scheme, host and port: no userinfo, path or query).
 * Nothing of the platform's error, whose request carries the headers, is kept.
 *
 * @module
 */
import { APIConnectionError } from "../errors.ts";

/** What went wrong with a connection. */
export type ConnectionFailure =
  | { readonly kind: "refused" }
  | { readonly kind: "dns" }
  | { readonly kind: "certificate"; readonly why: string | undefined }
  | { readonly kind: "reset" }
  | { readonly kind: "timeout" }
  | { readonly kind: "permission" }
  | { readonly kind: "unknown" };

/** How deep the cause chain is followed. */
const MAX_DEPTH = 8;

/** A property of an error, read without running a getter that throws. */
const read = (value: unknown, key: "code" | "message" | "cause"): unknown => {
  if (typeof value !== "object" || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
};

/** The codes and messages along the cause chain (cycles and depth bounded). */
const evidence = (error: unknown): { codes: string[]; text: string } => {
  const codes: string[] = [];
  const texts: string[] = [];
  const seen = new Set<unknown>();
  let current = error;
  for (let i = 0; i < MAX_DEPTH && typeof current === "object" && current !== null; i++) {
    if (seen.has(current)) break;
    seen.add(current);
    const code = read(current, "code");
    if (typeof code === "string") codes.push(code);
    const message = read(current, "message");
    if (typeof message === "string") texts.push(message.slice(0, 1000));
    current = read(current, "cause");
  }
  return { codes, text: texts.join("\n") };
};

const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA"]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ConnectionClosed"]);
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/** Why a certificate was rejected, when the runtime says it in a way known here. */
const certificateWhy = (codes: ReadonlyArray<string>, text: string): string | undefined => {
  const all = `${codes.join(" ")}\n${text}`;
  if (/SELF_SIGNED|self[- ]signed|CaUsedAsEndEntity/i.test(all)) return "self-signed";
  if (/EXPIRED|expired/i.test(all)) return "expired";
  if (/ALTNAME|NotValidForName|hostname|host name/i.test(all)) return "issued for another host";
  if (/UNABLE_TO_(VERIFY|GET_ISSUER)|UnknownIssuer|unknown issuer/i.test(all)) {
    return "issued by an unknown authority";
  }
  return undefined;
};

/**
 * Tells what a connection failure was from its cause chain.
 *
 * @param error What `fetch` rejected with (or the platform's `cause` of it).
 * @returns The kind of failure, and for a certificate why, when known.
 */
export const classifyConnectionFailure = (error: unknown): ConnectionFailure => {
  const { codes, text } = evidence(error);
  // Deno without --allow-net for the router's host: `NotCapable`, "Requires net access to …".
  if (/Requires net access/.test(text)) return { kind: "permission" };
  const has = (set: ReadonlySet<string>) => codes.some((c) => set.has(c));
  if (codes.includes("ECONNREFUSED") || codes.includes("ConnectionRefused")) {
    return { kind: "refused" };
  }
  if (/connection refused|ECONNREFUSED/i.test(text)) return { kind: "refused" };
  if (has(DNS_CODES) || /dns error|failed to lookup address|getaddrinfo|ENOTFOUND/i.test(text)) {
    return { kind: "dns" };
  }
  if (codes.some((c) => CERTIFICATE_CODE.test(c)) || /certificate/i.test(text)) {
    return { kind: "certificate", why: certificateWhy(codes, text) };
  }
  if (has(RESET_CODES) || /connection reset|socket hang up|connection closed/i.test(text)) {
    return { kind: "reset" };
  }
  if (has(TIMEOUT_CODES) || /timed out/i.test(text)) return { kind: "timeout" };
  return { kind: "unknown" };
};

/** The failure in words, after "Cannot reach router at <origin>: ". */
const describe = (failure: ConnectionFailure): string => {
  switch (failure.kind) {
    case "refused":
      return "connection refused (is the router running, on that port?)";
    case "dns":
      return "its host name could not be resolved (DNS)";
    case "certificate":
      return `its TLS certificate was rejected (${failure.why ?? "not trusted"})`;
    case "reset":
      return "the connection was closed before the answer";
    case "timeout":
      return "the connection timed out";
    case "permission":
      return "Deno's permissions do not allow it (run with --allow-net for that host)";
    case "unknown":
      return "the connection failed or was cut off";
  }
};

/**
 * The origin of a URL for a message: scheme, host and port, never userinfo, path or query.
 *
 * @param url A request URL.
 * @returns Its origin, or `"the router"` when it does not parse.
 */
export const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return "the router";
  }
};

/**
 * The error of a request that could not reach the router, naming its origin and the cause.
 *
 * @param url The request's URL (only its origin is shown).
 * @param error What `fetch` rejected with, for the cause (read, never kept).
 * @param payloadId The request's payload id.
 * @returns The error (retried by default).
 */
export const connectionFailureError = (
  url: string,
  error: unknown,
  payloadId: string | undefined,
): APIConnectionError =>
  new APIConnectionError({
    message: `Cannot reach router at ${originOf(url)}: ${
      describe(classifyConnectionFailure(error))
    }`,
    payloadId,
  });
