/**
 * A local encrypting proxy: an OpenAI-compatible HTTP server whose every chat completion goes
 * end-to-end encrypted through a `SecureChatCompletion`. Anything that speaks the OpenAI API
 * (any language, curl, IDE plugins) gets the encryption by pointing at
 * `http://127.0.0.1:PORT/v1`. It serves requests with the client's `fetch`, the same handler
 * SDKs get. Built on `node:http`, so it runs under Deno, Node and Bun (not in browsers: hence a
 * separate entry point).
 *
 * It logs nothing: no prompt, no answer, no key ever reaches a log line.
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
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { errorResponse, fetchFailureResponse } from "../openai/errors.ts";
import { MAX_REQUEST_BYTES } from "../openai/handler.ts";

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

/**
 * Whether a hostname names the loopback interface.
 *
 * @param hostname An address or name.
 * @returns `true` for `localhost`, `127.x.x.x` and `::1`.
 */
export const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "::1" || hostname === "[::1]" ||
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/** The hostname of a `Host` header (`[::1]:80` → `[::1]`, `localhost:80` → `localhost`). */
const hostOf = (host: string | undefined): string =>
  host === undefined
    ? ""
    : host.startsWith("[")
    ? host.slice(0, host.indexOf("]") + 1)
    : host.replace(/:\d*$/, "");

/**
 * Refuses requests a loopback proxy must not serve: a `Host` that is not loopback (a DNS
 * rebinding page), and a browser page (an `Origin` header) not allowed by the caller.
 */
const refusal = (
  req: IncomingMessage,
  checkHost: boolean,
  origins: ReadonlySet<string>,
): Response | undefined => {
  if (checkHost && !isLoopback(hostOf(req.headers.host).toLowerCase())) {
    return errorResponse(
      403,
      "Cannot serve request: the Host header does not name this machine",
      "host_refused",
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !origins.has(origin)) {
    return errorResponse(
      403,
      "Cannot serve request: requests from web pages are refused (see allowedOrigins)",
      "origin_refused",
    );
  }
  return undefined;
};

/** The origin of a URL (`undefined` when it is not a URL with one). */
const originOf = (url: string): string | undefined => {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
};

/** CORS headers for an allowed origin. */
const corsHeaders = (req: IncomingMessage): Record<string, string> => {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  const asked = req.headers["access-control-request-headers"];
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-allow-headers": typeof asked === "string"
      ? asked
      : "content-type, authorization",
    "access-control-expose-headers": "x-request-id, x-payload-id, retry-after",
    vary: "origin",
  };
};

/**
 * Reads the body, at most `max` bytes within `timeout` ms; `"too-large"` past the size,
 * `"too-slow"` past the time, `undefined` when cut off.
 */
const readBody = async (
  req: IncomingMessage,
  max: number,
  timeout: number,
): Promise<Uint8Array<ArrayBuffer> | "too-large" | "too-slow" | undefined> => {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) return "too-large";
  const parts: Uint8Array[] = [];
  let total = 0;
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    req.emit("error", new Error("request body timed out")); // ends the loop below
  }, timeout);
  try {
    for await (const chunk of req) {
      const bytes = chunk as Uint8Array;
      total += bytes.length;
      parts.push(bytes); // before the check, so the chunk over the limit is wiped too
      if (total > max) return "too-large";
    }
    if (late) return "too-slow";
    const body = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    return body;
  } catch {
    return late ? "too-slow" : undefined;
  } finally {
    clearTimeout(timer);
    for (const p of parts) p.fill(0); // the prompt: no copies left behind
  }
};

const toRequest = (
  req: IncomingMessage,
  base: string,
  body: Uint8Array<ArrayBuffer>,
  signal: AbortSignal,
): Request => {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // Pseudo-headers and hop-by-hop headers are not the handler's business.
    const name = raw[i]!;
    if (!name.startsWith(":")) headers.append(name, raw[i + 1]!);
  }
  const method = req.method ?? "GET";
  return new Request(new URL(req.url ?? "/", base), {
    method,
    headers,
    signal,
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
};

/** Writes a `Response` to a `ServerResponse`, body streamed with backpressure. */
const writeResponse = async (
  res: ServerResponse,
  response: Response,
  extra: Readonly<Record<string, string>> = {},
): Promise<void> => {
  const headers: Record<string, string> = { ...extra };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body === null) return void res.end();
  const reader = response.body.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (res.destroyed) return;
      if (!res.write(r.value)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
    }
    res.end();
  } finally {
    await reader.cancel().catch(() => undefined);
  }
};

