/**
 * The one node:http ↔ fetch bridge of the library (the proxy, the test router, the benches'
 * plain server): it owns the sockets, every deadline, body reading and the answer's bytes, so a
 * server is a `(Request) => Promise<Response>` function that never sees a socket. Runs on
 * node:http under Deno, Node and Bun. node:http's own `headersTimeout` is not enforced in time
 * on any of them (Node 20/24 and Deno check it only every 30 s, `connectionsCheckingInterval`;
 * Bun ignores it and drops a silent socket after ~10 s of its own); its `keepAliveTimeout` is
 * honoured everywhere, about a second late. So the deadlines are the bridge's own timers on
 * each socket (`keepAliveTimeout` is set too, as a backstop):
 *
 * - **headers**: a connection has `headersTimeout` ms to send a whole request head, else it is
 *   closed (slowloris);
 * - **idle**: a keep-alive connection has `idleTimeout` ms after an answer to send the next
 *   request head, else it is closed;
 * - **body**: a request has `bodyTimeout` ms to send its whole body (at most `maxBodyBytes`),
 *   else it is refused (408, or 413 past the cap) and the connection closed.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { readBody } from "./read_body.ts";

/** A request the bridge refuses itself, for the server to put in its own error shape. */
export interface Refusal {
  /** 400 (a request target that is not a path), 405 (a method `Request` cannot carry: `TRACE`,
   * `CONNECT`), 408 (the body was late), 413 (over the cap), 500 (the handler failed). */
  readonly status: 400 | 405 | 408 | 413 | 500;
  /** What went wrong, "Cannot …" (no secret: no header value, no body). */
  readonly message: string;
  /** The request method. */
  readonly method: string;
  /** The request target, query included. */
  readonly target: string;
  /** The request headers (hop-by-hop headers left out). */
  readonly headers: Headers;
}

/** Options of {@linkcode serveHttp}. */
export interface HttpServerOptions {
  /** Address to bind, e.g. `127.0.0.1`. */
  readonly hostname: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Largest request body read; past it the request is refused 413. */
  readonly maxBodyBytes: number;
  /** Milliseconds a new connection has to send a whole request head. */
  readonly headersTimeout: number;
  /** Milliseconds a kept-alive connection has, after an answer, to send the next request head. */
  readonly idleTimeout: number;
  /** Milliseconds a request has to send its whole body. */
  readonly bodyTimeout: number;
  /** The answer to a request the bridge refuses itself. */
  readonly refuse: (refusal: Refusal) => Response;
}

/** A running bridge. */
export interface HttpServer {
  /** `http://HOST:PORT` (an IPv6 host bracketed), no trailing slash. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The address it is bound to, as the system reports it (e.g. `127.0.0.1`, `::1`). */
  readonly address: string;
  /**
   * Stops listening, aborts the requests in flight (their `signal`), destroys every socket and
   * waits for the handlers. Idempotent.
   *
   * @returns When everything is closed.
   */
  close(): Promise<void>;
}

/** A handler of the bridge. It returns `Response.error()` to cut the connection unanswered. */
export type HttpHandler = (request: Request) => Promise<Response>;

/** Headers of one hop, not the handler's business (RFC 9110 §7.6.1). */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** How long a refused connection may still send (and have discarded) what it had in flight. */
const LINGER_MS = 1_000;

const checkTimeout = (name: string, value: number): void => {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`Cannot start server: ${name} must be a positive number of ms`);
  }
};

/**
 * The chunks of a node:http request as an async iterable that, once given up (`return()`),
 * discards and wipes what still arrives instead of destroying the request: the connection must
 * still carry the refusal.
 */
const chunksOf = (req: IncomingMessage): AsyncIterable<Uint8Array> => ({
  [Symbol.asyncIterator]: (): AsyncIterator<Uint8Array> => {
    const queue: Uint8Array[] = [];
    let ended = false;
    let failed = false;
    let given = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    req.on("data", (chunk: Uint8Array) => {
      if (given) chunk.fill(0); // the prompt, still arriving after a refusal
      else queue.push(chunk);
      notify();
    });
    req.on("end", () => {
      ended = true;
      notify();
    });
    req.on("error", () => {
      failed = true;
      notify();
    });
    req.on("close", () => {
      if (!req.complete) failed = true;
      notify();
    });
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        while (queue.length === 0 && !ended && !failed) {
          await new Promise<void>((resolve) => (wake = resolve));
        }
        const chunk = queue.shift();
        if (chunk !== undefined) return { done: false, value: chunk };
        if (failed && !ended) throw new Error("Cannot read request: the connection broke");
        return { done: true, value: undefined };
      },
      return: (): Promise<IteratorResult<Uint8Array>> => {
        given = true;
        for (const chunk of queue.splice(0)) chunk.fill(0);
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  },
});

/** The request's headers, hop-by-hop ones left out. */
const headersOf = (req: IncomingMessage): Headers => {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.startsWith(":") || HOP_BY_HOP.has(name.toLowerCase())) continue;
    try {
      headers.append(name, raw[i + 1]!);
    } catch {
      // A name or value fetch refuses (node:http let it through): not the handler's business.
    }
  }
  return headers;
};

