import type * as AiError from "@effect/ai/AiError";
import * as LanguageModel from "@effect/ai/LanguageModel";
import { Effect, type Layer, Stream } from "effect";
import assert from "node:assert/strict";
import {
  APIConnectionError,
  AttestationError,
  AuthenticationError,
  ConflictError,
  KeyError,
  RateLimitError,
  SecurityError,
  type SecurityErrorReason,
  ServerError,
  UnprocessableEntityError,
} from "../../mod.ts";
import { toAiError } from "../../src/effect_ai/ai_error.ts";
import { withConfigOverride } from "../../src/effect_ai/mod.ts";
import { answeringCompletions, failureOf } from "../_helpers.ts";
import { completions, withModel } from "./_helpers.ts";

const SECRET_KEY = "sk-do-not-leak-4242";
const PROMPT = "patient 7 has a confidential diagnosis";

const failWith = async (
  live: Layer.Layer<LanguageModel.LanguageModel>,
  effect: Effect.Effect<unknown, AiError.AiError, LanguageModel.LanguageModel> = LanguageModel
    .generateText({ prompt: PROMPT }),
): Promise<AiError.AiError> =>
  failureOf(await Effect.runPromiseExit(effect.pipe(Effect.provide(live))));

/** Neither the API key nor the prompt is anywhere in what the caller sees of the error. */
const assertNoSecret = (error: AiError.AiError): void => {
  const seen = [error.message, String(error), JSON.stringify(error), error.stack ?? ""].join("\n");
  assert.ok(!seen.includes(SECRET_KEY), "the API key leaked into the error");
  assert.ok(!seen.includes("confidential"), "the prompt leaked into the error");
};

Deno.test("a router 401 becomes HttpResponseError 401 with the AuthenticationError as cause", async () => {
  await withModel(async ({ live }) => {
    const error = await failWith(live);
    assert.equal(error._tag, "HttpResponseError");
    assert.ok(error._tag === "HttpResponseError");
    assert.equal(error.reason, "StatusCode");
    assert.equal(error.response.status, 401);
    assert.deepEqual(error.request.headers, {});
    assert.ok(error.cause instanceof AuthenticationError);
    assert.equal(error.module, "NomyoLanguageModel");
    assert.equal(error.method, "generateText");
    assertNoSecret(error);
  }, { router: { apiKey: "the-right-key" }, client: { apiKey: SECRET_KEY } });
});

Deno.test("an injected 429 and 500 become HttpResponseErrors with the original as cause", async () => {
  await withModel(async ({ router, live }) => {
    router.inject({ status: 429, retryAfter: "7" });
    const limited = await failWith(live);
    assert.ok(limited._tag === "HttpResponseError");
    assert.equal(limited.response.status, 429);
    assert.deepEqual(limited.response.headers, { "retry-after": "7" });
    assert.ok(limited.cause instanceof RateLimitError);
    assertNoSecret(limited);

    router.inject({ status: 500 });
    const failed = await failWith(
      live,
      LanguageModel.streamText({ prompt: PROMPT }).pipe(Stream.runDrain),
    );
    assert.ok(failed._tag === "HttpResponseError");
    assert.equal(failed.response.status, 500);
    assert.equal(failed.method, "streamText");
    assert.ok(failed.cause instanceof ServerError);
    assertNoSecret(failed);
  }, { client: { apiKey: SECRET_KEY } });
});

Deno.test("a router 409 and 422 become HttpResponseErrors with ConflictError and UnprocessableEntityError as cause", async () => {
  await withModel(async ({ router, live }) => {
    router.inject({ status: 409, detail: "conflict" });
    const conflict = await failWith(live);
    assert.ok(conflict._tag === "HttpResponseError");
    assert.equal(conflict.response.status, 409);
    assert.ok(conflict.cause instanceof ConflictError);
    router.inject({ status: 422, detail: "cannot process" });
    const unprocessable = await failWith(live);
    assert.ok(unprocessable._tag === "HttpResponseError");
    assert.equal(unprocessable.response.status, 422);
    assert.ok(unprocessable.cause instanceof UnprocessableEntityError);
    assertNoSecret(unprocessable);
  }, { client: { apiKey: SECRET_KEY } });
});

Deno.test("a router that cannot be reached gives HttpRequestError Transport with the APIConnectionError", async () => {
  await withModel(async ({ router, live }) => {
    await router.close();
    const error = await failWith(live);
    assert.ok(error._tag === "HttpRequestError");
    assert.equal(error.reason, "Transport");
    assert.ok(error.cause instanceof APIConnectionError);
    assertNoSecret(error);
  }, { client: { apiKey: SECRET_KEY } });
});

