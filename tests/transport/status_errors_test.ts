/**
 * Status errors: openai-node's names are the same classes, 404 is a NotFoundError, headers and
 * the request id are kept (never a cookie, never the API key). Retry-After: retry_after_test.ts;
 * scrubbing: secret_scrubbing_test.ts.
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
  ConflictError,
  ForbiddenError,
  InternalServerError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  ServerError,
  UnprocessableEntityError,
} from "../../src/errors.ts";
import { isRetryable, requestIdOf, statusError } from "../../src/transport/status_errors.ts";
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

Deno.test("409 is openai-node's ConflictError and 422 its UnprocessableEntityError, not retried", () => {
  const cases = [
    [409, ConflictError, "ConflictError", Nomyo.ConflictError],
    [422, UnprocessableEntityError, "UnprocessableEntityError", Nomyo.UnprocessableEntityError],
  ] as const;
  for (const [status, cls, tag, exported] of cases) {
    const e = statusError(status, { detail: `says ${status}` }, { payloadId: "p" });
    assert.equal(exported, cls);
    assert.ok(e instanceof cls && e instanceof APIError);
    assert.equal(e._tag, tag);
    assert.equal(e.name, tag);
    assert.equal(e.status, status);
    assert.match(e.message, new RegExp(`^Router answered ${status}: says ${status}$`));
    assert.equal(isRetryable(e), false);
  }
  assert.match(statusError(422, "", {}).message, /cannot process the request/);
  assert.match(statusError(409, "", {}).message, /conflict/);
});

Deno.test("APIError has nomyo-js's statusCode and errorDetails (the JSON body object, else undefined)", () => {
  const json = statusError(400, { detail: "no", code: "x" }, {});
  assert.equal(json.statusCode, 400);
  assert.deepEqual(json.errorDetails, { detail: "no", code: "x" });
  assert.equal(json.errorDetails, json.body);
  const text = statusError(502, "<html>bad gateway</html>", {});
  assert.equal(text.statusCode, 502);
  assert.equal(text.errorDetails, undefined);
  assert.equal(statusError(500, [1, 2], {}).errorDetails, undefined);
  assert.equal(statusError(500, null, {}).errorDetails, undefined);
});

Deno.test("errorDetails is scrubbed of an API key the router echoed back", async () => {
  const apiKey = "sk-echoed-secret-7";
  const router = await startTestRouter();
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    apiKey,
    maxRetries: 0,
    keySize: 2048,
  });
  try {
    router.inject({ status: 422, detail: `bad key ${apiKey}` });
    const error = await client.create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof UnprocessableEntityError);
    assert.equal(error.statusCode, 422);
    assert.deepEqual(error.errorDetails, { detail: "bad key [redacted]" });
    assert.ok(!JSON.stringify(error.errorDetails).includes(apiKey));
  } finally {
    await client.dispose();
    await router.close();
  }
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