/** Writes a `Response` to a `ServerResponse`, the body streamed with backpressure. */
const writeResponse = async (
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
  close: boolean,
): Promise<void> => {
  if (res.destroyed || res.headersSent) return;
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) res.setHeader(name, value);
  });
  if (close) res.setHeader("connection", "close");
  res.writeHead(response.status);
  const bodyless = req.method === "HEAD" || response.status === 204 || response.status === 304;
  if (response.body === null || bodyless) {
    await response.body?.cancel().catch(() => undefined);
    return void res.end();
  }
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
 * Serves `handler` over node:http. Each request is read whole (at most `maxBodyBytes`, within
 * `bodyTimeout`), given to the handler as a WHATWG `Request` whose `signal` aborts when the
 * caller goes away or the server closes, and its `Response` written back with backpressure.
 * The body buffer is wiped once the answer is written (the handler copies what it keeps).
 * Past the cap, past the time, or for a request `Request` cannot carry, the answer is
 * `options.refuse(...)`; a handler that rejects gets `refuse` 500 (or, aborted, no answer), one
 * that returns `Response.error()` has its connection cut.
 *
 * @param handler What answers each request.
 * @param options Address, port, body cap and the three deadlines.
 * @returns The running server.
 * @throws {TypeError} On a timeout that is not a positive number of ms, or a bad port.
 */
export const serveHttp = async (
  handler: HttpHandler,
  options: HttpServerOptions,
): Promise<HttpServer> => {
  const { hostname, port, maxBodyBytes, headersTimeout, idleTimeout, bodyTimeout, refuse } =
    options;
  checkTimeout("headersTimeout", headersTimeout);
  checkTimeout("idleTimeout", idleTimeout);
  checkTimeout("bodyTimeout", bodyTimeout);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new TypeError(`Cannot start server: port ${port} is not a port number`);
  }
  const sockets = new Map<Socket, { timer?: ReturnType<typeof setTimeout>; active: number }>();
  const controllers = new Set<AbortController>();
  const inFlight = new Set<Promise<void>>();
  let base = "";

  /** Closes `socket` unless it starts a request within `ms`. */
  const arm = (socket: Socket, ms: number): void => {
    const state = sockets.get(socket);
    if (state === undefined) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => socket.destroy(), ms);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    controllers.add(controller);
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const method = req.method ?? "GET";
    const target = req.url ?? "/";
    const headers = headersOf(req);
    let close = false;
    const refused = (status: Refusal["status"], message: string): Response => {
      close = status !== 405 && status !== 500;
      return refuse({ status, message, method, target, headers });
    };
    let body: Uint8Array | undefined;
    try {
      let response: Response;
      const late = new AbortController();
      const timer = setTimeout(() => late.abort(), bodyTimeout);
      const read = await readBody(chunksOf(req), {
        maxBytes: maxBodyBytes,
        declaredLength: req.headers["content-length"],
        deadline: late.signal,
      }).finally(() => clearTimeout(timer));
      if (read.kind === "failed") return void res.destroy();
      if (read.kind === "too-large") {
        response = refused(413, `Cannot read request: the body is over ${maxBodyBytes} bytes`);
      } else if (read.kind === "timeout") {
        response = refused(
          408,
          `Cannot read request: the body did not arrive within ${bodyTimeout} ms`,
        );
      } else {
        body = read.bytes;
        let request: Request | undefined;
        if (!target.startsWith("/")) {
          response = refused(400, "Cannot serve request: the request target is not a path");
        } else {
          try {
            request = new Request(`${base}${target}`, {
              method,
              headers,
              signal: controller.signal,
              ...(method === "GET" || method === "HEAD" ? {} : { body: read.bytes }),
            });
          } catch {
            request = undefined;
          }
          response = request === undefined
            ? refused(405, `Cannot serve request: the method ${method.slice(0, 20)} is not served`)
            : await handler(request).catch(() =>
              controller.signal.aborted
                ? Response.error()
                : refused(500, "Cannot serve request: the server failed")
            );
        }
      }
      if (response.type === "error" || controller.signal.aborted) return void res.destroy();
      await writeResponse(req, res, response, close);
    } catch {
      res.destroy(); // a broken connection: nothing to answer
    } finally {
      body?.fill(0);
      controllers.delete(controller);
    }
  };

  const server = createServer((req, res) => {
    const socket = req.socket;
    const state = sockets.get(socket);
    if (state !== undefined) {
      clearTimeout(state.timer);
      state.active += 1;
    }
    let done = false;
    const finished = (): void => {
      if (done) return;
      done = true;
      if (state === undefined) return;
      state.active -= 1;
      if (state.active === 0 && !socket.destroyed) {
        arm(socket, res.getHeader("connection") === "close" ? LINGER_MS : idleTimeout);
      }
    };
    res.once("finish", finished);
    res.once("close", finished);
    const running = serve(req, res);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  });
  // Backstops only: the timers above are what hold on every runtime.
  server.keepAliveTimeout = idleTimeout;
  server.on("connection", (socket: Socket) => {
    sockets.set(socket, { active: 0 });
    arm(socket, headersTimeout);
    socket.on("close", () => {
      clearTimeout(sockets.get(socket)?.timer);
      sockets.delete(socket);
    });
  });
  server.on("clientError", (_error: unknown, socket: Socket) => socket.destroy());
  const address = await new Promise<{ address: string; port: number }>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname.replace(/^\[|\]$/g, ""), () => {
      server.off("error", reject);
      const bound = server.address();
      if (bound !== null && typeof bound === "object") resolve(bound);
      else reject(new Error("Cannot start server: no port"));
    });
  });
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  base = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: base,
    port: address.port,
    address: address.address,
    close: (): Promise<void> =>
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of controllers) c.abort();
        server.closeAllConnections?.();
        for (const socket of sockets.keys()) socket.destroy();
        await stopped;
        await Promise.allSettled([...inFlight]);
      })(),
  };
};
