/**
 * The local encrypting proxy over real HTTP: JSON, SSE, 404, body cap, abort, the openai SDK
 * and the loopback rule.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { isLoopback, type RunningProxy, serveProxy } from "../../src/proxy/proxy.ts";
import { MAX_PLAINTEXT_BYTES } from "../../src/protocol/headers.ts";
import type { TestRouter } from "../../src/testing/router.ts";
import { ask, assertSealed, withClient } from "./_setup.ts";

const withProxy = (
  body: (proxy: RunningProxy, router: TestRouter, client: SecureChatCompletion) => Promise<void>,
) =>
  withClient(async (client, router) => {
    const proxy = await serveProxy({ handler: client.fetch });
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

Deno.test("serveProxy() cancels the sealed request when the caller goes away", async () => {
  const signals: AbortSignal[] = [];
  const lines: string[] = [];
  await withClient(
    async (client, router) => {
      const proxy = await serveProxy({
        handler: (request) => {
          signals.push(request.signal);
          return client.fetch(request);
        },
      });
      try {
        router.inject({ delayMs: 10_000 });
        const controller = new AbortController();
        const pending = post(proxy, ask("a"), { signal: controller.signal });
        // Abort once the sealed request is at the router, held by the delay.
        while (!router.requests.some((r) => r.method === "POST")) {
          await new Promise((r) => setTimeout(r, 10));
        }
        controller.abort();
        await assert.rejects(pending, { name: "AbortError" });
        while (!signals[0]!.aborted) await new Promise((r) => setTimeout(r, 10));
        // The client cut its connection to the router, so the router's wait ended early.
        while (!lines.some((l) => /caller left/.test(l))) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const next = await post(proxy, ask("next"));
        assert.equal(next.status, 200, `still serving: ${await next.text()}`);
      } finally {
        await proxy.close();
      }
    },
    {},
    { log: (line) => lines.push(line) },
  );
});

Deno.test("serveProxy() answers 502 when the router cannot be reached, not to be retried", async () => {
  await withProxy(async (proxy, router) => {
    await router.close();
    const response = await post(proxy, ask("a"));
    assert.equal(response.status, 502);
    // The client's own retries have run: openai-node behind the proxy must not add more.
    assert.equal(response.headers.get("x-should-retry"), "false");
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

/** A raw HTTP request with chosen headers (fetch will not forge Host). */
const raw = (
  port: number,
  method: string,
  headers: Record<string, string>,
  body = "",
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method, path: "/v1/chat/completions", headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on(
          "end",
          () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });

Deno.test("serveProxy() refuses a forged Host (DNS rebinding) and unknown web origins", async () => {
  await withProxy(async (proxy, router) => {
    const json = { "content-type": "application/json" };
    const body = JSON.stringify(ask("a"));
    const rebound = await raw(proxy.port, "POST", { ...json, host: "evil.example:8080" }, body);
    assert.equal(rebound.status, 403);
    assert.equal(JSON.parse(rebound.body).error.code, "host_refused");
    const page = await raw(proxy.port, "POST", { ...json, origin: "https://evil.example" }, body);
    assert.equal(page.status, 403);
    assert.equal(JSON.parse(page.body).error.code, "origin_refused");
    const preflight = await raw(proxy.port, "OPTIONS", { origin: "https://evil.example" });
    assert.equal(preflight.status, 403);
    for (const host of [`127.0.0.1:${proxy.port}`, `localhost:${proxy.port}`, "[::1]"]) {
      const ok = await raw(proxy.port, "POST", { ...json, host }, body);
      assert.equal(ok.status, 200, host);
    }
    assert.equal(router.requests.filter((r) => r.method === "POST").length, 3);
  });
});

Deno.test("serveProxy() serves allowedOrigins with CORS headers and preflights", async () => {
  await withClient(async (client) => {
    const proxy = await serveProxy({
      handler: client.fetch,
      allowedOrigins: ["http://localhost:3000"],
    });
    try {
      const origin = "http://localhost:3000";
      const preflight = await raw(proxy.port, "OPTIONS", {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers["access-control-allow-origin"], origin);
      const answer = await raw(proxy.port, "POST", {
        origin,
        "content-type": "application/json",
      }, JSON.stringify(ask("from a page")));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers["access-control-allow-origin"], origin);
      assert.equal(JSON.parse(answer.body).choices[0].message.content, "Echo: from a page");
    } finally {
      await proxy.close();
    }
  });
});
