/** server/cors: exact origins as browsers send them, "null" refused, preflights, answers. */
import assert from "node:assert/strict";
import { checkOrigins, isOrigin, isPreflight, makeCors } from "../../src/server/cors.ts";

Deno.test("checkOrigins() takes exact origins and names what a wrong entry meant", () => {
  checkOrigins(["http://localhost:3000", "https://app.example", "http://[::1]:8080"], "X");
  for (
    const [entry, hint] of [
      ["http://localhost:3000/", 'did you mean "http://localhost:3000"'],
      ["https://app.example/chat", 'did you mean "https://app.example"'],
      ["*", "not an origin"],
      ["ftp://app.example", "not an origin"],
      ["null", "sandboxed"],
    ] as const
  ) {
    assert.throws(
      () => checkOrigins([entry], "Cannot start X: origins"),
      (e: unknown) =>
        e instanceof TypeError && e.message.startsWith("Cannot start X: origins") &&
        e.message.includes(hint),
      entry,
    );
  }
  assert.throws(() => checkOrigins("http://a.example", "X"), TypeError);
  assert.throws(() => checkOrigins([8080], "X"), TypeError);
  assert.equal(isOrigin("https://a.example:8443"), true);
  assert.equal(isOrigin("https://a.example:443"), false, "browsers drop the default port");
});

Deno.test("makeCors() with a list allows exactly those origins", () => {
  const cors = makeCors({
    origins: ["http://localhost:3000"],
    methods: "POST, OPTIONS",
    allowHeaders: "echo",
    exposeHeaders: "x-request-id",
  });
  assert.equal(cors.allows(undefined), true, "not a page");
  assert.equal(cors.allows("http://localhost:3000"), true);
  assert.equal(cors.allows("http://localhost:3001"), false);
  assert.equal(cors.allows("null"), false);
  assert.deepEqual(cors.answer("http://localhost:3000"), {
    "access-control-allow-origin": "http://localhost:3000",
    vary: "Origin",
    "access-control-expose-headers": "x-request-id",
  });
  assert.deepEqual(cors.answer("https://evil.example"), { vary: "Origin" });
  assert.equal(cors.preflight({ origin: "https://evil.example" }), undefined);
  const pre = cors.preflight({
    origin: "http://localhost:3000",
    requestHeaders: "content-type, x-stainless-os",
    privateNetwork: true,
  });
  assert.equal(pre?.["access-control-allow-methods"], "POST, OPTIONS");
  assert.equal(pre?.["access-control-allow-headers"], "content-type, x-stainless-os");
  assert.equal(pre?.["access-control-allow-private-network"], "true");
});

Deno.test("makeCors() with true allows any origin with *, the configured headers", () => {
  const cors = makeCors({
    origins: true,
    methods: "POST",
    allowHeaders: "Content-Type, X-Payload-ID",
    exposeHeaders: "Retry-After",
  });
  assert.equal(cors.allows("https://any.example"), true);
  const pre = cors.preflight({ origin: "https://any.example", requestHeaders: "x-evil" }, "GET");
  assert.equal(pre?.["access-control-allow-origin"], "*");
  assert.equal(pre?.["access-control-allow-methods"], "GET");
  assert.equal(pre?.["access-control-allow-headers"], "Content-Type, X-Payload-ID");
});

Deno.test("isPreflight() needs OPTIONS, Origin and Access-Control-Request-Method", () => {
  const req = (method: string, headers: Record<string, string>) =>
    new Request("http://127.0.0.1/x", { method, headers });
  const full = { origin: "http://a.example", "access-control-request-method": "POST" };
  assert.equal(isPreflight(req("OPTIONS", full)), true);
  assert.equal(isPreflight(req("POST", full)), false);
  assert.equal(isPreflight(req("OPTIONS", { origin: "http://a.example" })), false);
});
