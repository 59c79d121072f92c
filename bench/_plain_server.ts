/**
 * The unencrypted baseline of the round-trip benches: a plain `node:http` JSON server on
 * 127.0.0.1 that answers `POST /v1/chat/completions` with the test router's echo model (the
 * same completion JSON the test router seals), and a plain `fetch` client for it. Nothing is
 * encrypted, no key is fetched: what is left is HTTP, JSON and the echo model.
 *
 * @module
 */
import { serveHttp } from "../src/server/http_server.ts";
import { checkChatRequest, echoCompletion } from "../src/testing/echo_model.ts";

/** A running plain server. */
export interface PlainServer {
  /** `"http://127.0.0.1:PORT"`. */
  readonly url: string;
  /** How many completions it answered. */
  readonly answered: number;
  /** Stops it. */
  close(): Promise<void>;
}

const json = (status: number, value: unknown): Response =>
  new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });

/**
 * Starts the plain JSON echo server on a free port of 127.0.0.1, on the same node:http bridge
 * as the test router and the proxy.
 *
 * @returns The running server.
 */
export const startPlainServer = async (): Promise<PlainServer> => {
  let answered = 0;
  const server = await serveHttp(async (request) => {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/chat/completions") {
      return json(404, { detail: "Not Found" });
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return json(400, { detail: "Invalid request: the body is not JSON" });
    }
    const invalid = checkChatRequest(body);
    if (invalid !== undefined) return json(400, { detail: invalid });
    const completion = await echoCompletion(
      body as Record<string, unknown>,
      request.headers.get("x-request-id") ?? crypto.randomUUID(),
      Math.floor(Date.now() / 1000),
    );
    answered++;
    return json(200, completion);
  }, {
    hostname: "127.0.0.1",
    port: 0,
    maxBodyBytes: 64 * 1024 * 1024,
    headersTimeout: 10_000,
    idleTimeout: 5_000,
    bodyTimeout: 30_000,
    refuse: ({ status, message }) => json(status, { detail: message }),
  });
  return {
    url: server.url,
    get answered(): number {
      return answered;
    },
    close: () => server.close(),
  };
};

/**
 * What an unencrypted OpenAI-compatible client does: POST the JSON, parse the JSON answer.
 *
 * @param url The plain server's URL.
 * @param request The chat completion request.
 * @returns The parsed completion.
 */
export const plainCreate = async (url: string, request: unknown): Promise<unknown> => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": crypto.randomUUID() },
    body: JSON.stringify(request),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot complete plain request: status ${response.status}`);
  }
  return await response.json();
};
