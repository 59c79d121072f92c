/**
 * The local encrypting proxy over real HTTP: JSON, SSE, 404, body cap, abort, the openai SDK
 * and the loopback rule.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/client/secure_chat_completion.ts";
import { isLoopback, type RunningProxy, serveProxy } from "../../src/openai/proxy.ts";
import { MAX_PLAINTEXT_BYTES } from "../../src/protocol/headers.ts";
import type { TestRouter } from "../../src/testing/router.ts";
import { ask, assertSealed, withClient } from "./_setup.ts";

const withProxy = (
  body: (proxy: RunningProxy, router: TestRouter, client: SecureChatCompletion) => Promise<void>,
  wrap: (client: SecureChatCompletion) => (r: Request) => Promise<Response> = (c) => c.fetch,
) =>
  withClient(async (client, router) => {
    const proxy = await serveProxy({ handler: wrap(client) });
    try {
      await body(proxy, router, client);
    } finally {
      await proxy.close();
    }
  });

const post = (proxy: RunningProxy, body: unknown, init: RequestInit = {}) =>
  fetch(`${proxy.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });

Deno.test("serveProxy() listens on 127.0.0.1 and serves a completion as JSON", async () => {
  await withProxy(async (proxy, router) => {
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await post(proxy, ask("proxy-secret-1"));
    assert.equal(response.status, 200);
    const answer = await response.json();
    assert.equal(answer.choices[0].message.content, "Echo: proxy-secret-1");
    assert.equal(answer._metadata.is_encrypted, true);
    assertSealed(router, 1, "proxy-secret-1");
  });
});

Deno.test("serveProxy() streams SSE over HTTP", async () => {
  await withProxy(async (proxy) => {
    const response = await post(proxy, { ...ask("streamed over http"), stream: true });
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = (await response.text()).split("\n\n").filter((e) => e !== "");
    assert.equal(events.at(-1), "data: [DONE]");
    const text = events.slice(0, -1)
      .map((e) => JSON.parse(e.slice("data: ".length)).choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "Echo: streamed over http");
  });
});

Deno.test("serveProxy() serves the openai SDK, JSON and stream", async () => {
  await withProxy(async (proxy, router) => {
    const openai = new OpenAI({ baseURL: proxy.url, apiKey: "unused", maxRetries: 0 });
    const answer = await openai.chat.completions.create(ask("via proxy"));
    assert.equal(answer.choices[0]?.message.content, "Echo: via proxy");
    const stream = await openai.chat.completions.create({ ...ask("via proxy 2"), stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, "Echo: via proxy 2");
    router.inject({ status: 429, retryAfter: "2" });
    await assert.rejects(openai.chat.completions.create(ask("x")), OpenAI.RateLimitError);
  });
});

Deno.test("serveProxy() answers 404 in OpenAI's shape for other endpoints", async () => {
  await withProxy(async (proxy, router) => {
    const cases: Array<[string, string]> = [
      ["GET", "/v1/models"],
      ["POST", "/v1/embeddings"],
      ["GET", "/"],
    ];
    for (const [method, path] of cases) {
      const response = await fetch(`http://127.0.0.1:${proxy.port}${path}`, {
        method,
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal((await response.json()).error.type, "not_found_error");
    }
    assert.equal(router.requests.length, 0);
  });
});

Deno.test("serveProxy() caps request bodies at 10 MiB", async () => {
  await withProxy(async (proxy, router) => {
    const big = JSON.stringify(ask("x".repeat(MAX_PLAINTEXT_BYTES)));
    const response = await fetch(`${proxy.url}/chat/completions`, { method: "POST", body: big })
      .catch((e) => e);
    // The proxy answers 413 and closes; a client still sending may see the reset instead.
    if (response instanceof Response) {
      assert.equal(response.status, 413);
      await response.body?.cancel();
    } else assert.ok(response instanceof TypeError);
    assert.equal(router.requests.length, 0);
    // Still serving.
    assert.equal((await post(proxy, ask("after"))).status, 200);
  });
});

Deno.test("serveProxy() aborts the request when the caller goes away", async () => {
  const signals: AbortSignal[] = [];
  await withProxy(async (proxy, router) => {
    router.inject({ delayMs: 10_000 });
    const controller = new AbortController();
    const pending = post(proxy, ask("a"), { signal: controller.signal });
    while (signals.length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
    while (!signals[0]!.aborted) await new Promise((r) => setTimeout(r, 10));
    assert.equal(signals[0]!.aborted, true);
    const next = await post(proxy, ask("next"));
    assert.equal(next.status, 200, `still serving: ${await next.text()}`);
  }, (client) => (request) => {
    signals.push(request.signal);
    return client.fetch(request);
  });
});

Deno.test("serveProxy() answers 502 when the router cannot be reached", async () => {
  await withProxy(async (proxy, router) => {
    await router.close();
    const response = await post(proxy, ask("a"));
    assert.equal(response.status, 502);
    const body = await response.json();
    assert.equal(body.error.type, "server_error");
    assert.equal(body.error.code, "APIConnectionError");
  });
});

Deno.test("serveProxy() refuses a non-loopback address unless allowed", async () => {
  const handler = () => Promise.resolve(new Response());
  await assert.rejects(serveProxy({ handler, hostname: "0.0.0.0" }), TypeError);
  await assert.rejects(serveProxy({ handler, port: 70000 }), TypeError);
  assert.equal(isLoopback("127.0.0.1"), true);
  assert.equal(isLoopback("127.1.2.3"), true);
  assert.equal(isLoopback("::1"), true);
  assert.equal(isLoopback("localhost"), true);
  assert.equal(isLoopback("0.0.0.0"), false);
  assert.equal(isLoopback("192.168.1.2"), false);
  assert.equal(isLoopback("127.0.0.1.evil.example"), false);
});

Deno.test("serveProxy() survives a malformed request line", async () => {
  await withProxy(async (proxy) => {
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port: proxy.port,
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-length": "100" },
      });
      req.on("error", () => resolve());
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve());
      });
      req.write("{");
      req.destroy(); // cut off mid-body
      resolve();
    });
    assert.equal((await post(proxy, ask("after"))).status, 200);
  });
});
