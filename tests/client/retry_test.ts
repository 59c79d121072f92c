/**
 * Retries, backoff and Retry-After of SecureCompletion, on a scripted transport, timed with
 * Effect's TestClock (no real waiting for the delays).
 */
import assert from "node:assert/strict";
import { Chunk, Effect, Exit, Fiber, TestClock, TestContext } from "effect";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  ForbiddenError,
  InvalidRequestError,
  ServerError,
  ServiceUnavailableError,
} from "../../src/errors.ts";
import { statusError } from "../../src/transport/status_errors.ts";
import { makeScripted, serviceLayer, type Step } from "./_scripted_transport.ts";
import { failureOf } from "../_helpers.ts";

const request = { model: "m", messages: [{ role: "user", content: "hello" }] };
const err = (status: number, retryAfter?: number) => () =>
  statusError(status, { detail: `status ${status}` }, { retryAfter });
const netErr = () => new APIConnectionError({ message: "connection failed" });

/** Runs one create() under the TestClock, moving the clock until the request settles. */
const run = (script: Step[], config: Parameters<typeof serviceLayer>[1] = {}) => {
  const scripted = makeScripted(script);
  const program = Effect.gen(function* () {
    const service = yield* SecureCompletion;
    const fiber = yield* Effect.fork(service.create(request));
    while (fiber.unsafePoll() === null) {
      // Time moves only to the next pending sleep (a backoff), never while real WebCrypto work
      // runs, so a loaded machine cannot stretch the measured gaps.
      const sleeps = yield* TestClock.sleeps();
      if (Chunk.isNonEmpty(sleeps)) yield* TestClock.setTime(Math.min(...sleeps));
      else yield* Effect.promise(() => new Promise((r) => setTimeout(r, 1)));
    }
    return yield* Fiber.await(fiber);
  }).pipe(
    Effect.provide(serviceLayer(scripted, config)),
    Effect.provide(TestContext.TestContext),
  );
  return Effect.runPromise(program).then((exit) => ({
    exit,
    scripted,
    gaps: scripted.sent.slice(1).map((r, i) => r.at - scripted.sent[i]!.at),
  }));
};

const near = (actual: number, expected: number, what: string) =>
  assert.ok(
    actual >= expected * 0.8 - 50 && actual <= expected * 1.2 + 50,
    `${what}: ${actual} ms, expected ${expected} ms ±20 %`,
  );

Deno.test("SecureCompletion.create() retries 503 twice with 1 s and 2 s backoff, then succeeds", async () => {
  const { exit, scripted, gaps } = await run([err(503), err(503), "ok"]);
  assert.ok(Exit.isSuccess(exit));
  assert.equal(exit.value.choices[0]?.message.content, "Echo: hello");
  assert.equal(scripted.sent.length, 3);
  near(gaps[0]!, 1000, "first backoff");
  near(gaps[1]!, 2000, "second backoff");
});

Deno.test("SecureCompletion.create() gives up after maxRetries with the last error", async () => {
  const { exit, scripted } = await run([err(500), err(500), err(500), "ok"], { maxRetries: 2 });
  assert.ok(failureOf(exit) instanceof ServerError);
  assert.equal(scripted.sent.length, 3);
});

Deno.test("SecureCompletion.create() does not retry when maxRetries is 0", async () => {
  const { exit, scripted } = await run([err(503), "ok"], { maxRetries: 0 });
  assert.ok(failureOf(exit) instanceof ServiceUnavailableError);
  assert.equal(scripted.sent.length, 1);
});

Deno.test("SecureCompletion.create() caps the backoff at 8 s", async () => {
  const { exit, gaps } = await run(
    [err(502), err(502), err(502), err(502), err(502), "ok"],
    { maxRetries: 5 },
  );
  assert.ok(Exit.isSuccess(exit));
  [1000, 2000, 4000, 8000].forEach((d, i) => near(gaps[i]!, d, `backoff ${i + 1}`));
  assert.ok(gaps[4]! <= 8000 + 50, `capped: ${gaps[4]}`);
});

Deno.test("SecureCompletion.create() waits exactly Retry-After seconds on 429", async () => {
  const { exit, gaps } = await run([err(429, 7), "ok"]);
  assert.ok(Exit.isSuccess(exit));
  assert.ok(gaps[0]! >= 7000 && gaps[0]! <= 7050, `waited ${gaps[0]} ms`);
});

Deno.test("SecureCompletion.create() ignores a Retry-After over the cap for the backoff", async () => {
  const { exit, gaps } = await run([err(429, 3600), "ok"], { retryAfterCap: "60 seconds" });
  assert.ok(Exit.isSuccess(exit));
  near(gaps[0]!, 1000, "fallback backoff");
});

Deno.test("SecureCompletion.create() retries connection failures", async () => {
  const { exit, scripted } = await run([netErr, "ok"]);
  assert.ok(Exit.isSuccess(exit));
  assert.equal(scripted.sent.length, 2);
});

Deno.test("SecureCompletion.create() never retries 400, 401, 403, 404 or other statuses", async () => {
  for (
    const [status, cls] of [
      [400, InvalidRequestError],
      [401, AuthenticationError],
      [403, ForbiddenError],
      [404, APIError],
      [418, APIError],
    ] as const
  ) {
    const { exit, scripted } = await run([err(status), "ok"]);
    const e = failureOf(exit);
    assert.ok(e instanceof cls, `${status}`);
    assert.equal((e as APIError).status, status);
    assert.equal(scripted.sent.length, 1, `${status} sent once`);
  }
});

Deno.test("SecureCompletion.create() seals every attempt afresh, under one payload id", async () => {
  const { exit, scripted } = await run([err(503), err(503), "ok"]);
  assert.ok(Exit.isSuccess(exit));
  const bodies = scripted.sent.map((r) => new TextDecoder().decode(r.request.body));
  assert.equal(new Set(bodies).size, 3);
  const nonces = bodies.map((b) => JSON.parse(b).encrypted_payload.nonce);
  assert.equal(new Set(nonces).size, 3);
  assert.equal(new Set(scripted.sent.map((r) => r.request.payloadId)).size, 1);
  assert.equal(exit.value._metadata.payload_id, scripted.sent[0]!.request.payloadId);
  assert.deepEqual(scripted.sent.map((r) => r.plaintext), [request, request, request]);
});

Deno.test("SecureCompletion.create() refetches the router key once when the router cannot decrypt", async () => {
  const decrypt400 = () =>
    new InvalidRequestError({
      message: "Router answered 400: cannot decrypt payload",
      status: 400,
    });
  const once = await run([decrypt400, "ok"]);
  assert.ok(Exit.isSuccess(once.exit));
  assert.equal(once.scripted.keyFetches.length, 2);
  assert.equal(once.scripted.sent.length, 2);
  // Twice in a row: one refetch, one retry, then the error (no loop).
  const twice = await run([decrypt400, decrypt400, decrypt400, "ok"]);
  assert.ok(failureOf(twice.exit) instanceof InvalidRequestError);
  assert.equal(twice.scripted.sent.length, 2);
});
