/**
 * What a browser adds to a failed request: mixed content (an `https:` page cannot call an
 * `http:` router, so it is refused before sending), and CORS refusals, which `fetch` reports as
 * a bare `TypeError`. Both get a message that says what the router must allow, and are not
 * retried: another attempt fails the same way (a browser cannot tell a CORS refusal from an
 * unreachable router, so in a page neither is retried; outside browsers connection failures
 * are).
 *
 * @module
 */
import { APIConnectionError } from "../errors.ts";
import { PUBLIC_KEY_PATH, SECURE_COMPLETION_PATH } from "../protocol/endpoints.ts";
import { PROTOCOL_REQUEST_HEADERS } from "../protocol/headers.ts";
// Loopback hosts are potentially trustworthy to browsers: no mixed-content block for them.
import { isLoopback } from "../protocol/loopback.ts";

/** The page (or worker) this code runs in. */
export interface BrowserPage {
  /** `location.protocol`, e.g. `"https:"`. */
  readonly protocol: string;
  /** `location.origin`, e.g. `"https://app.example"`. */
  readonly origin: string;
}

/**
 * The page this code runs in, when it runs in a browser (a `document`, or a worker's global
 * scope); `undefined` in Deno, Node and Bun.
 *
 * @returns The page's protocol and origin, or `undefined`.
 */
export const browserPage = (): BrowserPage | undefined => {
  const g = globalThis as {
    readonly document?: unknown;
    readonly WorkerGlobalScope?: unknown;
    readonly location?: { readonly protocol?: unknown; readonly origin?: unknown };
    readonly Deno?: unknown;
    readonly Bun?: unknown;
    readonly process?: { readonly versions?: { readonly node?: unknown } };
  };
  // A `document` means a page (or a DOM emulation, which asks to be treated as one); a
  // worker scope means a browser worker unless a server runtime is there too (Deno workers).
  const serverRuntime = g.Deno !== undefined || g.Bun !== undefined ||
    typeof g.process?.versions?.node === "string";
  const inPage = (typeof g.document === "object" && g.document !== null) ||
    (!serverRuntime && typeof g.WorkerGlobalScope === "function");
  if (!inPage) return undefined;
  const protocol = typeof g.location?.protocol === "string" ? g.location.protocol : "";
  const origin = typeof g.location?.origin === "string" ? g.location.origin : "";
  return { protocol, origin };
};

/** Whether a page loaded over `https:` would block `url` as mixed content. */
const isMixedContent = (page: BrowserPage, url: string): boolean => {
  if (page.protocol !== "https:") return false;
  try {
    const target = new URL(url);
    return target.protocol === "http:" && !isLoopback(target.hostname);
  } catch {
    return false;
  }
};

const pageName = (page: BrowserPage): string => page.origin === "" ? "this page" : page.origin;

/**
 * The refusal of a request a browser would block as mixed content, before anything is sent.
 *
 * @param page The page.
 * @param url The URL about to be fetched.
 * @param payloadId The request's payload id.
 * @returns An `APIConnectionError` (not retried), or `undefined` when the request may go.
 */
export const mixedContentError = (
  page: BrowserPage | undefined,
  url: string,
  payloadId: string | undefined,
): APIConnectionError | undefined =>
  page === undefined || !isMixedContent(page, url) ? undefined : new APIConnectionError({
    message: `Cannot reach router: ${pageName(page)} is served over https: and the router URL ` +
      "is http:, which the browser blocks as mixed content; serve the router over https:",
    payloadId,
    retryable: false,
  });

/**
 * The error of a `fetch` that rejected with a `TypeError` in a browser: most often a CORS
 * refusal, or the router is unreachable (the browser does not say which).
 *
 * @param page The page.
 * @param payloadId The request's payload id.
 * @returns An `APIConnectionError` that says what the router must allow (not retried).
 */
export const browserFetchError = (
  page: BrowserPage,
  payloadId: string | undefined,
): APIConnectionError =>
  new APIConnectionError({
    message: "Cannot reach router: the browser refused the request or the connection failed; " +
      `from ${pageName(page)}, the likely cause is CORS: the router must answer preflights of ` +
      `GET ${PUBLIC_KEY_PATH} and POST ${SECURE_COMPLETION_PATH}, allow this origin and the ` +
      `request headers ${PROTOCOL_REQUEST_HEADERS} (not retried: another attempt would fail ` +
      "the same way)",
    payloadId,
    retryable: false,
  });
