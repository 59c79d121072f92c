/**
 * An API key pasted with a character no HTTP header can carry (a typographic quote, a
 * Cyrillic look-alike) made `fetch` throw, which read as a retried "Cannot reach router". It
 * is refused at once, by name, never by value.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion, SecurityError } from "../../mod.ts";
import { startTestRouter } from "../../src/testing/mod.ts";

const ask = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };

for (const key of ["sk-\u201Cquoted\u201D", "sk-\u043Aey", "sk-\u{1F511}"]) {
  Deno.test(`create() refuses at once an API key with ${JSON.stringify(key.slice(3))}`, async () => {
    const router = await startTestRouter();
    const clients = [
      new SecureChatCompletion({
        baseUrl: router.url,
        allowHttp: true,
        keySize: 2048,
        apiKey: key,
      }),
      new SecureChatCompletion({ baseUrl: router.url, allowHttp: true, keySize: 2048 }),
    ];
    try {
      for (const [i, client] of clients.entries()) {
        const error = await client.create(i === 0 ? ask : { ...ask, api_key: key })
          .then(() => undefined, (e: unknown) => e);
        assert.ok(error instanceof SecurityError, `got ${String(error)}`);
        assert.equal(error.reason, "HeaderInjection");
        assert.match(error.message, /Authorization header value has characters/);
        assert.ok(!error.message.includes(key));
      }
      assert.equal(router.requests.length, 0, "nothing reached the router");
    } finally {
      for (const client of clients) await client.dispose();
      await router.close();
    }
  });
}
