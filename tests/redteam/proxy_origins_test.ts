/**
 * `allowedOrigins` entries a browser can never send (a trailing slash, a path, a wildcard)
 * used to be accepted and then match nothing; `"null"` matched every sandboxed frame and
 * `file://` page of any site. Each is a `TypeError` when the proxy starts.
 */
import assert from "node:assert/strict";
import { serveProxy } from "../../src/proxy/proxy.ts";

const handler = () => Promise.resolve(new Response("{}"));

for (
  const [entry, hint] of [
    ["http://localhost:3000/", 'did you mean "http://localhost:3000"'],
    ["https://app.example/chat", 'did you mean "https://app.example"'],
    ["*", "not an origin"],
    ["localhost:3000", "not an origin"],
    ["null", "sandboxed"],
  ]
) {
  Deno.test(`serveProxy() refuses allowedOrigins entry ${entry}`, async () => {
    await assert.rejects(
      serveProxy({ handler, allowedOrigins: [entry!] }),
      (e: unknown) => e instanceof TypeError && e.message.includes(hint!),
    );
  });
}

Deno.test("serveProxy() takes exact origins", async () => {
  const proxy = await serveProxy({
    handler,
    allowedOrigins: ["http://localhost:3000", "https://app.example", "http://[::1]:8080"],
  });
  await proxy.close();
});
