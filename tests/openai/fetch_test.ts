/**
 * `client.fetch` spoken to directly, as an SDK would: JSON and event streams, the request's
 * tier, key and signal, and every error in OpenAI's shape.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { MAX_PLAINTEXT_BYTES } from "../../src/protocol/headers.ts";
import { MAX_JSON_DEPTH } from "../../src/protocol/json.ts";
import {
  ask,
  assertSealed,
  closedRouterUrl,
  completions,
  lastPlaintext,
  WEATHER_TOOL,
  withClient,
} from "./_setup.ts";
import { answeringCompletions } from "../_helpers.ts";

const post = (
  client: SecureChatCompletion,
  body: unknown,
  init: RequestInit = {},
  url = "http://nomyo.invalid/v1/chat/completions",
): Promise<Response> =>
  client.fetch(url, {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...init.headers as Record<string, string> },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** Parses an event stream body into its `data:` payloads. */
const events = async (response: Response): Promise<string[]> =>
  (await response.text()).split("\n\n").filter((e) => e !== "").map((e) => {
    assert.ok(e.startsWith("data: "), `an SSE data event: ${e}`);
    assert.ok(!e.slice(6).includes("\n"), "one line per event");
    return e.slice(6);
  });

Deno.test("client.fetch answers a chat completion as OpenAI JSON with _metadata", async () => {
  await withClient(async (client, router) => {
    const response = await post(client, { ...ask("secret-prompt-1"), temperature: 0.2 });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const answer = await response.json();
    assert.equal(answer.object, "chat.completion");
    assert.equal(answer.choices[0].message.content, "Echo: secret-prompt-1");
    assert.equal(answer.choices[0].message.refusal, null);
    assert.equal(answer.choices[0].logprobs, null);
    assert.equal(answer._metadata.is_encrypted, true);
    // The router's request id (the test router sends one), the payload id apart.
    assert.match(response.headers.get("x-request-id") ?? "", /^req_/);
    assert.equal(response.headers.get("x-payload-id"), answer._metadata.payload_id);
    assertSealed(router, 1, "secret-prompt-1");
    assert.equal(lastPlaintext(router).temperature, 0.2);
  });
});

Deno.test("client.fetch serves any path ending in /chat/completions, and a Request", async () => {
  await withClient(async (client) => {
    const a = await post(client, ask("a"), {}, "https://x.invalid/chat/completions");
    assert.equal(a.status, 200);
    const b = await client.fetch(
      new Request("https://x.invalid/openai/deployments/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify(ask("b")),
      }),
    );
    assert.equal((await b.json()).choices[0].message.content, "Echo: b");
  });
});

