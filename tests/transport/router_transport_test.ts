/**
 * RouterTransport against the test router: timeouts on the TestClock, body caps, status
 * mapping details; and the Retry-After parser.
 */
import assert from "node:assert/strict";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import * as HttpClient from "@effect/platform/HttpClient";
import * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import { type Duration, Effect, Exit, Fiber, TestClock, TestContext } from "effect";
import { APIConnectionError, RateLimitError, SecurityError } from "../../src/errors.ts";
import type { RsaPublicKey } from "../../src/keys/rsa_key.ts";
import { makeRouterTransport } from "../../src/transport/router_transport.ts";
import { parseRetryAfter } from "../../src/transport/retry_after.ts";
import { statusError } from "../../src/transport/status_errors.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { failureOf } from "../_helpers.ts";

const transportOn = (
  timeout: Duration.DurationInput = "60 seconds",
  maxResponseBytes = 1024 * 1024,
) =>
  Effect.map(HttpClient.HttpClient, (client) =>
    makeRouterTransport(client, {
      timeout,
      maxResponseBytes,
      userAgent: "test",
    })).pipe(Effect.provide(FetchHttpClient.layer));

Deno.test("RouterTransport times an attempt out on the clock, and aborts it", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ delayMs: 30_000, path: "public_key" });
    const exit = await Effect.runPromise(
      Effect.gen(function* () {
        const transport = yield* transportOn("60 seconds");
        const fiber = yield* Effect.fork(transport.fetchPublicKey(router.url));
        // Let the request reach the router, then move the test clock past the timeout.
        while (router.requests.length === 0) {
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)));
        }
        yield* TestClock.adjust("59 seconds");
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 20)));
        assert.equal(fiber.unsafePoll(), null, "not timed out before 60 s");
        yield* TestClock.adjust("2 seconds");
        return yield* Fiber.await(fiber);
      }).pipe(Effect.provide(TestContext.TestContext)),
    );
    const error = failureOf(exit);
    assert.ok(error instanceof APIConnectionError);
    assert.equal(error.timeout, true);
    assert.match(error.message, /1m|60s|60 seconds|1 minute/);
  } finally {
    await router.close();
  }
});

/** An HttpClient that answers every request with `response()`, counting body pulls. */
const fakeHttp = (response: () => Response) =>
  HttpClient.make((request) => Effect.succeed(HttpClientResponse.fromWeb(request, response())));

const sendOnce = (client: HttpClient.HttpClient, maxResponseBytes: number) =>
  makeRouterTransport(client, { timeout: "60 seconds", maxResponseBytes, userAgent: "t" }).send({
    baseUrl: "https://router.test",
    body: new Uint8Array(4),
    payloadId: "pid",
    publicKey: { pem: "k" } as RsaPublicKey,
  });

Deno.test("RouterTransport refuses a declared Content-Length over the cap without reading", async () => {
  let pulled = 0;
  const client = fakeHttp(() =>
    new Response(
      new ReadableStream({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(1024));
        },
      }),
      { status: 200, headers: { "content-length": String(1024 * 1024 * 1024) } },
    )
  );
  const error = failureOf(await Effect.runPromiseExit(sendOnce(client, 4096)));
  assert.ok(error instanceof SecurityError);
  assert.equal(error.reason, "ResponseTooLarge");
  assert.equal(error.payloadId, "pid");
  assert.ok(pulled <= 1, `read ${pulled} chunks`);
});

Deno.test("RouterTransport stops reading an endless body at the cap", async () => {
  let pulled = 0;
  const client = fakeHttp(() =>
    new Response(
      new ReadableStream({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(1024));
        },
      }),
      { status: 200 },
    )
  );
  const error = failureOf(await Effect.runPromiseExit(sendOnce(client, 64 * 1024)));
  assert.ok(error instanceof SecurityError);
  assert.equal(error.reason, "ResponseTooLarge");
  assert.ok(pulled < 80, `read ${pulled} chunks of 1 KiB for a 64 KiB cap`);
});

Deno.test("RouterTransport joins a chunked body exactly", async () => {
  const chunks = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6])];
  const client = fakeHttp(() =>
    new Response(
      new ReadableStream({
        start(c) {
          chunks.forEach((x) => c.enqueue(x));
          c.close();
        },
      }),
      { status: 200 },
    )
  );
  const exit = await Effect.runPromiseExit(sendOnce(client, 1024));
  assert.ok(Exit.isSuccess(exit));
  assert.deepEqual(exit.value.body, new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.equal(exit.value.requestId, undefined);
});

Deno.test("RouterTransport maps a refused connection to APIConnectionError", async () => {
  const router = await startTestRouter();
  const url = router.url;
  await router.close();
  const exit = await Effect.runPromiseExit(
    Effect.flatMap(transportOn(), (t) => t.fetchPublicKey(url)),
  );
  const error = failureOf(exit);
  assert.ok(error instanceof APIConnectionError);
  assert.equal(error.timeout, false);
  assert.equal(error.cause, undefined, "no platform error (with its headers) as cause");
});

Deno.test("RouterTransport reads Retry-After from a 429", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ status: 429, detail: "slow down", retryAfter: "12", path: "public_key" });
    const exit = await Effect.runPromiseExit(
      Effect.flatMap(transportOn(), (t) => t.fetchPublicKey(router.url)),
    );
    const error = failureOf(exit);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfter, 12);
    assert.ok(Exit.isFailure(exit));
  } finally {
    await router.close();
  }
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates, and refuses junk", () => {
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter(" 120 ", now), 120);
  assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30);
  assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
  assert.equal(parseRetryAfter("99999999999", now), 2 ** 31, "valid delta-seconds, kept finite");
  for (const junk of ["", "-1", "1.5", "soon", "Tuesday", "1e3"]) {
    assert.equal(parseRetryAfter(junk, now), undefined, junk);
  }
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

Deno.test("statusError() keeps detail short and never trusts odd bodies", () => {
  const long = statusError(500, { detail: "x".repeat(10_000) }, {});
  assert.ok(long.message.length < 700);
  const nested = statusError(400, { detail: [{ loc: ["body"], msg: "bad" }] }, {});
  assert.match(nested.message, /bad/);
  const plain = statusError(404, "not json", {});
  assert.match(plain.message, /secure inference is not enabled/);
});
