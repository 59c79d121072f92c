/**
 * CORS for the test router, so that a page on another origin (a dev server on another port) can
 * reach it: preflights answered with the protocol's request headers, and
 * `Access-Control-Allow-Origin` on every answer, errors included.
 *
 * @module
 */
import { PROTOCOL_REQUEST_HEADERS } from "../protocol/headers.ts";

/** Which origins may call the router: `true` any (`*`), or exactly these origins. */
export type CorsOrigins = true | ReadonlyArray<string>;

/**
 * The request headers of the protocol, as a preflight must allow them: the client's own list
 * (the one its CORS error message names).
 */
export const CORS_REQUEST_HEADERS: ReadonlyArray<string> = PROTOCOL_REQUEST_HEADERS.split(", ");

/** Answer headers a page must be able to read beyond the safelisted ones (the client reads `Retry-After`). */
const EXPOSED_HEADERS = "Retry-After, WWW-Authenticate";
/** How long a browser may cache a preflight, in seconds. */
const MAX_AGE = "600";

/** The CORS headers of one endpoint's answers. */
export interface Cors {
  /**
   * Headers for an actual answer (any status).
   *
   * @param origin The request's `Origin` header.
   */
  readonly answer: (origin: string | undefined) => Record<string, string>;
  /**
   * Headers for a preflight of an endpoint, or `undefined` when the origin is not allowed.
   *
   * @param origin The request's `Origin` header.
   * @param method The endpoint's method.
   * @param privateNetwork Whether the preflight asked `Access-Control-Request-Private-Network`.
   */
  readonly preflight: (
    origin: string | undefined,
    method: string,
    privateNetwork: boolean,
  ) => Record<string, string> | undefined;
}

/**
 * Checks the `cors` option.
 *
 * @param cors The option as given.
 * @throws {TypeError} Unless it is `undefined`, a boolean, or a non-empty list of origins
 * (`scheme://host[:port]`, no path, no trailing slash).
 */
export const checkCorsOption = (cors: unknown): void => {
  if (cors === undefined || typeof cors === "boolean") return;
  if (!Array.isArray(cors) || cors.length === 0) {
    throw new TypeError(
      "Cannot start test router: cors must be true, false or a non-empty list of origins",
    );
  }
  for (const origin of cors) {
    if (typeof origin !== "string" || !isOrigin(origin)) {
      throw new TypeError(
        `Cannot start test router: cors origin ${
          JSON.stringify(origin)
        } is not an origin like https://app.example:8443`,
      );
    }
  }
};

/**
 * Whether `text` is exactly an HTTP(S) origin, as browsers send it in `Origin`.
 *
 * @param text The candidate.
 * @returns `true` for `scheme://host[:port]` with no path, query or trailing slash.
 */
export const isOrigin = (text: string): boolean => {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text;
  } catch {
    return false;
  }
};

/**
 * Makes the CORS policy of the router.
 *
 * @param origins Any origin (`true`) or these.
 * @returns The headers of actual answers and of preflights.
 */
export const makeCors = (origins: CorsOrigins): Cors => {
  const allowed = origins === true ? undefined : new Set(origins);
  const allowOrigin = (origin: string | undefined): Record<string, string> | undefined => {
    if (allowed === undefined) return { "access-control-allow-origin": "*" };
    // A list echoes the one origin; caches must then key on Origin.
    if (origin !== undefined && allowed.has(origin)) {
      return { "access-control-allow-origin": origin, vary: "Origin" };
    }
    return undefined;
  };
  return {
    answer: (origin) => {
      const allow = allowOrigin(origin);
      if (allow === undefined) return { vary: "Origin" };
      return { ...allow, "access-control-expose-headers": EXPOSED_HEADERS };
    },
    preflight: (origin, method, privateNetwork) => {
      const allow = allowOrigin(origin);
      if (allow === undefined) return undefined;
      return {
        ...allow,
        "access-control-allow-methods": method,
        "access-control-allow-headers": PROTOCOL_REQUEST_HEADERS,
        "access-control-max-age": MAX_AGE,
        ...(privateNetwork ? { "access-control-allow-private-network": "true" } : {}),
      };
    },
  };
};
