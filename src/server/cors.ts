/**
 * CORS and web origins, for every server of the library (the proxy, the test router): exact
 * origins as browsers send them in `Origin`, `"null"` refused (every sandboxed frame and
 * `file://` page of any site sends it), preflight answers, and the headers of actual answers.
 *
 * @module
 */

/** Which origins may call: `true` any (`*`), or exactly these origins. */
export type CorsOrigins = true | ReadonlyArray<string>;

/** How long a browser may cache a preflight, in seconds. */
const MAX_AGE = "600";

/**
 * Whether `text` is exactly an HTTP(S) origin, as browsers send it in `Origin`.
 *
 * @param text The candidate.
 * @returns `true` for `scheme://host[:port]` with no path, query or trailing slash.
 */
export const isOrigin = (text: string): boolean => originOf(text) === text;

/** The HTTP(S) origin of a URL, `undefined` when it has none (not a URL, `"null"` origin). */
const originOf = (text: string): string | undefined => {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Checks a list of allowed origins.
 *
 * @param origins The list as given.
 * @param what What the caller is, for the message: `"Cannot start proxy: allowedOrigins"`.
 * @throws {TypeError} Unless it is an array of exact origins: `"null"` is refused, and an entry
 *   a browser never sends (a path, a trailing slash, a wildcard) names the origin it meant.
 */
export const checkOrigins = (origins: unknown, what: string): void => {
  if (!Array.isArray(origins)) throw new TypeError(`${what} must be a list of origins`);
  for (const origin of origins as unknown[]) {
    if (origin === "null") {
      throw new TypeError(
        `${what}: the origin "null" is refused (every sandboxed frame and file:// page of ` +
          "any site sends it)",
      );
    }
    if (typeof origin !== "string" || !isOrigin(origin)) {
      const meant = typeof origin === "string" ? originOf(origin) : undefined;
      throw new TypeError(
        `${what} entry ${
          JSON.stringify(typeof origin === "string" ? origin.slice(0, 200) : origin)
        } ` +
          "is not an origin (scheme://host[:port], as browsers send it, e.g. https://app.example:8443)" +
          (meant === undefined ? "" : `; did you mean ${JSON.stringify(meant)}?`),
      );
    }
  }
};

/** What a server allows across origins. */
export interface CorsPolicy {
  /** The allowed origins: `true` any (`*`), or exactly these (checked with {@linkcode checkOrigins}). */
  readonly origins: CorsOrigins;
  /** The methods a preflight allows, e.g. `"POST"`. */
  readonly methods: string;
  /**
   * The request headers a preflight allows, e.g. the protocol's; `"echo"` allows what the
   * preflight asked (for an allowed origin only: SDKs add headers of their own).
   */
  readonly allowHeaders: string;
  /** The answer headers a page may read beyond the safelisted ones, e.g. `"Retry-After"`. */
  readonly exposeHeaders: string;
}

/** A CORS policy, ready to answer. */
export interface Cors {
  /**
   * Whether a request with this `Origin` may be served: no `Origin` (not a page), or one allowed.
   *
   * @param origin The request's `Origin` header.
   */
  readonly allows: (origin: string | null | undefined) => boolean;
  /**
   * Headers for an actual answer (any status).
   *
   * @param origin The request's `Origin` header.
   */
  readonly answer: (origin: string | null | undefined) => Record<string, string>;
  /**
   * Headers for a preflight, or `undefined` when the origin is not allowed.
   *
   * @param request The preflight's `Origin`, `Access-Control-Request-Headers`, and whether it
   *   asked `Access-Control-Request-Private-Network`.
   * @param methods The methods to allow, when not the policy's.
   */
  readonly preflight: (
    request: {
      readonly origin: string | null | undefined;
      readonly requestHeaders?: string | null | undefined;
      readonly privateNetwork?: boolean;
    },
    methods?: string,
  ) => Record<string, string> | undefined;
}

/**
 * Whether a request is a CORS preflight: `OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`.
 *
 * @param request The request.
 * @returns `true` for a preflight.
 */
export const isPreflight = (request: Request): boolean =>
  request.method === "OPTIONS" && request.headers.has("origin") &&
  request.headers.has("access-control-request-method");

/**
 * Makes a CORS policy.
 *
 * @param policy The origins, methods and headers.
 * @returns What to answer.
 */
export const makeCors = (policy: CorsPolicy): Cors => {
  const listed = policy.origins === true ? undefined : new Set(policy.origins);
  const allowOrigin = (origin: string | null | undefined): Record<string, string> | undefined => {
    if (listed === undefined) return { "access-control-allow-origin": "*" };
    // A list echoes the one origin; caches must then key on Origin.
    if (typeof origin === "string" && listed.has(origin)) {
      return { "access-control-allow-origin": origin, vary: "Origin" };
    }
    return undefined;
  };
  return {
    allows: (origin) =>
      origin === null || origin === undefined || allowOrigin(origin) !== undefined,
    answer: (origin) => {
      const allow = allowOrigin(origin);
      if (allow === undefined) return listed === undefined ? {} : { vary: "Origin" };
      return { ...allow, "access-control-expose-headers": policy.exposeHeaders };
    },
    preflight: ({ origin, requestHeaders, privateNetwork }, methods = policy.methods) => {
      const allow = allowOrigin(origin);
      if (allow === undefined) return undefined;
      const headers = policy.allowHeaders === "echo" ? requestHeaders ?? "" : policy.allowHeaders;
      return {
        ...allow,
        "access-control-allow-methods": methods,
        ...(headers === "" ? {} : { "access-control-allow-headers": headers }),
        "access-control-max-age": MAX_AGE,
        ...(privateNetwork === true ? { "access-control-allow-private-network": "true" } : {}),
        "access-control-expose-headers": policy.exposeHeaders,
      };
    },
  };
};
