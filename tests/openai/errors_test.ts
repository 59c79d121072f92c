/**
 * The drop-in's error mapping against the error classes of every branch: each
 * `SecurityError` reason, openai-node's names (`NotFoundError`, `APIConnectionTimeoutError`),
 * a browser's non-retryable connection error, and the router's request id.
 */
import assert from "node:assert/strict";
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  NotFoundError,
  SecurityError,
  type SecurityErrorReason,
} from "../../src/errors.ts";
import { fetchFailure, libraryErrorResponse } from "../../src/openai/errors.ts";
import { browserFetchError } from "../../src/transport/browser.ts";

const REASONS: Record<SecurityErrorReason, number> = {
  InsecureTransport: 400,
  HeaderInjection: 400,
  InvalidSecurityTier: 400,
  PayloadTooLarge: 413,
  ResponseTooLarge: 400,
  MalformedPackage: 400,
  DecryptionFailed: 400,
  MalformedPlaintext: 400,
  KeyRejected: 400,
  FingerprintMismatch: 400,
  RouterKeyChanged: 400,
  EncryptionFailed: 400,
  RedirectRefused: 400,
};

Deno.test("libraryErrorResponse() answers every SecurityError reason 4xx security_error, never to be retried", async () => {
  for (const [reason, status] of Object.entries(REASONS)) {
    const response = libraryErrorResponse(
      new SecurityError({
        reason: reason as SecurityErrorReason,
        message: "Cannot do it: refused",
        payloadId: "p-1",
      }),
    );
    assert.ok(response !== undefined);
    assert.equal(response.status, status, reason);
    assert.equal(response.headers.get("x-should-retry"), "false");
    assert.equal(response.headers.get("x-payload-id"), "p-1");
    const body = await response.json();
    assert.deepEqual(body.error, {
      message: "Cannot do it: refused",
      type: "security_error",
      param: null,
      code: reason,
    });
  }
});

Deno.test("libraryErrorResponse() answers NotFoundError 404 not_found_error with the router's request id", async () => {
  const response = libraryErrorResponse(
    new NotFoundError({
      message: "Cannot complete request: not found",
      status: 404,
      payloadId: "p-2",
      requestID: "req_9",
    }),
  );
  assert.ok(response !== undefined);
  assert.equal(response.status, 404);
  assert.equal(response.headers.get("x-request-id"), "req_9");
  assert.equal(response.headers.get("x-payload-id"), "p-2");
  const body = await response.json();
  assert.equal(body.error.type, "not_found_error");
  assert.equal(body.error.code, "NotFoundError");
});

Deno.test("fetchFailure() throws a timeout as TimeoutError and a browser refusal as fetch's TypeError", () => {
  const timeout = new APIConnectionTimeoutError({ message: "Cannot complete request: timed out" });
  assert.equal(libraryErrorResponse(timeout), undefined);
  const thrown = fetchFailure(timeout);
  assert.ok(thrown instanceof DOMException && thrown.name === "TimeoutError");

  const refused = browserFetchError({ protocol: "https:", origin: "https://app.example" }, "p-3");
  assert.equal(refused.retryable, false);
  assert.equal(libraryErrorResponse(refused), undefined);
  const failed = fetchFailure(refused);
  assert.ok(failed instanceof TypeError && failed.message === "fetch failed");
  // What the SDK keeps as the cause says what it is: CORS, not retried by the client.
  assert.ok(failed.cause instanceof APIConnectionError);
  assert.equal((failed.cause as APIConnectionError).retryable, false);
  assert.match((failed.cause as Error).message, /CORS/);
});