/**
 * Starts the proxy. Requests go to `handler` as WHATWG `Request`s (bodies capped at 10 MiB,
 * over it 413, and given `requestTimeout` to arrive, past it 408); a caller that goes away
 * aborts its request; when the handler throws (no connection to the router, a timeout) the
 * answer is 502 or 504 in OpenAI's error shape.
 *
 * Bound to loopback, it serves only requests whose `Host` names loopback (no DNS rebinding),
 * and in every case only browser pages from `allowedOrigins`.
 *
 * @param options The handler (`client.fetch`), port, address, allowed web origins.
 * @returns The running proxy.
 * @throws {TypeError} On a bad port, `requestTimeout` or `allowedOrigins` entry (not exactly
 *   `scheme://host[:port]`), or a non-loopback address without `allowRemote`.
 */
export const serveProxy = async (options: ProxyOptions): Promise<RunningProxy> => {
  const {
    handler,
    port = 0,
    hostname = "127.0.0.1",
    allowRemote = false,
    requestTimeout = 30_000,
  } = options;
  const origins: ReadonlySet<string> = new Set(options.allowedOrigins ?? []);
  for (const origin of origins) {
    if (origin === "null") {
      throw new TypeError(
        'Cannot start proxy: the origin "null" is refused in allowedOrigins (every sandboxed ' +
          "frame and file:// page of any site sends it)",
      );
    }
    // Browsers send `scheme://host[:port]` exactly: a slash, a path or a wildcard never matches.
    const meant = originOf(origin);
    if (meant !== origin) {
      throw new TypeError(
        `Cannot start proxy: allowedOrigins entry ${JSON.stringify(origin.slice(0, 200))} is ` +
          "not an origin (scheme://host[:port], as browsers send it)" +
          (meant === undefined ? "" : `; did you mean ${JSON.stringify(meant)}?`),
      );
    }
  }
  const checkHost = isLoopback(hostname);
  if (typeof handler !== "function") {
    throw new TypeError("Cannot start proxy: handler must be a function (client.fetch)");
  }
  if (!(Number.isFinite(requestTimeout) && requestTimeout > 0)) {
    throw new TypeError("Cannot start proxy: requestTimeout must be a positive number of ms");
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
    console.warn(
      `[@nomyo/client] WARNING: the proxy listens on ${hostname}, not on loopback. Anyone who ` +
        "reaches this port sends requests with this client's API key, and prompts and answers " +
        "cross the network between them and the proxy unencrypted.",
    );
  }
  const sockets = new Set<Socket>();
  const inFlight = new Set<Promise<void>>();
  const controllers = new Set<AbortController>();

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    controllers.add(controller);
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      const refused = refusal(req, checkHost, origins);
      if (refused !== undefined) {
        res.setHeader("connection", "close");
        await writeResponse(res, refused);
        return void req.destroy();
      }
      const cors = corsHeaders(req);
      if (req.method === "OPTIONS" && req.headers.origin !== undefined) {
        return void res.writeHead(204, cors).end();
      }
      const body = await readBody(req, MAX_REQUEST_BYTES, requestTimeout);
      if (body === undefined) return void res.destroy();
      if (body === "too-slow") {
        res.setHeader("connection", "close");
        await writeResponse(
          res,
          errorResponse(
            408,
            `Cannot read request: the body did not arrive within ${requestTimeout} ms`,
            null,
          ),
        );
        return void req.destroy();
      }
      if (body === "too-large") {
        res.setHeader("connection", "close");
        await writeResponse(
          res,
          errorResponse(413, "Cannot read request: the body is over the 10 MiB limit", null),
        );
        return void req.destroy();
      }
      let response: Response;
      try {
        response = await handler(toRequest(req, base, body, controller.signal));
      } catch (thrown) {
        if (controller.signal.aborted) return void res.destroy();
        response = fetchFailureResponse(thrown);
      } finally {
        body.fill(0);
      }
      await writeResponse(res, response, cors);
    } catch {
      res.destroy(); // a broken connection or request line: nothing to answer
    } finally {
      controllers.delete(controller);
    }
  };

  const server = createServer((req, res) => {
    const running = serve(req, res);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname.replace(/^\[|\]$/g, ""), () => {
      server.off("error", reject);
      const address = server.address();
      if (address !== null && typeof address === "object") resolve(address.port);
      else reject(new Error("Cannot start proxy: no port"));
    });
  });
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  const base = `http://${host}:${bound}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${base}/v1`,
    port: bound,
    close: (): Promise<void> =>
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of controllers) c.abort();
        server.closeAllConnections?.();
        for (const socket of sockets) socket.destroy();
        await stopped;
        await Promise.allSettled([...inFlight]);
      })(),
  };
};
