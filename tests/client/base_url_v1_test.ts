/**
 * A base URL ending in `/v1` (an SDK's `baseURL`) is the caller's `TypeError`, naming the URL to
 * use, for the client's `baseUrl` (in each spelling) and a per-request `base_url`; nothing is
 * sent, and no userinfo or query reaches the message.
 */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { SecurityError } from "../../src/errors.ts";
import { nomyoLayerFetch } from "../../src/client/layer.ts";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { startTestRouter } from "../../src/testing/router.ts";

const ask = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };

Deno.test("new SecureChatCompletion() refuses a baseUrl ending in /v1 with a TypeError naming the fix", () => {
  for (const url of ["https://api.nomyo.ai/v1", "https://api.nomyo.ai/v1/"]) {
    assert.throws(
      () => new SecureChatCompletion({ baseUrl: url }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.equal(
          e.message,
          'Cannot create client: baseUrl "https://api.nomyo.ai/v1" ends in /v1; the client adds ' +
            `the protocol's paths itself: use "https://api.nomyo.ai"`,
        );
        return true;
      },
    );
  }
});

Deno.test("the /v1 refusal names the option as spelled and keeps a path prefix", () => {
  assert.throws(
    () => new SecureChatCompletion({ baseURL: "https://gw.example/nomyo/v1" }),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message.startsWith('Cannot create client: baseURL "https://gw.example/nomyo/v1"') &&
      e.message.endsWith('use "https://gw.example/nomyo"'),
  );
  // Not every URL with v1 in it: only a path whose last segment is v1.
  const client = new SecureChatCompletion({ baseUrl: "https://gw.example/v1beta" });
  void client.dispose();
});

Deno.test("userinfo and a query never reach the /v1 message: they are refused first", () => {
  for (
    const url of ["https://user:pw-secret@api.nomyo.ai/v1", "https://api.nomyo.ai/v1?k=pw-secret"]
  ) {
    assert.throws(
      () => new SecureChatCompletion({ baseUrl: url }),
      (e: unknown) =>
        e instanceof SecurityError && e.reason === "InsecureTransport" &&
        !e.message.includes("pw-secret"),
    );
  }
});

Deno.test("nomyoLayerFetch with a /v1 baseUrl dies with the TypeError", async () => {
  const exit = await Effect.runPromiseExit(
    Effect.provide(SecureCompletion, nomyoLayerFetch({ baseUrl: "https://api.nomyo.ai/v1" })),
  );
  assert.ok(Exit.isFailure(exit));
  const defect = exit.cause._tag === "Die" ? exit.cause.defect : undefined;
  assert.ok(defect instanceof TypeError && /ends in \/v1/.test(defect.message), String(exit.cause));
});

Deno.test("a per-request base_url ending in /v1 rejects with a TypeError and sends nothing", async () => {
  const router = await startTestRouter();
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 0,
  });
  try {
    await assert.rejects(
      client.create({ ...ask, base_url: `${router.url}/v1` }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.equal(
          e.message,
          `Cannot send request: base_url "${router.url}/v1" ends in /v1; the client adds the ` +
            `protocol's paths itself: use "${router.url}"`,
        );
        return true;
      },
    );
    assert.equal(router.requests.length, 0, "nothing was sent");
  } finally {
    await client.dispose();
    await router.close();
  }
});
