/**
 * The unencrypted baseline of the round-trip benches: a plain `node:http` JSON server on
 * 127.0.0.1 that answers `POST /v1/chat/completions` with the test router's echo model (the
 * same completion JSON the test router seals), and a plain `fetch` client for it. Nothing is
 * encrypted, no key is fetched: what is left is HTTP, JSON and the echo model.
 *
 * @module
 */
import { createServer, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
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

const utf8 = new TextEncoder();

const readBody = async (req: IncomingMessage): Promise<Uint8Array> => {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req) {
    const bytes = typeof chunk === "string" ? utf8.encode(chunk) : chunk as Uint8Array;
    chunks.push(bytes);
    total += bytes.length;
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.length;
  }
  return body;
};

/**
 * Starts the plain JSON echo server on a free port of 127.0.0.1.
 *
 * @returns The running server.
 */
export const startPlainServer = async (): Promise<PlainServer> => {
  let answered = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const send = (status: number, value: unknown): void => {
        const bytes = utf8.encode(JSON.stringify(value));
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": String(bytes.length),
        });
        res.end(bytes);
      };
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        return send(404, { detail: "Not Found" });
      }
      let request: unknown;
      try {
        request = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return send(400, { detail: "Invalid request: the body is not JSON" });
      }
      const invalid = checkChatRequest(request);
      if (invalid !== undefined) return send(400, { detail: invalid });
      const id = req.headers["x-request-id"];
      const completion = await echoCompletion(
        request as Record<string, unknown>,
        typeof id === "string" ? id : crypto.randomUUID(),
        Math.floor(Date.now() / 1000),
      );
      answered++;
      send(200, completion);
    })().catch(() => res.destroy());
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address !== null && typeof address === "object") resolve(address.port);
      else reject(new Error("Cannot start plain server: no port"));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    get answered(): number {
      return answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
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
