/**
 * The official `openai` SDK (v7), wired with `fetch: client.fetch`, against the test router:
 * create, stream, tools, and every status raised as openai's own class.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import {
  ask,
  assertSealed,
  closedRouterUrl,
  STATUSES,
  WEATHER_TOOL,
  withClient,
} from "./_setup.ts";
import { answeringCompletions } from "../_helpers.ts";

const sdk = (client: SecureChatCompletion, maxRetries = 0): OpenAI =>
  new OpenAI({
    baseURL: "https://nomyo.invalid/v1",
    apiKey: "unused",
    maxRetries,
    fetch: client.fetch,
  });

Deno.test("openai SDK: chat.completions.create() through client.fetch", async () => {
  await withClient(async (client, router) => {
    const answer = await sdk(client).chat.completions.create(ask("sdk-secret-1"));
    assert.equal(answer.choices[0]?.message.content, "Echo: sdk-secret-1");
    assert.equal(answer.object, "chat.completion");
    assert.equal(
      (answer as unknown as { _metadata: { is_encrypted: boolean } })._metadata.is_encrypted,
      true,
    );
    assert.match(answer._request_id ?? "", /^req_/); // the router's x-request-id
    assertSealed(router, 1, "sdk-secret-1");
  });
});

Deno.test("openai SDK: a stream's chunks join to the answer, with usage", async () => {
  await withClient(async (client, router) => {
    const text =
      "a fairly long sentence that the echo model repeats back, word by word, to the caller";
    const stream = await sdk(client).chat.completions.create({
      ...ask(text),
      stream: true,
      stream_options: { include_usage: true },
    });
    let joined = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      joined += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(joined, `Echo: ${text}`);
    assert.equal(finish, "stop");
    assert.ok(usage !== null && usage !== undefined && usage.total_tokens > 0);
    assertSealed(router, 1, "fairly long sentence");
  });
});

Deno.test("openai SDK: the stream helper assembles the final completion", async () => {
  await withClient(async (client) => {
    const runner = sdk(client).chat.completions.stream(ask("helper"));
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, "Echo: helper");
  });
});

Deno.test("openai SDK: tools, called and streamed", async () => {
  await withClient(async (client, router) => {
    const openai = sdk(client);
    const answer = await openai.chat.completions.create({ ...ask("Paris"), tools: [WEATHER_TOOL] });
    const call = answer.choices[0]?.message.tool_calls?.[0];
    assert.equal(answer.choices[0]?.finish_reason, "tool_calls");
    assert.ok(call !== undefined && call.type === "function");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { echo: "Paris" });

    const runner = openai.chat.completions.stream({ ...ask("Rome"), tools: [WEATHER_TOOL] });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(streamed !== undefined && streamed.type === "function");
    assert.deepEqual(JSON.parse(streamed.function.arguments), { echo: "Rome" });
    assert.equal(streamed.id.startsWith("call_"), true);
    assertSealed(router, 2, "Rome");
  });
});

Deno.test("openai SDK: each router status raises openai's own class", async () => {
  await withClient(async (client, router) => {
    const openai = sdk(client);
    for (const [status, name] of STATUSES) {
      router.inject({ status, detail: `router says ${status}` });
      await assert.rejects(openai.chat.completions.create(ask("a")), (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError, `${status}: an APIError`);
        assert.equal(e.constructor.name, name);
        assert.equal(e.status, status);
        assert.match(e.message, new RegExp(`router says ${status}`));
        return true;
      });
    }
    assert.equal(router.requests.filter((r) => r.method === "POST").length, STATUSES.length);
  });
});

Deno.test("openai SDK: a router error is not retried again, even with maxRetries", async () => {
  await withClient(async (client, router) => {
    router.inject({ status: 503, times: 10 });
    const error = await sdk(client, 2).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.InternalServerError);
    assert.equal(error.headers?.get("x-should-retry"), "false");
    // The client's retry policy (here none) is the only one: openai-node added no attempt.
    assertSealed(router, 1, "never");
  });
});

Deno.test("openai SDK: a 429's Retry-After reaches the SDK", async () => {
  await withClient(async (client, router) => {
    router.inject({ status: 429, retryAfter: "3" });
    const error = await sdk(client).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.RateLimitError);
    assert.equal(error.headers?.get("retry-after"), "3");
  });
});

Deno.test("openai SDK: a tampered answer is a BadRequestError it never retries", async () => {
  await withClient(async (client, router) => {
    router.inject({ tamper: "tag", times: 5 });
    const error = await sdk(client, 3).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.type, "security_error");
    assert.equal(error.code, "DecryptionFailed");
    assert.match(error.message, /decryption failed/);
    assertSealed(router, 1, "never");
  });
});

Deno.test("openai SDK: connection failures, timeouts and aborts raise openai's classes", async () => {
  const url = await closedRouterUrl();
  const { SecureChatCompletion } = await import("../../src/promise/secure_chat_completion.ts");
  const gone = new SecureChatCompletion({
    baseUrl: url,
    allowHttp: true,
    maxRetries: 0,
    keySize: 2048,
  });
  try {
    const error = await sdk(gone).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.APIConnectionError);
    assert.ok(!(error instanceof OpenAI.APIConnectionTimeoutError));
  } finally {
    await gone.dispose();
  }
  await withClient(async (client, router) => {
    router.inject({ delayMs: 5_000 });
    const error = await sdk(client).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.APIConnectionTimeoutError);
  }, { timeout: 50 });
  await withClient(async (client, router) => {
    router.inject({ delayMs: 10_000 });
    const controller = new AbortController();
    const pending = sdk(client).chat.completions.create(ask("a"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, OpenAI.APIUserAbortError);
  });
});

Deno.test("openai SDK: a disposed client says so in the error's cause, not only in cause.cause", async () => {
  const { SecureChatCompletion } = await import("../../src/promise/secure_chat_completion.ts");
  const client = new SecureChatCompletion({
    baseUrl: "https://nomyo.invalid",
    maxRetries: 0,
    keySize: 2048,
  });
  await client.dispose();
  const error = await sdk(client).chat.completions.create(ask("a")).catch((e) => e);
  assert.ok(error instanceof OpenAI.APIConnectionError, String(error));
  assert.ok(error.cause instanceof TypeError);
  assert.equal(error.cause.message, "Cannot use client: it was disposed");
  assert.equal((error.cause.cause as { _tag?: string })._tag, "DisposedError");
});

Deno.test("openai SDK: a 404 is NotFoundError with the router's requestID", async () => {
  const router = answeringCompletions(() =>
    new Response('{"detail":"secure inference is off"}', {
      status: 404,
      headers: { "content-type": "application/json", "x-request-id": "req_router_7" },
    })
  );
  await withClient(async (client) => {
    const error = await sdk(client, 3).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.NotFoundError);
    assert.equal(error.type, "not_found_error");
    assert.equal(error.requestID, "req_router_7");
    assert.match(error.message, /secure inference is off/);
    assert.equal(router.calls(), 1, "neither the client nor the SDK retried");
  }, { fetch: router.fetch });
});

Deno.test("openai SDK: a router redirect is a BadRequestError RedirectRefused, never retried", async () => {
  const router = answeringCompletions(() =>
    new Response(null, { status: 307, headers: { location: "http://127.0.0.1:9/elsewhere" } })
  );
  await withClient(async (client) => {
    const error = await sdk(client, 3).chat.completions.create(ask("a")).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.type, "security_error");
    assert.equal(error.code, "RedirectRefused");
    assert.match(error.message, /307/);
    assert.equal(router.calls(), 1, "neither the client nor the SDK retried");
  }, { fetch: router.fetch, maxRetries: 2 });
});
