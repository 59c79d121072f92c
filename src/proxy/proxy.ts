/**
 * A local encrypting proxy: an OpenAI-compatible HTTP server whose every chat completion goes
 * end-to-end encrypted through a `SecureChatCompletion`. Anything that speaks the OpenAI API
 * (any language, curl, IDE plugins) gets the encryption by pointing at
 * `http://127.0.0.1:PORT/v1`. It serves requests with the client's `fetch`, the same handler
 * SDKs get. Built on `node:http`, so it runs under Deno, Node and Bun (not in browsers: hence a
 * separate entry point).
 *
 * It logs one line at most, the warning when it listens off loopback (to `logger`, by default
 * the console): no prompt, no answer, no key ever reaches a log line.
 *
 * @example Embed the proxy in a program
 * ```ts
 * import { SecureChatCompletion } from "@nomyo/client";
 * import { serveProxy } from "@nomyo/client/proxy";
 * import { startTestRouter } from "@nomyo/client/testing";
 * const router = await startTestRouter();
 * await using client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
 * const proxy = await serveProxy({ handler: client.fetch, port: 0 });
 * const answer = await fetch(`${proxy.url}/chat/completions`, {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "Hi" }] }),
 * });
 * console.log((await answer.json()).choices[0].message.content); // "Echo: Hi"
 * await proxy.close();
 * await router.close();
 * ```
 *
 * @module
 */
import { isLoopback } from "../protocol/loopback.ts";
import { answeringFailures, MAX_REQUEST_BYTES, notServedResponse } from "../openai/handler.ts";
import { checkOrigins, type Cors, isPreflight, makeCors } from "../server/cors.ts";
import { serveHttp } from "../server/http_server.ts";
import type { Refusal } from "../server/http_server.ts";
import { errorResponse, payloadTooLargeResponse } from "../server/openai_error.ts";
import { consoleLogger, isNomyoLogger, type NomyoLogger } from "../client/observability.ts";

export { isLoopback } from "../protocol/loopback.ts";

/** Options of {@linkcode serveProxy}. */
export interface ProxyOptions {
  /** What serves each request: a client's `fetch` (`client.fetch`). */
  readonly handler: (request: Request) => Promise<Response>;
  /** Port; default 0 (a free port chosen by the system). */
  readonly port?: number;
  /** Address to bind; default `127.0.0.1`. Any other than loopback needs `allowRemote`. */
  readonly hostname?: string;
  /**
   * Allow binding to an address other than loopback (`127.0.0.0/8`, `::1`, `localhost`).
   * Whoever reaches the port then sends requests with the client's API key; a warning is
   * printed. Default `false`.
   */
  readonly allowRemote?: boolean;
  /**
   * Web origins (e.g. `"http://localhost:3000"`) whose pages may call the proxy; they get CORS
   * headers and preflight answers. Any other request with an `Origin` header is refused (403):
   * without this, every web page the user opens could spend the API key through the proxy.
   * Default: none.
   */
  readonly allowedOrigins?: ReadonlyArray<string>;
  /**
   * Milliseconds a caller has to send a request's whole body; then it is answered 408 and the
   * connection closed (a caller that drips or never ends its body must not hold a connection
   * and up to 10 MiB for ever). Default 30,000.
   */
  readonly requestTimeout?: number;
  /**
   * Milliseconds a new connection has to send a whole request head (request line and headers);
   * then it is closed unanswered (a slowloris caller must not hold connections). Default 10,000.
   */
  readonly headersTimeout?: number;
  /**
   * Milliseconds a kept-alive connection may stay idle after an answer before it is closed.
   * Default 5,000.
   */
  readonly idleTimeout?: number;
  /**
   * Where the proxy's warning goes (openai-node's `Logger` shape, as the client's `logger`
   * option). Default: the console.
   */
  readonly logger?: NomyoLogger;
}

/** A running proxy. */
export interface RunningProxy {
  /** The OpenAI base URL to point tools at: `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and cuts open connections (requests in flight are aborted). Idempotent. */
  close(): Promise<void>;
}

/** The hostname of a `Host` header (`[::1]:80` → `[::1]`, `localhost:80` → `localhost`). */
const hostOf = (host: string | null): string =>
  host === null
    ? ""
    : host.startsWith("[")
    ? host.slice(0, host.indexOf("]") + 1)
    : host.replace(/:\d*$/, "");

/** What the proxy allows from a listed page: its one endpoint, the headers SDKs send. */
const corsOf = (origins: ReadonlyArray<string>): Cors =>
  makeCors({
    origins,
    methods: "POST, OPTIONS",
    allowHeaders: "echo", // SDKs send headers of their own (openai-node's x-stainless-*)
    exposeHeaders: "x-request-id, x-payload-id, retry-after",
  });

/** The methods of the one endpoint: `OPTIONS` for preflights. */
const ALLOW = "POST, OPTIONS";

/** The proxy's own answers to what the bridge refuses, in OpenAI's error shape. */
const refusalAnswer = (base: () => string) => (refusal: Refusal): Response => {
  switch (refusal.status) {
    case 413:
      return payloadTooLargeResponse(MAX_REQUEST_BYTES);
    case 405:
      return notServedResponse(new URL(refusal.target, base()).pathname, refusal.method, ALLOW);
    case 408:
      return errorResponse(408, refusal.message, "request_timeout");
    default:
      return errorResponse(refusal.status, refusal.message, null);
  }
};