Deno.test("client.fetch streams OpenAI chunks that join to the answer, then [DONE]", async () => {
  await withClient(async (client, router) => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ") + "\nnext line";
    const response = await post(client, {
      ...ask(long),
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const data = await events(response);
    assert.equal(data.at(-1), "[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, `Echo: ${long}`);
    assert.ok(chunks.filter((c) => c.choices[0]?.delta.content).length > 1, "several deltas");
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.deepEqual(finish.map((c) => c.choices[0].finish_reason), ["stop"]);
    const usage = chunks.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.equal(
      usage.usage.total_tokens,
      usage.usage.prompt_tokens + usage.usage.completion_tokens,
    );
    assert.equal(usage._metadata.is_encrypted, true);
    assert.ok(chunks.slice(0, -1).every((c) => c._metadata === undefined && c.usage === null));
    // The protocol has no streaming: neither field reaches the plaintext.
    const plaintext = lastPlaintext(router);
    assert.equal("stream" in plaintext, false);
    assert.equal("stream_options" in plaintext, false);
    assertSealed(router, 1, "word59");
  });
});

Deno.test("client.fetch streams tool calls as indexed deltas", async () => {
  await withClient(async (client) => {
    const response = await post(client, { ...ask("Paris"), tools: [WEATHER_TOOL], stream: true });
    const chunks = (await events(response)).slice(0, -1).map((d) => JSON.parse(d));
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    assert.equal(calls[0].index, 0);
    assert.equal(calls[0].type, "function");
    assert.equal(calls[0].function.name, "get_weather");
    assert.match(calls[0].id, /^call_/);
    const args = calls.map((c: { function: { arguments?: string } }) => c.function.arguments ?? "")
      .join("");
    assert.deepEqual(JSON.parse(args), { echo: "Paris" });
    assert.equal(chunks.at(-1).choices[0].finish_reason, "tool_calls");
    assert.ok(!("usage" in chunks.at(-1)), "no usage chunk unless asked");
  });
});

Deno.test("client.fetch honours security_tier in the body, else X-Security-Tier", async () => {
  await withClient(async (client, router) => {
    await post(client, { ...ask("a"), security_tier: "high" }, {
      headers: { "x-security-tier": "standard" },
    });
    await post(client, ask("b"), { headers: { "x-security-tier": "high" } });
    await post(client, ask("c"));
    const tiers = completions(router).map((r) => r.headers["x-security-tier"]);
    assert.deepEqual(tiers, ["high", "high", undefined]);
    assert.equal("security_tier" in lastPlaintext(router), false);
    const bad = await post(client, ask("d"), { headers: { "x-security-tier": "ultra" } });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "InvalidSecurityTier");
    assert.equal(completions(router).length, 3, "a refused tier sends nothing");
  });
});

Deno.test("client.fetch sends the SDK's Bearer key only when the client has none", async () => {
  await withClient(
    async (client, router) => {
      const ok = await post(client, ask("a"), { headers: { authorization: "Bearer router-key" } });
      assert.equal(ok.status, 200);
      const none = await post(client, ask("b"));
      assert.equal(none.status, 401);
      assert.equal((await none.json()).error.type, "authentication_error");
      assert.equal(completions(router)[0]?.headers.authorization, "Bearer router-key");
    },
    {},
    { apiKey: "router-key" },
  );
  await withClient(
    async (client, router) => {
      const ok = await post(client, ask("a"), { headers: { authorization: "Bearer sdk-key" } });
      assert.equal(ok.status, 200);
      assert.equal(completions(router)[0]?.headers.authorization, "Bearer router-key");
    },
    { apiKey: "router-key" },
    { apiKey: "router-key" },
  );
});

Deno.test("client.fetch refuses api_key and base_url in the body", async () => {
  await withClient(async (client, router) => {
    for (const extra of [{ base_url: "https://evil.invalid" }, { api_key: "k" }]) {
      const response = await post(client, { ...ask("a"), ...extra });
      assert.equal(response.status, 400);
      assert.equal((await response.json()).error.type, "invalid_request_error");
    }
    assert.equal(completions(router).length, 0);
  });
});

Deno.test("client.fetch answers 404 in OpenAI's shape for other paths, 405 for other methods", async () => {
  await withClient(async (client, router) => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const wrong = await client.fetch("http://x.invalid/v1/chat/completions", { method });
      assert.equal(wrong.status, 405, method);
      assert.equal(wrong.headers.get("allow"), "POST");
      const body = await wrong.json();
      assert.equal(body.error.code, "method_not_allowed");
      assert.equal(body.error.type, "invalid_request_error");
    }
    const cases: Array<[string, string]> = [
      ["POST", "http://x.invalid/v1/completions"],
      ["POST", "http://x.invalid/v1/chat/completions/extra"],
      ["GET", "http://x.invalid/v1/models"],
      ["POST", "http://x.invalid/v1/embeddings"],
    ];
    for (const [method, url] of cases) {
      const response = await client.fetch(url, {
        method,
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      assert.equal(response.status, 404, `${method} ${url}`);
      const body = await response.json();
      assert.equal(body.error.type, "not_found_error");
      assert.equal(typeof body.error.message, "string");
    }
    assert.equal(router.requests.length, 0);
  });
});

Deno.test("client.fetch answers 400 to a body that is not a JSON object", async () => {
  await withClient(async (client, router) => {
    const bodies = [
      "{bad",
      "",
      "[]",
      "null",
      '"text"',
      "1",
      JSON.stringify({ model: 1, messages: [] }),
      JSON.stringify({ model: "m" }),
      "[".repeat(100_000) + "]".repeat(100_000),
      `{"model":"m","messages":[],"x":${"[".repeat(300)}${"]".repeat(300)}}`,
      // One bound for every parser: deeper than MAX_JSON_DEPTH (the object itself is depth 1).
      `{"model":"m","messages":[],"x":${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}}`,
    ];
    for (const body of bodies) {
      const response = await post(client, body);
      assert.equal(response.status, 400, body.slice(0, 40));
      assert.equal((await response.json()).error.type, "invalid_request_error");
    }
    const invalidUtf8 = await client.fetch("http://x.invalid/v1/chat/completions", {
      method: "POST",
      body: new Uint8Array([0x7b, 0xff, 0x7d]),
    });
    assert.equal(invalidUtf8.status, 400);
    assert.equal(router.requests.length, 0);
  });
});

Deno.test("client.fetch accepts a body nested exactly MAX_JSON_DEPTH deep", async () => {
  await withClient(async (client, router) => {
    const deep = "[".repeat(MAX_JSON_DEPTH - 1) + "]".repeat(MAX_JSON_DEPTH - 1);
    const body = `{"model":"m","messages":[{"role":"user","content":"a"}],"x":${deep}}`;
    const response = await post(client, body);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(completions(router).length, 1);
  });
});

Deno.test("client.fetch refuses a body over the 10 MiB plaintext limit with 413", async () => {
  await withClient(async (client, router) => {
    const big = JSON.stringify(ask("x".repeat(MAX_PLAINTEXT_BYTES)));
    const declared = await post(client, big);
    assert.equal(declared.status, 413);
    assert.equal((await declared.json()).error.code, "PayloadTooLarge");
    // Without a length: a stream, cut off at the cap.
    const bytes = new TextEncoder().encode(big);
    const streamed = await client.fetch("http://x.invalid/v1/chat/completions", {
      method: "POST",
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 1 << 20) c.enqueue(bytes.slice(i, i + (1 << 20)));
          c.close();
        },
      }),
      // @ts-ignore: duplex is required for stream bodies, not yet in every RequestInit type
      duplex: "half",
    });
    assert.equal(streamed.status, 413);
    assert.equal(router.requests.length, 0);
  });
});

