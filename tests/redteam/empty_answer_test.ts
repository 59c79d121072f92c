/**
 * A router that answers 204 (no body at all) is sending bad data, not failing to connect: the
 * caller gets a `SecurityError` at once, and no retry is spent on it.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion, SecurityError } from "../../mod.ts";
import { startTestRouter } from "../../src/testing/mod.ts";

for (const endpoint of ["/pki/public_key", "/v1/chat/secure_completion"]) {
  Deno.test(`create() refuses a 204 without a body on ${endpoint}, without retrying`, async () => {
    const router = await startTestRouter();
    let asked = 0;
    const hostile = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === endpoint) {
        asked++;
        await req.body?.cancel();
        return new Response(null, { status: 204 });
      }
      return new Response(router.publicKeyPem);
    });
    const client = new SecureChatCompletion({
      baseUrl: `http://127.0.0.1:${hostile.addr.port}`,
      allowHttp: true,
      keySize: 2048,
      maxRetries: 2,
    });
    try {
      const error = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] })
        .then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof SecurityError, `got ${String(error)}`);
      assert.equal(asked, 1, "a 204 is not retried");
    } finally {
      await client.dispose();
      await hostile.shutdown();
      await router.close();
    }
  });
}