Deno.test("a tampered answer gives MalformedOutput with the DecryptionFailed SecurityError", async () => {
  await withModel(async ({ router, live }) => {
    router.inject({ tamper: "tag" });
    const error = await failWith(live);
    assert.ok(error._tag === "MalformedOutput");
    assert.ok(error.cause instanceof SecurityError);
    assert.equal(error.cause.reason, "DecryptionFailed");
    assertNoSecret(error);
  }, { client: { apiKey: SECRET_KEY } });
});

Deno.test("a refused request (header injection, bad tier) gives MalformedInput and sends nothing", async () => {
  await withModel(async ({ router, live }) => {
    const injected = await failWith(
      live,
      LanguageModel.generateText({ prompt: PROMPT }).pipe(
        withConfigOverride({ apiKey: `${SECRET_KEY}\r\nX-Evil: 1` }),
      ),
    );
    assert.ok(injected._tag === "MalformedInput");
    assert.ok(injected.cause instanceof SecurityError);
    assert.equal(injected.cause.reason, "HeaderInjection");
    assertNoSecret(injected);

    const tier = await failWith(
      live,
      LanguageModel.generateText({ prompt: PROMPT }).pipe(
        withConfigOverride({ securityTier: "ultra" as "high" }),
      ),
    );
    assert.ok(tier._tag === "MalformedInput");
    assert.ok(tier.cause instanceof SecurityError);
    assert.equal(tier.cause.reason, "InvalidSecurityTier");
    assert.equal(completions(router).length, 0);
  });
});

Deno.test("toAiError() maps the other library errors to UnknownError with the original as cause", () => {
  const cases = [
    new KeyError({ reason: "Malformed", message: "Cannot import key: not PEM" }),
    new AttestationError({
      reason: "BadSignature",
      message: "Cannot verify quote: bad signature",
    }),
    new SecurityError({ reason: "FingerprintMismatch", message: "Cannot trust router key: pin" }),
    new Error("Cannot do something: odd"),
    "not an error",
  ];
  for (const original of cases) {
    const error = toAiError("generateText", original);
    assert.equal(error._tag, "UnknownError");
    assert.equal(error.cause, original);
    assert.match(error.message, /^NomyoLanguageModel\.generateText: Cannot /);
  }
});

Deno.test("a router that redirects gives HttpRequestError Transport with the RedirectRefused SecurityError", async () => {
  const redirecting = answeringCompletions(() =>
    new Response(null, { status: 307, headers: { location: "http://127.0.0.1:9/elsewhere" } })
  );
  await withModel(async ({ live }) => {
    const error = await failWith(live);
    assert.ok(error._tag === "HttpRequestError");
    assert.equal(error.reason, "Transport");
    assert.ok(error.cause instanceof SecurityError);
    assert.equal(error.cause.reason, "RedirectRefused");
    assert.equal(redirecting.calls(), 1, "a redirect is not retried");
    assertNoSecret(error);
  }, { client: { apiKey: SECRET_KEY, fetch: redirecting.fetch, maxRetries: 2 } });
});

Deno.test("toAiError() places every SecurityError reason: none falls to UnknownError but key and cipher failures", () => {
  const expected: Record<SecurityErrorReason, AiError.AiError["_tag"]> = {
    InsecureTransport: "MalformedInput",
    HeaderInjection: "MalformedInput",
    InvalidSecurityTier: "MalformedInput",
    PayloadTooLarge: "MalformedInput",
    MalformedPackage: "MalformedOutput",
    DecryptionFailed: "MalformedOutput",
    MalformedPlaintext: "MalformedOutput",
    ResponseTooLarge: "MalformedOutput",
    RedirectRefused: "HttpRequestError",
    KeyRejected: "UnknownError",
    FingerprintMismatch: "UnknownError",
    RouterKeyChanged: "UnknownError",
    EncryptionFailed: "UnknownError",
  };
  for (const [reason, tag] of Object.entries(expected)) {
    const original = new SecurityError({
      reason: reason as SecurityErrorReason,
      message: "Cannot do it: refused",
    });
    const error = toAiError("generateText", original);
    assert.equal(error._tag, tag, reason);
    assert.equal(error.cause, original);
  }
});

Deno.test("a router status carries the router's x-request-id into the HttpResponseError", async () => {
  const router = answeringCompletions(() =>
    new Response('{"detail":"slow down"}', {
      status: 429,
      headers: { "retry-after": "2", "x-request-id": "req_ai_1", "set-cookie": "s=1" },
    })
  );
  await withModel(async ({ live }) => {
    const error = await failWith(live);
    assert.ok(error._tag === "HttpResponseError");
    assert.equal(error.response.status, 429);
    assert.deepEqual(error.response.headers, { "retry-after": "2", "x-request-id": "req_ai_1" });
    assert.ok(error.cause instanceof RateLimitError);
    assertNoSecret(error);
  }, { client: { apiKey: SECRET_KEY, fetch: router.fetch } });
});