Deno.test("client.fetch keeps router statuses with OpenAI bodies and Retry-After", async () => {
  await withClient(async (client, router) => {
    for (const status of [400, 401, 403, 404, 429, 500, 502, 503]) {
      router.inject({ status, detail: `detail ${status}`, retryAfter: "7" });
      const response = await post(client, ask("a"));
      assert.equal(response.status, status);
      const body = await response.json();
      assert.match(body.error.message, new RegExp(`${status}`));
      assert.equal(typeof body.error.type, "string");
      assert.equal(typeof body.error.code, "string");
      assert.equal(response.headers.get("retry-after"), "7");
    }
  });
});

Deno.test("client.fetch answers a tampered answer 400 security_error, never retried", async () => {
  await withClient(async (client, router) => {
    for (const tamper of ["tag", "ciphertext", "not-json", "plaintext-not-json"] as const) {
      router.inject({ tamper });
      const response = await post(client, ask("a"));
      assert.equal(response.status, 400, tamper);
      assert.equal(response.headers.get("x-should-retry"), "false");
      const body = await response.json();
      assert.equal(body.error.type, "security_error");
      assert.match(body.error.code, /^(DecryptionFailed|MalformedPackage|MalformedPlaintext)$/);
    }
    assert.equal(completions(router).length, 4);
  }, { maxRetries: 2 });
});

Deno.test("client.fetch rejects as fetch does when the router cannot be reached", async () => {
  const url = await closedRouterUrl();
  const client = new SecureChatCompletion({
    baseUrl: url,
    allowHttp: true,
    maxRetries: 0,
    keySize: 2048,
  });
  try {
    await assert.rejects(post(client, ask("a")), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.equal(e.message, "fetch failed");
      assert.equal((e.cause as { _tag?: string })._tag, "APIConnectionError");
      return true;
    });
  } finally {
    await client.dispose();
  }
});

