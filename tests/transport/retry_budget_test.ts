/**
 * One request, one retry budget: the router-key fetch and the sends share `maxRetries`, against
 * the test router over HTTP, timed with Effect's TestClock (no real waiting for backoffs).
 */
import assert from "node:assert/strict";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import { Effect, Exit, Fiber, Layer, TestClock, TestContext } from "effect";
import { nomyoLayer } from "../../src/client/layer.ts";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import { ServiceUnavailableError } from "../../src/errors.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";
import { RouterKeys } from "../../src/transport/router_keys.ts";
import { failureOf } from "../_helpers.ts";

const ask = { model: "m", messages: [{ role: "user", content: "hello" }] };

/** Runs `program` on the client layer against `router`, moving the TestClock until it settles. */
const run = <A, E>(
  router: TestRouter,
  program: Effect.Effect<A, E, SecureCompletion | RouterKeys>,
  maxRetries = 2,
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(program);
      while (fiber.unsafePoll() === null) {
        yield* TestClock.adjust("100 millis");
        // Real I/O (HTTP, WebCrypto) between clock steps; not a timing assertion.
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 2)));
      }
      return yield* Fiber.await(fiber);
    }).pipe(
      Effect.provide(
        nomyoLayer({
          baseUrl: router.url,
          allowHttp: true,
          keySize: 2048,
          maxRetries,
          keyRotationInterval: 0,
        }).pipe(Layer.provide(FetchHttpClient.layer)),
      ),
      Effect.provide(TestContext.TestContext),
    ),
  );

const create = Effect.flatMap(SecureCompletion, (s) => s.create(ask));
const completions = (router: TestRouter) =>
  router.requests.filter((r) => r.path === "/v1/chat/secure_completion").length;

Deno.test("a key endpoint that answers 503 is asked maxRetries + 1 times in all", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ status: 503, path: "public_key", times: 100 });
    const exit = await run(router, create, 2);
    assert.ok(failureOf(exit) instanceof ServiceUnavailableError);
    assert.equal(router.publicKeyFetches, 3, "3 key fetches, not 9");
    assert.equal(completions(router), 0);
  } finally {
    await router.close();
  }
});

Deno.test("key fetch and sends share one budget: failures never exceed maxRetries + 1", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ status: 503, path: "public_key", times: 1 });
    router.inject({ status: 503, path: "completion", times: 100 });
    const exit = await run(router, create, 2);
    assert.ok(failureOf(exit) instanceof ServiceUnavailableError);
    // 1 failed key fetch + 2 failed sends = 3 failures; plus the one key fetch that worked.
    assert.equal(router.publicKeyFetches, 2);
    assert.equal(completions(router), 2);
  } finally {
    await router.close();
  }
});

Deno.test("after a failing key fetch, the budget left still serves the request", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ status: 503, path: "public_key", times: 2 });
    const exit = await run(router, create, 2);
    assert.ok(Exit.isSuccess(exit), "third attempt succeeds");
    assert.equal(router.publicKeyFetches, 3);
    assert.equal(completions(router), 1);
  } finally {
    await router.close();
  }
});

Deno.test("concurrent requests share one key fetch", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ delayMs: 50, path: "public_key" });
    const exit = await run(
      router,
      Effect.all(Array.from({ length: 5 }, () => create), { concurrency: 5 }),
      2,
    );
    assert.ok(Exit.isSuccess(exit));
    assert.equal(router.publicKeyFetches, 1);
    assert.equal(completions(router), 5);
  } finally {
    await router.close();
  }
});

Deno.test("RouterKeys.get (fetchServerPublicKey) retries within its own single budget", async () => {
  const router = await startTestRouter();
  try {
    router.inject({ status: 503, path: "public_key", times: 100 });
    const get = Effect.flatMap(RouterKeys, (keys) => keys.get(router.url));
    assert.ok(failureOf(await run(router, get, 2)) instanceof ServiceUnavailableError);
    assert.equal(router.publicKeyFetches, 3);
    router.clearFaults();
    router.inject({ status: 503, path: "public_key", times: 1 });
    const ok = await run(router, get, 2);
    assert.ok(Exit.isSuccess(ok));
    assert.equal(ok.value.pem, router.publicKeyPem);
    assert.equal(router.publicKeyFetches, 5);
  } finally {
    await router.close();
  }
});
