/**
 * Status errors: openai-node's names are the same classes, 404 is a NotFoundError, headers and
 * the request id are kept (never a cookie, never the API key), and Retry-After is read by its
 * strict grammar only.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import * as Nomyo from "../../mod.ts";
import {
  AbortError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  BadRequestError,
  ForbiddenError,
  InternalServerError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  ServerError,
} from "../../src/errors.ts";
import {
  isRetryable,
  parseRetryAfter,
  requestIdOf,
  responseHeaders,
  statusError,
} from "../../src/transport/status_errors.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { startHostileServer } from "./_hostile_server.ts";
import { startTestRouter } from "../../src/testing/router.ts";

Deno.test("openai-node's error names are the same classes, exported from mod.ts", () => {
  const pairs = [
    [BadRequestError, InvalidRequestError, Nomyo.BadRequestError],
    [PermissionDeniedError, ForbiddenError, Nomyo.PermissionDeniedError],
    [InternalServerError, ServerError, Nomyo.InternalServerError],
    [APIUserAbortError, AbortError, Nomyo.APIUserAbortError],
  ] as const;
  for (const [alias, original, exported] of pairs) {
    assert.equal(alias, original);
    assert.equal(exported, original);
  }
  const bad = statusError(400, { detail: "no" }, {});
  assert.ok(bad instanceof BadRequestError && bad instanceof InvalidRequestError);
  assert.ok(statusError(403, {}, {}) instanceof PermissionDeniedError);
  assert.ok(statusError(500, {}, {}) instanceof InternalServerError);
  assert.ok(new AbortError() instanceof APIUserAbortError);
  assert.equal(Nomyo.NotFoundError, NotFoundError);
  assert.equal(Nomyo.APIConnectionTimeoutError, APIConnectionTimeoutError);
});

Deno.test("404 is a NotFoundError (an APIError), not retried", () => {
  const e = statusError(404, "not json", { payloadId: "p" });
  assert.ok(e instanceof NotFoundError && e instanceof APIError);
  assert.equal(e._tag, "NotFoundError");
  assert.equal(e.name, "NotFoundError");
  assert.equal(e.status, 404);
  assert.match(e.message, /secure inference is not enabled/);
  assert.equal(isRetryable(e), false);
});

Deno.test("APIConnectionTimeoutError is an APIConnectionError that Effect.catchTag still catches", async () => {
  const e = new APIConnectionTimeoutError({ message: "Cannot complete request: no answer" });
  assert.ok(e instanceof APIConnectionError);
  assert.equal(e.timeout, true);
  assert.equal(e._tag, "APIConnectionError");
  assert.equal(e.name, "APIConnectionTimeoutError");
  assert.equal(isRetryable(e), true);
  const caught = await Effect.runPromise(
    Effect.fail(e).pipe(Effect.catchTag("APIConnectionError", (x) => Effect.succeed(x.timeout))),
  );
  assert.equal(caught, true);
  assert.equal(new APIConnectionError({ message: "x" }).name, "APIConnectionError");
});

Deno.test("responseHeaders() keeps what the router sent, minus cookies, long values and secrets", () => {
  const kept = responseHeaders({
    "X-Request-Id": "req_123",
    "set-cookie": "session=abc",
    "x-echo": "Bearer sk-secret-key",
    "x-long": "a".repeat(5000),
    ["__proto__"]: "polluted",
    "retry-after": "3",
  }, ["sk-secret-key"]);
  assert.deepEqual(Object.keys(kept).sort(), ["__proto__", "retry-after", "x-request-id"].sort());
  assert.equal(Object.getPrototypeOf(kept), Object.prototype, "no prototype pollution");
  const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`h${i}`, "v"]));
  assert.equal(Object.keys(responseHeaders(many)).length, 64);
});

Deno.test("requestIdOf() reads x-request-id only when it is a short printable token", () => {
  assert.equal(requestIdOf({ "x-request-id": "req_abc-123" }), "req_abc-123");
  for (const bad of ["", "a b", "x".repeat(201), "\u00e9t\u00e9", "a\tb"]) {
    assert.equal(requestIdOf({ "x-request-id": bad }), undefined, JSON.stringify(bad));
  }
  assert.equal(requestIdOf({}), undefined);
  assert.equal(requestIdOf(Object.create({ "x-request-id": "inherited" })), undefined);
});

Deno.test("an APIError from the router carries its headers and request id, never the API key", async () => {
  const server = await startHostileServer(() =>
    new Response(JSON.stringify({ detail: "denied" }), {
      status: 403,
      headers: {
        "content-type": "application/json",
        "x-request-id": "req_42",
        "set-cookie": "sid=do-not-keep",
        "x-echo-auth": "Bearer sk-hostile-echo-1234",
      },
    })
  );
  const router = await startTestRouter();
  // The key comes from a real router; the completion from the hostile one.
  const client = new SecureChatCompletion({
    baseUrl: server.url,
    allowHttp: true,
    apiKey: "sk-hostile-echo-1234",
    keySize: 2048,
    maxRetries: 0,
    fetch: (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      return globalThis.fetch(
        url.endsWith("/pki/public_key") ? `${router.url}/pki/public_key` : input,
        init,
      ).then((r) => url.endsWith("/pki/public_key") ? new Response(r.body, r) : r);
    },
  });
  try {
    const e = await client.create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (x) => x);
    assert.ok(e instanceof PermissionDeniedError, String(e));
    assert.equal(e.requestID, "req_42");
    assert.equal(e.headers["x-request-id"], "req_42");
    assert.equal(e.headers["content-type"], "application/json");
    assert.equal(e.headers["set-cookie"], undefined);
    assert.equal(e.headers["x-echo-auth"], undefined);
    assert.ok(!JSON.stringify(e).includes("sk-hostile-echo-1234"));
  } finally {
    await client.dispose();
    await server.close();
    await router.close();
  }
});

Deno.test("parseRetryAfter() reads the three HTTP-date forms and delta-seconds", () => {
  const now = Date.UTC(1994, 10, 6, 8, 49, 7);
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), 30);
  assert.equal(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 30);
  assert.equal(parseRetryAfter("Sun Nov  6 08:49:37 1994", now), 30);
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:48:37 GMT", now), 0, "past: now");
  assert.equal(parseRetryAfter("120", now), 120);
  assert.equal(parseRetryAfter("007", now), 7);
});

Deno.test("parseRetryAfter() treats every value outside the grammar as absent, never as now", () => {
  const now = Date.UTC(2026, 0, 1);
  const hostile = [
    "2, 3",
    "1, 2",
    "0, 0",
    ",",
    "GMT",
    "1.5",
    "+5",
    "-1",
    "1e3",
    "0x10",
    " 5s",
    "soon",
    "Infinity",
    "NaN",
    "Sun, 06 Nov 1994 08:49:37",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "sun, 06 nov 1994 08:49:37 gmt",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 31 Feb 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 25:49:37 GMT",
    "Sun, 06 Nov 1994 08:61:37 GMT",
    "Sun, 06 Foo 1994 08:49:37 GMT",
    "Sunday, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
    "2026-01-01T00:00:10Z",
    "Thu Jan 01 2026 00:00:10 GMT+0000",
    "Tuesday",
    "1\u00a0",
    "\u0661",
    "9".repeat(100_000) + "x",
    ", ".repeat(10_000),
  ];
  for (const value of hostile) {
    assert.equal(parseRetryAfter(value, now), undefined, JSON.stringify(value.slice(0, 60)));
  }
  // Surrounding whitespace is optional whitespace of the field, not part of the value.
  assert.equal(parseRetryAfter(" 5 ", now), 5);
});

Deno.test("parseRetryAfter() stays linear on long hostile values", () => {
  // Not a timing assertion: a quadratic trim or regex would not finish this in the test's life.
  const long = " ".repeat(1_000_000) + "x" + "\t".repeat(1_000_000);
  assert.equal(parseRetryAfter(long, 0), undefined);
  assert.equal(parseRetryAfter(" ".repeat(1_000_000) + "7" + " ".repeat(1_000_000), 0), 7);
});