/** Adds headers to an answer (its own headers may be immutable). */
const withHeaders = (response: Response, extra: Readonly<Record<string, string>>): Response => {
  if (Object.keys(extra).length === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
};

/**
 * Starts the proxy. Requests go to `handler` as WHATWG `Request`s (bodies capped at 10 MiB,
 * over it 413 `PayloadTooLarge` in OpenAI's error shape, chunked or not, and given
 * `requestTimeout` to arrive, past it 408); a caller that goes away aborts its request; a
 * connection that does not send its request head within `headersTimeout`, or stays idle past
 * `idleTimeout` after an answer, is closed. With `client.fetch` as the handler, a failure
 * without a status (no connection to the router, a timeout) is 502 or 504 in OpenAI's error
 * shape; another handler that rejects gets 502. A method other than `POST` (and `OPTIONS`
 * preflights) is 405 on the endpoint and 404 elsewhere.
 *
 * Bound to loopback, it serves only requests whose `Host` names loopback (no DNS rebinding),
 * and in every case only browser pages from `allowedOrigins`.
 *
 * @param options The handler (`client.fetch`), port, address, allowed web origins, timeouts.
 * @returns The running proxy.
 * @throws {TypeError} On a bad port, timeout or `allowedOrigins` entry (not exactly
 *   `scheme://host[:port]`), or a non-loopback address without `allowRemote`.
 */
export const serveProxy = async (options: ProxyOptions): Promise<RunningProxy> => {
  const {
    handler,
    port = 0,
    hostname = "127.0.0.1",
    allowRemote = false,
    requestTimeout = 30_000,
    headersTimeout = 10_000,
    idleTimeout = 5_000,
  } = options;
  const origins = options.allowedOrigins ?? [];
  checkOrigins(origins, "Cannot start proxy: allowedOrigins");
  const cors = corsOf(origins);
  const logger = options.logger ?? consoleLogger;
  if (!isNomyoLogger(logger)) {
    throw new TypeError(
      "Cannot start proxy: logger must have error, warn, info and debug functions",
    );
  }
  const checkHost = isLoopback(hostname);
  if (typeof handler !== "function") {
    throw new TypeError("Cannot start proxy: handler must be a function (client.fetch)");
  }
  for (
    const [name, value] of [
      ["requestTimeout", requestTimeout],
      ["headersTimeout", headersTimeout],
      ["idleTimeout", idleTimeout],
    ] as const
  ) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new TypeError(`Cannot start proxy: ${name} must be a positive number of ms`);
    }
  }
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new TypeError(`Cannot start proxy: port ${port} is not a port number`);
  }
  if (!checkHost) {
    if (!allowRemote) {
      throw new TypeError(
        `Cannot start proxy: ${hostname} is not a loopback address; allow it with allowRemote (--allow-remote)`,
      );
    }
    try {
      logger.warn(
        `the proxy listens on ${hostname}, not on loopback. Anyone who ` +
          "reaches this port sends requests with this client's API key, and prompts and answers " +
          "cross the network between them and the proxy unencrypted.",
      );
    } catch {
      // A logger's failure does not stop the proxy.
    }
  }
  // `client.fetch` rejects as `fetch` does for connection failures (SDKs expect it); its
  // answering entry returns those failures as 502/504 answers instead.
  const answering = (handler as { readonly [answeringFailures]?: unknown })[answeringFailures];
  const complete = typeof answering === "function"
    ? answering as (request: Request) => Promise<Response>
    : handler;

  const serve = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const origin = request.headers.get("origin");
    if (checkHost && !isLoopback(hostOf(request.headers.get("host")))) {
      return errorResponse(
        403,
        "Cannot serve request: the Host header does not name this machine",
        "host_refused",
      );
    }
    if (!cors.allows(origin)) {
      return errorResponse(
        403,
        "Cannot serve request: requests from web pages are refused (see allowedOrigins)",
        "origin_refused",
      );
    }
    if (isPreflight(request)) {
      const allowed = cors.preflight({
        origin,
        requestHeaders: request.headers.get("access-control-request-headers"),
      });
      return new Response(null, { status: 204, headers: allowed ?? {} });
    }
    if (request.method !== "POST") {
      return withHeaders(
        notServedResponse(url.pathname, request.method, ALLOW),
        cors.answer(origin),
      );
    }
    let response: Response;
    try {
      response = await complete(request);
    } catch {
      if (request.signal.aborted) return Response.error(); // the caller left: no answer
      response = errorResponse(502, "Cannot reach router", null, { retry: false });
    }
    return withHeaders(response, cors.answer(origin));
  };

  let base = "";
  const server = await serveHttp(serve, {
    hostname,
    port,
    maxBodyBytes: MAX_REQUEST_BYTES,
    headersTimeout,
    idleTimeout,
    bodyTimeout: requestTimeout,
    refuse: refusalAnswer(() => base),
  });
  base = server.url;
  if (!allowRemote && !isLoopback(server.address)) {
    // A name that resolved elsewhere than loopback: do not serve on it.
    await server.close();
    throw new TypeError(
      `Cannot start proxy: ${hostname} resolved to ${server.address}, not a loopback address`,
    );
  }
  return { url: `${server.url}/v1`, port: server.port, close: () => server.close() };
};
