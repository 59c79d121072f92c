/**
 * Depth bombs through the public API: a hostile router (a small node:http server) answers
 * `SecureChatCompletion.create()` with a package, a sealed plaintext, a `_metadata` or an error
 * body nested 10^5 deep. Each is a typed error (never `NomyoError` "Unexpected failure").
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect, Layer } from "effect";
import { SecureChatCompletion } from "../../src/client/secure_chat_completion.ts";
import { HybridCipher, HybridCipherLive } from "../../src/crypto/hybrid_cipher.ts";
import { SecureBytesLive } from "../../src/crypto/secure_bytes.ts";
import { InvalidRequestError, NomyoError, SecurityError } from "../../src/errors.ts";
import { generateRouterKey, importCallerKey } from "../../src/testing/router_keys.ts";
import { prng } from "../_helpers.ts";
import { nested } from "../protocol/_nested.ts";

const DEPTH = 100_000;
const bomb = (shape: "array" | "object" | "mixed") => nested(DEPTH, prng(7), shape);

type Mode = "package" | "plaintext" | "metadata" | "error-body";

const completion = (mode: Mode) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
    _metadata: { note: "@@" },
  }).replace('"@@"', mode === "metadata" ? bomb("object") : "1")
    .replace('"created":1', mode === "plaintext" ? `"created":1,"extra":${bomb("mixed")}` : "$&");

const layer = HybridCipherLive.pipe(Layer.provide(SecureBytesLive));

/** A router that answers every completion with the bomb of `mode`. */
const startHostileRouter = async (mode: Mode) => {
  const key = await generateRouterKey(2048);
  const read = async (req: IncomingMessage) => {
    for await (const _ of req) { /* drain */ }
  };
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    await read(req);
    if (req.url === "/pki/public_key") return res.end(key.publicKeyPem);
    if (mode === "error-body") {
      res.writeHead(400, { "content-type": "application/json" });
      return res.end(`{"detail":${bomb("array")}}`);
    }
    res.writeHead(200, { "content-type": "application/json" });
    if (mode === "package") {
      return res.end(
        `{"version":"1.0","algorithm":"hybrid-aes256-rsa4096","encrypted_payload":${
          bomb("mixed")
        },"encrypted_aes_key":"AAAA"}`,
      );
    }
    const callerKey = await importCallerKey(String(req.headers["x-public-key"]));
    if (typeof callerKey === "string") return res.end("{}");
    const pkg = await Effect.runPromise(Effect.provide(
      Effect.flatMap(
        HybridCipher,
        (cipher) => cipher.seal(new TextEncoder().encode(completion(mode)), callerKey),
      ),
      layer,
    ));
    res.end(JSON.stringify(pkg));
  };
  const server = createServer((req, res) => void answer(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const expected: Record<Mode, (e: unknown) => boolean> = {
  "package": (e) => e instanceof SecurityError && e.reason === "MalformedPackage",
  "plaintext": (e) => e instanceof SecurityError && e.reason === "MalformedPlaintext",
  "metadata": (e) => e instanceof SecurityError && e.reason === "MalformedPlaintext",
  "error-body": (e) => e instanceof InvalidRequestError && typeof e.body === "string",
};

for (const mode of Object.keys(expected) as Mode[]) {
  Deno.test(`SecureChatCompletion.create() refuses a 10^5-deep ${mode} with a typed error`, async () => {
    const router = await startHostileRouter(mode);
    const client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      keySize: 2048,
      maxRetries: 0,
      keyRotationInterval: 0,
    });
    try {
      const error = await client.create({ model: "m", messages: [{ role: "user", content: "x" }] })
        .then(() => "resolved", (e: unknown) => e);
      assert.ok(expected[mode](error), `${mode}: ${String(error)}`);
      // Every library error is a NomyoError; "Unexpected failure" is the defect wrapper.
      assert.ok(error instanceof NomyoError && !/Unexpected failure/.test(error.message));
      // The error can be shown and serialized whole (nothing deep is kept on it).
      assert.doesNotThrow(() => JSON.stringify(error));
      assert.doesNotThrow(() => Deno.inspect(error, { depth: Infinity }));
    } finally {
      await client.dispose();
      await router.close();
    }
  });
}