Deno.test("client.fetch times out as a TimeoutError", async () => {
  await withClient(async (client, router) => {
    router.inject({ delayMs: 5_000 });
    await assert.rejects(post(client, ask("a")), (e: unknown) => {
      assert.ok(e instanceof DOMException);
      assert.equal(e.name, "TimeoutError");
      return true;
    });
  }, { timeout: 50 });
});

Deno.test("client.fetch rejects with the signal's reason when the SDK aborts", async () => {
  await withClient(async (client, router) => {
    router.inject({ delayMs: 10_000 });
    const controller = new AbortController();
    const pending = post(client, ask("a"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (e: unknown) => {
      assert.ok(e instanceof DOMException);
      assert.equal(e.name, "AbortError");
      return true;
    });
    const already = post(client, ask("b"), { signal: AbortSignal.abort() });
    await assert.rejects(already, { name: "AbortError" });
  });
});

Deno.test("client.fetch rejects a bad URL as fetch does, without throwing", async () => {
  await withClient(async (client) => {
    const result = client.fetch("not a url", { method: "POST", body: "{}" });
    assert.ok(result instanceof Promise);
    await assert.rejects(result, TypeError);
  });
});

Deno.test("client.fetch: an abort of the very first call leaves the client usable", async () => {
  await withClient(async (client) => {
    // The key pair is still being made: the abort lands while the request waits for it.
    const pending = post(client, ask("a"), { signal: AbortSignal.timeout(1) });
    await assert.rejects(pending, (e: unknown) => e instanceof DOMException);
    const next = await post(client, ask("b"));
    assert.equal(next.status, 200);
    assert.equal((await next.json()).choices[0].message.content, "Echo: b");
  });
});

Deno.test("client.fetch passes the router's x-request-id on, and the payload id as x-payload-id", async () => {
  const router = answeringCompletions(() =>
    new Response('{"detail":"not enabled here"}', {
      status: 404,
      headers: { "content-type": "application/json", "x-request-id": "req_router_42" },
    })
  );
  await withClient(async (client) => {
    const response = await post(client, ask("a"));
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("x-request-id"), "req_router_42");
    const payloadId = response.headers.get("x-payload-id");
    assert.match(payloadId ?? "", /^[\w-]{8,}$/, "the payload id is sent too");
    const body = await response.json();
    assert.equal(body.error.type, "not_found_error");
    assert.equal(body.error.code, "NotFoundError");
    assert.match(body.error.message, /not enabled here/);
  }, { fetch: router.fetch });
  await withClient(async (client, testRouter) => {
    // Without a router id, x-request-id is the payload id (as on a success).
    testRouter.inject({ status: 429 });
    const response = await post(client, ask("a"));
    assert.equal(response.status, 429);
    const payloadId = response.headers.get("x-payload-id");
    assert.ok(payloadId !== null);
    assert.equal(response.headers.get("x-request-id"), payloadId);
    await response.body?.cancel();
  });
});

Deno.test("client.fetch answers a router redirect 400 security_error RedirectRefused, never retried", async () => {
  for (const status of [301, 302, 303, 307, 308]) {
    const router = answeringCompletions(() =>
      new Response(null, { status, headers: { location: "http://127.0.0.1:9/elsewhere" } })
    );
    await withClient(async (client) => {
      const response = await post(client, ask("a"));
      assert.equal(response.status, 400, `${status}`);
      assert.equal(response.headers.get("x-should-retry"), "false");
      assert.equal(response.headers.get("location"), null, "the redirect is not passed on");
      const body = await response.json();
      assert.equal(body.error.type, "security_error");
      assert.equal(body.error.code, "RedirectRefused");
      assert.match(body.error.message, new RegExp(`${status}`));
      assert.equal(router.calls(), 1, `${status}: the client did not retry`);
    }, { fetch: router.fetch, maxRetries: 2 });
  }
});
