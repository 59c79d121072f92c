/**
 * A small hostile router for tests, on 127.0.0.1: every request is recorded (method, path,
 * headers, body) and answered by the test's handler (redirects, drips, bombs, odd headers).
 */

/** A request the hostile server received. */
export interface HostileRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** A running hostile server. */
export interface HostileServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly requests: HostileRequest[];
  readonly close: () => Promise<void>;
}

/**
 * Starts a server whose every answer comes from `handler`.
 *
 * @param handler Makes the answer to a request (its body already read and recorded).
 * @returns The server.
 */
export const startHostileServer = (
  handler: (request: HostileRequest) => Response | Promise<Response>,
): Promise<HostileServer> => {
  const requests: HostileRequest[] = [];
  const { promise, resolve } = Promise.withResolvers<HostileServer>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) =>
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        close: () => server.shutdown(),
      }),
  }, async (req) => {
    const recorded: HostileRequest = {
      method: req.method,
      path: new URL(req.url).pathname,
      headers: Object.fromEntries(req.headers),
      body: new Uint8Array(await req.arrayBuffer()),
    };
    requests.push(recorded);
    return handler(recorded);
  });
  return promise;
};

/** A redirect answer (the body says where, as real servers do). */
export const redirect = (status: number, location: string): Response =>
  new Response(`moved to ${location}`, { status, headers: { location } });
