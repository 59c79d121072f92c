/**
 * Depth bombs through the public API: a hostile router (tests/transport/_hostile_server.ts) answers
 * `SecureChatCompletion.create()` with a package, a sealed plaintext, a `_metadata` or an error
 * body nested 10^5 deep. Each is a typed error (never `NomyoError` "Unexpected failure").
 */
import assert from "node:assert/strict";
import { Effect, Layer } from "effect";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { HybridCipher, layerHybridCipher } from "../../src/crypto/hybrid_cipher.ts";
import { layerSecureBytes } from "../../src/crypto/secure_bytes.ts";
import { InvalidRequestError, NomyoError, SecurityError } from "../../src/errors.ts";
import { generateRouterKey, importCallerKey } from "../../src/testing/router_key_pair.ts";
import { prng } from "../_helpers.ts";
import { nested } from "../protocol/_nested.ts";
import { type HostileServer, startHostileServer } from "../transport/_hostile_server.ts";

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

const layer = layerHybridCipher.pipe(Layer.provide(layerSecureBytes));

const json = (status: number, body: string): Response =>
  new Response(body, { status, headers: { "content-type": "application/json" } });

/** A router that answers every completion with the bomb of `mode`. */
const startHostileRouter = async (mode: Mode): Promise<HostileServer> => {
  const key = await generateRouterKey(2048);
  return startHostileServer(async (req) => {
    if (req.path === "/pki/public_key") return new Response(key.publicKeyPem);
    if (mode === "error-body") return json(400, `{"detail":${bomb("array")}}`);
    if (mode === "package") {
      return json(
        200,
        `{"version":"1.0","algorithm":"hybrid-aes256-rsa4096","encrypted_payload":${
          bomb("mixed")
        },"encrypted_aes_key":"AAAA"}`,
      );
    }
    const callerKey = await importCallerKey(String(req.headers["x-public-key"]));
    if (typeof callerKey === "string") return json(200, "{}");
    const pkg = await Effect.runPromise(Effect.provide(
      Effect.flatMap(
        HybridCipher,
        (cipher) => cipher.seal(new TextEncoder().encode(completion(mode)), callerKey),
      ),
      layer,
    ));
    return json(200, JSON.stringify(pkg));
  });
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
